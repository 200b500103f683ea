/** Run history housekeeping (job_runs). */
import type { AppDeps } from '../../deps.js';

/**
 * Deletes finished job runs older than `before` (in batches), so run history does not grow without
 * bound: a job firing every few seconds records tens of thousands of runs a day. Returns the count.
 */
export async function pruneJobRuns(deps: Pick<AppDeps, 'prisma'>, before: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await deps.prisma.$executeRaw`
      DELETE FROM job_runs WHERE id IN (
        SELECT id FROM job_runs WHERE status <> 'running' AND started_at < ${before} LIMIT 10000)`;
    deleted += n;
    if (n < 10_000) return deleted;
  }
}

