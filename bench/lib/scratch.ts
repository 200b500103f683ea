/** Scratch PostgreSQL databases for benchmarks (created per run, always dropped) and cleanup on exit. */
import { createScratchDatabase } from '../../src/db/scratch-database.js';

export const BENCH_PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export function createBenchDatabase(prefix = 'whalefall_bench'): Promise<{ url: string; drop: () => Promise<void> }> {
  return createScratchDatabase(BENCH_PG_ADMIN_URL, prefix);
}

/**
 * Cleanup steps run in reverse order of registration, once: from a finally block, or on Ctrl-C /
 * SIGTERM so an interrupted run still drops its scratch database.
 */
export class Cleanup {
  private readonly steps: Array<{ label: string; fn: () => Promise<void> | void }> = [];
  private done?: Promise<void>;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: cleaning up…\n`);
    void this.run().finally(() => process.exit(130));
  };

  constructor() {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  add(label: string, fn: () => Promise<void> | void): void {
    this.steps.push({ label, fn });
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
      for (const step of this.steps.reverse()) {
        try {
          await step.fn();
        } catch (err) {
          process.stderr.write(`cleanup (${step.label}) failed: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.done;
  }
}
