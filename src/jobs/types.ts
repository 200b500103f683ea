/**
 * Task types: the fixed list of things a scheduled job may do. A job names a task type and carries
 * parameters validated by that type's zod schema; there is no way to submit code (SPEC §6.1 — the
 * upstream's custom-code jobs were a remote-code-execution hole).
 *
 * Each task type lives in its own file under src/jobs/ and is listed in src/jobs/index.ts. Its
 * `run` calls a service (never a resolver) and reports what it started through `ctx.link()`.
 */
import type { ZodType, ZodTypeDef } from 'zod';
import type { AppDeps } from '../deps.js';
import type { AuthUser } from '../auth/permissions.js';

export type RunTrigger = 'scheduled' | 'manual';

export interface TaskContext {
  deps: AppDeps;
  jobId: string;
  runId: number;
  /** `scheduled`: a fire of the job's schedule; `manual`: run-now. */
  trigger: RunTrigger;
  /** Who asked for a run-now; null for scheduled fires (system). */
  actor: AuthUser | null;
  /** Records the sync session / classification batch the run started, at once (run history and run-now show it while it runs). */
  link(links: { sessionId?: string; batchId?: string }): Promise<void>;
  /** Aborted when the gateway stops and the run overran the stop timeout. */
  signal: AbortSignal;
}

export interface TaskOutcome {
  /** Human-readable summary, e.g. "清理完成: 120 条日志". */
  message: string;
  /** Structured details, stored in job_runs.result. */
  details?: Record<string, unknown>;
  /** The work finished but did not succeed (e.g. a sync session with failed instances). */
  failed?: boolean;
}

export interface TaskType<P = Record<string, unknown>> {
  /** The task_type value of the API. */
  name: string;
  /** Display name (Chinese, like the rest of the UI). */
  label: string;
  description: string;
  /** Parameters, snake_case keys; unknown keys are rejected. */
  params: ZodType<P, ZodTypeDef, unknown>;
  /** Parameter documentation for clients (GET task-types). */
  paramDocs: Record<string, string>;
  /** Whether the job's `db_type` applies (it is then the same as params.db_type). */
  usesDbType: boolean;
  run(ctx: TaskContext, params: P): Promise<TaskOutcome>;
}

/** Identity helper that keeps the parameter type of a task definition. */
export function defineTaskType<P>(t: TaskType<P>): TaskType<P> {
  return t;
}
