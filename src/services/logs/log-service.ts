/** Unified log maintenance. Retention cleanup deletes in bounded batches so a large purge never
 * holds one long transaction over the log table that every request writes to. */
import type { AppDeps } from '../../deps.js';
import type { AuthUser } from '../../auth/permissions.js';
import { ValidationError } from '../../lib/errors.js';

/** Default retention of the scheduled cleanup (SPEC §3.10 LOG_RETENTION_DAYS). */
export const DEFAULT_LOG_RETENTION_DAYS = 30;
const DELETE_BATCH = 10_000;

export async function cleanupLogs(deps: AppDeps, days: number, actor: AuthUser | null): Promise<{ deletedCount: number; cutoff: Date }> {
  if (!Number.isInteger(days) || days < 1) throw new ValidationError('days 必须是不小于 1 的整数', { errors: [{ field: 'days', message: 'days 必须是不小于 1 的整数' }] });
  const cutoff = new Date(Date.now() - days * 86_400_000);
  let deletedCount = 0;
  for (;;) {
    const n = await deps.prisma.$executeRaw`
      DELETE FROM unified_logs WHERE id IN (SELECT id FROM unified_logs WHERE "timestamp" < ${cutoff} LIMIT ${DELETE_BATCH})`;
    deletedCount += n;
    if (n < DELETE_BATCH) break;
  }
  deps.logger.info(
    { module: 'system', event: 'logs_cleaned', days, deleted_count: deletedCount, cutoff: cutoff.toISOString(), actor_id: actor?.id ?? null },
    `Successfully deleted ${deletedCount} log entries older than ${days} days`,
  );
  return { deletedCount, cutoff };
}
