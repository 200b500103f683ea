/**
 * cleanup_logs: delete unified log entries older than `days` (default 30, SPEC §3.10 LOG_RETENTION_DAYS)
 * through the log service, the same code path as POST /unified-logs/api/cleanup.
 */
import { z } from 'zod';
import { defineTaskType } from './types.js';

export const DEFAULT_LOG_RETENTION_DAYS = 30;

export const cleanupLogsParams = z
  .object({
    days: z
      .number({ invalid_type_error: 'days 必须是整数' })
      .int('days 必须是整数')
      .min(1, 'days 至少为 1')
      .max(3650, 'days 最多为 3650')
      .default(DEFAULT_LOG_RETENTION_DAYS),
  })
  .strict();

export type CleanupLogsParams = z.infer<typeof cleanupLogsParams>;

/** The log service reports a count, or an object carrying it. */
function deletedCount(res: unknown): number | undefined {
  if (typeof res === 'number') return res;
  if (res && typeof res === 'object') {
    const r = res as Record<string, unknown>;
    const n = r.deletedCount ?? r.deleted_count ?? r.count;
    if (typeof n === 'number') return n;
  }
  return undefined;
}

export const cleanupLogsTask = defineTaskType<CleanupLogsParams>({
  name: 'cleanup_logs',
  label: '清理旧日志',
  description: '删除早于 days 天的统一日志 (默认 30 天)',
  params: cleanupLogsParams,
  paramDocs: { days: `保留天数，整数 ≥ 1，默认 ${DEFAULT_LOG_RETENTION_DAYS}` },
  usesDbType: false,
  async run(ctx, params) {
    const { cleanupLogs } = await import('../services/logs/log-service.js');
    const res = await cleanupLogs(ctx.deps, params.days, ctx.actor);
    const n = deletedCount(res);
    return {
      message: n === undefined ? `清理完成 (保留 ${params.days} 天)` : `清理完成：${n} 条日志 (早于 ${params.days} 天)`,
      details: { days: params.days, deleted_count: n ?? null },
    };
  },
});
