/**
 * The task type registry: the only task types a job may name. Adding one is one file in this folder
 * plus one entry in TASK_TYPES.
 */
import type { TaskType } from './types.js';
import { cleanupLogsTask } from './cleanup-logs.js';
import { syncAccountsTask } from './sync-accounts.js';
import { autoClassifyTask } from './auto-classify.js';

export type { TaskContext, TaskOutcome, TaskType } from './types.js';

export const TASK_TYPES: readonly TaskType<any>[] = [syncAccountsTask, cleanupLogsTask, autoClassifyTask];

export class TaskRegistry {
  private readonly types = new Map<string, TaskType<any>>();

  constructor(types: readonly TaskType<any>[] = TASK_TYPES) {
    for (const t of types) this.add(t);
  }

  /** Adds a task type defined in code (tests, benchmarks, later modules). Never reachable from the API. */
  add(t: TaskType<any>): void {
    if (!/^[a-z][a-z0-9_]{1,49}$/.test(t.name)) throw new Error(`invalid task type name: ${t.name}`);
    this.types.set(t.name, t);
  }

  get(name: string): TaskType<any> | undefined {
    return this.types.get(name);
  }

  names(): string[] {
    return [...this.types.keys()];
  }

  list(): TaskType<any>[] {
    return [...this.types.values()];
  }
}
