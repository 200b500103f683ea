/**
 * cleanup_logs: delete unified log entries older than `days` (default 30, SPEC §3.10 LOG_RETENTION_DAYS)
 * through the log service, the same code path as POST /unified-logs/api/cleanup, and finished job runs
 * older than that (the scheduler's own history).
 */
import { z } from 'zod';
import { cleanupLogs, DEFAULT_LOG_RETENTION_DAYS } from '../services/logs/log-service.js';
import { pruneJobRuns } from '../services/scheduler/run-history.js';
import { defineTaskType } from './types.js';

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

export const cleanupLogsTask = defineTaskType<CleanupLogsParams>({
  name: 'cleanup_logs',
  label: '清理旧日志',
  description: '删除早于 days 天的统一日志和任务运行记录 (默认 30 天)',
  params: cleanupLogsParams,
  paramDocs: { days: `保留天数，整数 ≥ 1，默认 ${DEFAULT_LOG_RETENTION_DAYS}` },
  usesDbType: false,
  async run(ctx, params) {
    const { deletedCount, cutoff } = await cleanupLogs(ctx.deps, params.days, ctx.actor);
    const runs = await pruneJobRuns(ctx.deps, cutoff);
    return {
      message: `清理完成：${deletedCount} 条日志，${runs} 条任务运行记录 (早于 ${params.days} 天)`,
      details: { days: params.days, deleted_count: deletedCount, deleted_job_runs: runs, cutoff: cutoff.toISOString() },
    };
  },
});
