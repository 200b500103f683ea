/**
 * Agenda saves the state of every fire twice, each a round trip while the fire holds a concurrency
 * slot: before the handler (saveJobState: lastRunAt and the next run it just computed) and after it
 * (unlocked, lastFinishedAt). The scheduler writes its own statement at the start and at the end of
 * every fire anyway (run record and lease), so on PostgreSQL Agenda's two saves are written by those
 * statements instead: half the round trips of a fire, and the start save becomes atomic with the run
 * record (a fire is either recorded with its next run advanced, or neither).
 *
 * The values are exactly the ones Agenda would have saved (taken from the job at the moment Agenda
 * asks to save it, or, for the finish, computed the way Agenda does after a successful handler). A
 * start save that nobody takes over (no handler ran, or it returned before recording the fire) goes
 * with Agenda's next save of the fire, which carries the whole state; a finish nobody wrote (the
 * handler failed, the statement failed) is saved by Agenda as before.
 */
import type { JobParameters } from 'agenda';

type Save = (job: JobParameters, options?: { lastModifiedBy?: string }) => Promise<void>;

interface Repo {
  saveJobState: Save;
  unlockJob(job: JobParameters): Promise<void>;
  unlockJobs(ids: unknown[]): Promise<void>;
}

export interface FireStateFold {
  /**
   * A data-modifying statement for a WITH clause: saves the job states yielded by the query `states`
   * (one jsonb column; null rows save nothing) as Agenda's saveJobState does, returning the ids of
   * the jobs that still exist.
   */
  saveSql(states: string): string;
  /** Agenda's start save of this fire (a state for saveSql), now the caller's to write (null: Agenda wrote it). */
  takeStart(agendaId: string): AgendaState | null;
  /** The state Agenda saves when the handler of this fire succeeds (unlocked, finished now). */
  finishState(job: JobParameters, lastModifiedBy: string): AgendaState;
  /** The caller wrote finishState(): Agenda's own finish save of this fire is skipped. */
  finished(agendaId: string): void;
  /** Called for every job this process locks (its next save is Agenda's start save). */
  locked(agendaId: string): void;
}

/** saveJobState's columns, from the job's attributes (snake_case keys for jsonb_populate_record). */
export type AgendaState = Record<string, unknown>;

function stateOf(a: JobParameters, lastModifiedBy: string | undefined): AgendaState {
  return {
    id: String(a._id),
    name: a.name,
    locked_at: a.lockedAt || null,
    next_run_at: a.nextRunAt || null,
    last_run_at: a.lastRunAt || null,
    progress: a.progress ?? null,
    fail_reason: a.failReason ?? null,
    fail_count: a.failCount ?? null,
    failed_at: a.failedAt || null,
    last_finished_at: a.lastFinishedAt || null,
    last_modified_by: lastModifiedBy || null,
  };
}

export function foldFireState(repo: Repo, table: string): FireStateFold {
  /** Locked by this process, start save not yet seen. */
  const fresh = new Set<string>();
  /** Start saves deferred to the caller's statement. */
  const deferred = new Map<string, AgendaState>();
  /** Fires whose finish the caller wrote. */
  const done = new Set<string>();

  const save = repo.saveJobState.bind(repo);
  repo.saveJobState = async (job, options) => {
    const id = String(job._id);
    if (fresh.delete(id) && job.lockedAt) {
      deferred.set(id, stateOf(job, options?.lastModifiedBy));
      return;
    }
    // Any later save (a touch, the finish) carries the whole state, the deferred start included.
    deferred.delete(id);
    if (!job.lockedAt && done.delete(id)) return;
    await save(job, options);
  };
  // A job unlocked without running never has its start save.
  const unlockJob = repo.unlockJob.bind(repo);
  repo.unlockJob = (job) => {
    fresh.delete(String(job._id));
    return unlockJob(job);
  };
  const unlockJobs = repo.unlockJobs.bind(repo);
  repo.unlockJobs = (ids) => {
    for (const id of ids) fresh.delete(String(id));
    return unlockJobs(ids);
  };

  return {
    saveSql: (states) => `
UPDATE "${table}" a
   SET locked_at = s.locked_at, next_run_at = s.next_run_at, last_run_at = s.last_run_at, progress = s.progress,
       fail_reason = s.fail_reason, fail_count = s.fail_count, failed_at = s.failed_at,
       last_finished_at = s.last_finished_at, last_modified_by = s.last_modified_by
  FROM (${states}) AS x(state) CROSS JOIN LATERAL jsonb_populate_record(NULL::"${table}", x.state) s
 WHERE a.id = s.id AND a.name = s.name
RETURNING a.id`,
    takeStart(agendaId) {
      const state = deferred.get(agendaId) ?? null;
      deferred.delete(agendaId);
      return state;
    },
    finishState(job, lastModifiedBy) {
      // Job.run() after a successful handler: finished now, a failure count reset, then unlocked.
      return stateOf({ ...job, lastFinishedAt: new Date(), failCount: job.failCount ? 0 : job.failCount, lockedAt: undefined }, lastModifiedBy);
    },
    finished: (agendaId) => void done.add(agendaId),
    locked: (agendaId) => void fresh.add(agendaId),
  };
}
