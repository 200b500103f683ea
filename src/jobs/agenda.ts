/**
 * Agenda with its persistence backend chosen by configuration:
 * - MONGODB_URL set: @agendajs/mongo-backend (collection `agendaJobs`), the production design;
 * - otherwise @agendajs/postgres-backend on the platform's own PostgreSQL (table `agenda_jobs`),
 *   including the embedded PGlite. Agenda polls every processEvery and fires on time anyway: each scan
 *   locks the jobs due before the next scan and sets a timer for each.
 *
 * Once-only across replicas is Agenda's lock: a fire is taken by UPDATE … FOR UPDATE SKIP LOCKED
 * (PostgreSQL) or findOneAndUpdate (MongoDB); a lock not renewed within its lifetime is taken over.
 */
import { createRequire } from 'node:module';
import { Agenda, Job, type JobParameters } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { PostgresBackend } from '@agendajs/postgres-backend';
import { MongoClient } from 'mongodb';
import type pg from 'pg';
import { foldFireState, type FireStateFold } from './agenda-fire-state.js';

export type BackendKind = 'postgres' | 'mongo';

// Agenda makes a new `debug` logger on every dispatch (log.extend(…)), and `debug` asks the OS whether
// stderr is a terminal each time unless DEBUG_COLORS decided it: decide once (a burst of 1,000 fires
// spent a fifth of its CPU in isatty()).
{
  const require = createRequire(createRequire(import.meta.url).resolve('agenda'));
  const debug = require('debug') as { inspectOpts?: Record<string, unknown> };
  if (debug.inspectOpts && !('colors' in debug.inspectOpts)) debug.inspectOpts.colors = process.stderr.isTTY === true;
}

// Every fire of a repeating job computes its next run from its cron expression (cron-parser over
// luxon: about a millisecond of CPU each, a fifth of a 1,000-job burst). For a cron (whole-second
// fire times) the next run after a moment depends only on its second, so jobs sharing an expression
// and time zone that fire in the same second share one computation. Numeric and human intervals
// (millisecond arithmetic) and jobs with start/end dates or skipped days are computed as before.
{
  type Attrs = JobParameters & { startDate?: unknown; endDate?: unknown; skipDays?: unknown };
  const proto = Job.prototype as unknown as { computeNextRunAt(this: { attrs: Attrs }): unknown };
  const compute = proto.computeNextRunAt;
  const memo = new Map<string, number>();
  proto.computeNextRunAt = function (this: { attrs: Attrs }) {
    const a = this.attrs;
    const cron = typeof a.repeatInterval === 'string' && /^\s*\S+(\s+\S+){4,5}\s*$/.test(a.repeatInterval);
    if (!cron || !a.lastRunAt || a.startDate || a.endDate || a.skipDays) return compute.call(this);
    const key = `${a.repeatInterval}|${a.repeatTimezone ?? ''}|${Math.floor(new Date(a.lastRunAt).getTime() / 1000)}`;
    const hit = memo.get(key);
    if (hit !== undefined) {
      a.nextRunAt = new Date(hit);
      return this;
    }
    const out = compute.call(this);
    if (a.nextRunAt instanceof Date) {
      if (memo.size >= 10_000) memo.clear();
      memo.set(key, a.nextRunAt.getTime());
    }
    return out;
  };
}

export interface AgendaStoreOptions {
  /** Identifies this process in the job store (last_modified_by) and in run history. */
  name: string;
  processEveryMs: number;
  /** Jobs running at once in this process. */
  concurrency: number;
  lockLifetimeMs: number;
  /** The scheduler's pool on the platform database: the job store when there is no MongoDB. */
  pool: pg.Pool;
  /** Embedded PGlite (only changes the description: Agenda polls on every PostgreSQL). */
  embedded: boolean;
  mongodbUrl?: string;
  /** Called with the fire time of every job this process locks (before Agenda advances nextRunAt). */
  onLocked?: (jobId: string, nextRunAt: Date | null | undefined) => void;
  /** Errors of the store's notification channel (it reconnects on its own). */
  onStoreError?: (err: Error) => void;
}

export interface AgendaStore {
  agenda: Agenda;
  kind: BackendKind;
  /** For logs and health: which store, without credentials. */
  description: string;
  /** Whether `id` has the shape of this backend's job ids (uuid / ObjectId). */
  isJobId(id: string): boolean;
  /** Closes the store connection. Call after agenda.stop(false). */
  close(): Promise<void>;
  /** Drops the LISTEN connection without ceremony (crash simulation). */
  dropNotifications(): Promise<void>;
  /**
   * Locks nothing more: a lock query still in flight when Agenda stops (its queue filling does not
   * check for a stop after the query) has its job unlocked at once instead of holding it for the
   * whole lock lifetime. Resolves when no lock query is in flight any more. Call before agenda.stop().
   */
  stopLocking(): Promise<void>;
  /**
   * Unlocks jobs the store says this process locked more than `graceMs` ago but Agenda no longer
   * holds: a lock whose answer was lost, or a finished job whose final save failed, while the database
   * was unreachable. Without this they stay locked for the whole lock lifetime (no fires meanwhile).
   * Returns the ids released. PostgreSQL store only (MongoDB relies on the lock lifetime).
   */
  releaseLostLocks(graceMs: number): Promise<string[]>;
  /** PostgreSQL store: Agenda's saves of a fire's state, for the scheduler's own run statements. */
  fireState?: FireStateFold;
  /**
   * Jobs Agenda is running in this process, from the start of a fire until its final state is saved
   * (also after agenda.stop(), which forgets its processor but not the jobs still running).
   */
  running(): number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OBJECT_ID = /^[0-9a-f]{24}$/i;

function mongoDescription(url: string): string {
  try {
    const u = new URL(url);
    return `MongoDB ${u.host}${u.pathname || ''} (collection agendaJobs)`;
  } catch {
    return 'MongoDB (collection agendaJobs)';
  }
}

/** How long the store may take to answer at start before the gateway refuses to start. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects to the job store (and fails with a clear message when it cannot: Agenda's own connect has no
 * error path), then builds Agenda on it. Job processing starts only with agenda.start().
 */
export async function createAgendaStore(opts: AgendaStoreOptions): Promise<AgendaStore> {
  let kind: BackendKind;
  let backend: PostgresBackend | MongoBackend;
  let description: string;
  let closeConnection: () => Promise<void>;
  if (opts.mongodbUrl) {
    kind = 'mongo';
    description = mongoDescription(opts.mongodbUrl);
    const client = new MongoClient(opts.mongodbUrl, { serverSelectionTimeoutMS: CONNECT_TIMEOUT_MS });
    try {
      await client.connect();
      await client.db().command({ ping: 1 });
    } catch (err) {
      await client.close().catch(() => {});
      throw new Error(`scheduler: cannot reach the job store (${description}): ${(err as Error).message}`);
    }
    backend = new MongoBackend({ mongo: client.db(), collection: 'agendaJobs' });
    closeConnection = () => client.close();
  } else {
    kind = 'postgres';
    description = opts.embedded ? 'embedded PostgreSQL (table agenda_jobs)' : 'PostgreSQL (table agenda_jobs)';
    const pool = opts.pool;
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      throw new Error(`scheduler: cannot reach the job store (${description}): ${(err as Error).message}`);
    }
    // Polling only, no LISTEN/NOTIFY: every scan locks the jobs due before the next one and times them
    // exactly, so notifications would only start a just-created job up to processEvery sooner, while
    // costing three NOTIFYs per run (and on PGlite they cannot cross connections at all).
    backend = new PostgresBackend({ pool, tableName: 'agenda_jobs', disableNotifications: true });
    // The pool belongs to the scheduler (it also runs the run bookkeeping on it).
    closeConnection = async () => {};
  }
  // The LISTEN channel reconnects by itself after a lost connection, but re-emits the error: an
  // EventEmitter 'error' without a listener would crash the process (e.g. on a PostgreSQL restart).
  const channel = backend.notificationChannel as unknown as { on?(event: 'error', fn: (err: Error) => void): void } | undefined;
  channel?.on?.('error', (err) => opts.onStoreError?.(err));

  // Agenda 6 locks every due job of a scan one query at a time and only then starts dispatching, so
  // in a burst the jobs locked after their fire time waited for the whole lock phase. Start those at
  // once: one extra pass of Agenda's own (re-entrant) dispatcher at a time, however many get locked.
  // The lock is also where the fire time a job was due at is still known (run() recomputes nextRunAt
  // before the handler sees the job), so it is reported here.
  let agendaRef: Agenda | undefined;
  type Processor = {
    jobProcessing(): unknown;
    jobQueueFilling(name: string): Promise<void>;
    isJobQueueFilling: Map<string, boolean>;
    lockedJobs: unknown[];
    runningJobs: unknown[];
    jobQueue: { length: number };
    isRunning: boolean;
  };
  let lastProcessor: Processor | undefined;
  const processor = () => {
    const p = (agendaRef as unknown as { jobProcessor?: Processor } | undefined)?.jobProcessor;
    if (p) lastProcessor = p;
    return p;
  };
  let kickPending = false;
  const kick = () => {
    if (kickPending) return;
    kickPending = true;
    // After Agenda has queued the job (the rest of jobQueueFilling's turn), not before.
    setImmediate(() => {
      kickPending = false;
      processor()?.jobProcessing();
    });
  };
  const repo = backend.repository;
  const fireState = kind === 'postgres' ? foldFireState(repo as never, 'agenda_jobs') : undefined;
  const getNextJobToRun = repo.getNextJobToRun.bind(repo);
  // Agenda locks one job per round trip and asks again until none is left, so a burst of 1,000 due
  // jobs meant 1,000 sequential lock queries before the last could start. On PostgreSQL one query locks
  // up to LOCK_BATCH due jobs and the next calls are answered from them (Agenda keeps asking in the
  // same pass, so the batch drains at once). Small batches keep a burst shared between replicas.
  // A replica holds at most HELD_PER_SLOT × concurrency locked jobs and takes more as it finishes
  // some (below), so a burst is shared by every replica instead of going to the first one to scan.
  const maxHeld = HELD_PER_SLOT * opts.concurrency;
  const held = () => processor()?.lockedJobs?.length ?? 0;
  const lockBatch = kind === 'postgres' ? batchLocker(opts.pool, 'agenda_jobs', repo as unknown as RowMapper, () => maxHeld - held()) : undefined;
  let locking = true;
  const lockQueries = new Set<Promise<unknown>>();
  const lockNext = async (...args: Parameters<typeof getNextJobToRun>) => {
    const job = lockBatch ? await lockBatch.next(...args) : await getNextJobToRun(...args);
    if (!locking) {
      if (job?._id) await repo.unlockJobs([job._id]).catch(() => {});
      return undefined;
    }
    if (job?._id) {
      fireState?.locked(String(job._id));
      opts.onLocked?.(String(job._id), job.nextRunAt);
      if (job.nextRunAt && job.nextRunAt.getTime() <= Date.now()) kick();
    }
    return job;
  };
  repo.getNextJobToRun = (...args: Parameters<typeof getNextJobToRun>) => {
    if (!locking) return Promise.resolve(undefined);
    const query = lockNext(...args);
    lockQueries.add(query);
    void query.finally(() => lockQueries.delete(query)).catch(() => {});
    return query;
  };

  // Agenda's constructor calls backend.connect() without handling a failure (an unhandled rejection
  // would end the process): turn it into a start-up error instead.
  let connectFailed!: (err: Error) => void;
  const connectFailure = new Promise<never>((_, reject) => (connectFailed = reject));
  connectFailure.catch(() => {});
  const connect = backend.connect.bind(backend);
  backend.connect = async () => {
    try {
      await connect();
    } catch (err) {
      connectFailed(err as Error);
      await new Promise<never>(() => {}); // never 'ready'
    }
  };

  const agenda = new Agenda({
    backend,
    name: opts.name,
    processEvery: opts.processEveryMs,
    maxConcurrency: opts.concurrency,
    defaultConcurrency: opts.concurrency,
    defaultLockLifetime: opts.lockLifetimeMs,
    // No lock limit of Agenda's: on PostgreSQL the batch locker bounds what a replica holds (so that a
    // batch is never cut by Agenda's limit and half released).
    defaultLockLimit: 0,
    lockLimit: 0,
  });
  agendaRef = agenda;
  if (lockBatch) {
    // Refill: when this replica's queue of locked jobs runs low, lock more now instead of at the next
    // scan (up to processEvery later), as long as jobs are still due.
    let refillPending = false;
    agenda.on('complete', (job: { attrs: { name: string } }) => {
      if (refillPending) return;
      refillPending = true;
      setImmediate(() => {
        refillPending = false;
        const p = processor();
        const name = job.attrs.name;
        if (!p?.isRunning || p.isJobQueueFilling.has(name) || !lockBatch.hadMore(name)) return;
        if (p.jobQueue.length < LOCK_BATCH && held() < maxHeld) void p.jobQueueFilling(name);
      });
    });
  }

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scheduler: the job store (${description}) did not become ready`)), 3 * CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([agenda.ready, connectFailure, timedOut]);
  } catch (err) {
    await closeConnection().catch(() => {});
    throw new Error(`scheduler: the job store (${description}) could not be prepared: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  let closed = false;
  return {
    agenda,
    kind,
    description,
    isJobId: (id) => (kind === 'postgres' ? UUID.test(id) : OBJECT_ID.test(id)),
    fireState,
    running: () => (processor() ?? lastProcessor)?.runningJobs.length ?? 0,
    close: async () => {
      if (closed) return;
      closed = true;
      await lockBatch?.release().catch(() => {});
      await closeConnection().catch(() => {});
    },
    dropNotifications: async () => {
      await backend.notificationChannel?.disconnect().catch(() => {});
    },
    releaseLostLocks: async (graceMs) => {
      type Held = { attrs: { _id?: unknown } };
      const held = () => processor() as unknown as { lockedJobs?: Held[]; runningJobs?: Held[] } | undefined;
      if (kind !== 'postgres' || !locking || !held() || lockQueries.size) return [];
      const { rows } = await opts.pool.query<{ id: string }>(
        `SELECT id::text AS id FROM agenda_jobs WHERE last_modified_by = $1 AND locked_at IS NOT NULL AND locked_at < now() - $2 * interval '1 millisecond'`,
        [opts.name, graceMs],
      );
      // Read what Agenda holds only now, and give up if a lock is being taken meanwhile.
      const p = held();
      if (!rows.length || !p || lockQueries.size) return [];
      const known = new Set([...(p.lockedJobs ?? []), ...(p.runningJobs ?? [])].map((j) => String(j.attrs._id)));
      const lost = rows.map((r) => r.id).filter((id) => !known.has(id));
      if (lost.length) {
        await opts.pool.query(
          `UPDATE agenda_jobs SET locked_at = NULL WHERE id = ANY($1::uuid[]) AND last_modified_by = $2 AND locked_at < now() - $3 * interval '1 millisecond'`,
          [lost, opts.name, graceMs],
        );
      }
      return lost;
    },
    stopLocking: async () => {
      processor(); // remembered for running() once Agenda has stopped
      locking = false;
      // Each in-flight query unlocks what it got (lockNext) before its promise settles.
      await Promise.allSettled([...lockQueries]);
      // Jobs a batch locked but never handed to Agenda are unlocked too.
      await lockBatch?.release().catch(() => {});
    },
  };
}

/** Number of due jobs one lock query takes (PostgreSQL job store). */
export const LOCK_BATCH = 25;
/** Locked jobs a replica may hold per concurrency slot (running or waiting for a slot). */
const HELD_PER_SLOT = 4;

interface RowMapper {
  rowToJob(row: Record<string, unknown>): JobParameters;
}

type LockArgs = [jobName: string, nextScanAt: Date, lockDeadline: Date, now?: Date, options?: { lastModifiedBy?: string }];

/**
 * Agenda's own lock condition (due before the next scan and unlocked, or locked before the lock
 * deadline), for up to LOCK_BATCH jobs at once, SKIP LOCKED so replicas never take the same job.
 * Jobs are handed out in Agenda's order: next run first, then higher priority.
 */
function batchLocker(pool: pg.Pool, table: string, mapper: RowMapper, capacity: () => number) {
  const sql = `
UPDATE "${table}" SET locked_at = $1, last_modified_by = $5
 WHERE id IN (
   SELECT id FROM "${table}"
    WHERE name = $2 AND disabled = FALSE
      AND ((locked_at IS NULL AND next_run_at <= $3) OR locked_at <= $4)
    ORDER BY next_run_at ASC NULLS LAST, priority DESC
    LIMIT $6
    FOR UPDATE SKIP LOCKED)
RETURNING *`;
  const buffered = new Map<string, JobParameters[]>();
  /** Job names whose last lock query was cut short by the batch size or the capacity. */
  const more = new Set<string>();
  const byAgendaOrder = (a: JobParameters, b: JobParameters) =>
    (a.nextRunAt?.getTime() ?? Infinity) - (b.nextRunAt?.getTime() ?? Infinity) || (b.priority ?? 0) - (a.priority ?? 0);
  return {
    async next(...[jobName, nextScanAt, lockDeadline, now, options]: LockArgs): Promise<JobParameters | undefined> {
      const queue = buffered.get(jobName);
      if (queue?.length) return queue.shift();
      const limit = Math.min(LOCK_BATCH, capacity());
      if (limit <= 0) {
        more.add(jobName);
        return undefined;
      }
      const { rows } = await pool.query(sql, [now ?? new Date(), jobName, nextScanAt, lockDeadline, options?.lastModifiedBy ?? null, limit]);
      if (rows.length < limit) more.delete(jobName);
      else more.add(jobName);
      if (!rows.length) return undefined;
      const jobs = rows.map((r) => mapper.rowToJob(r)).sort(byAgendaOrder);
      const first = jobs.shift();
      if (jobs.length) buffered.set(jobName, jobs);
      return first;
    },
    /** Whether due jobs of this name may be left that this replica did not lock (capacity, batch size). */
    hadMore: (jobName: string) => more.has(jobName),
    /** Unlocks jobs locked but never handed to Agenda (only possible when it stops mid-pass). */
    async release(): Promise<void> {
      const ids = [...buffered.values()].flat().map((j) => String(j._id));
      buffered.clear();
      if (ids.length) await pool.query(`UPDATE "${table}" SET locked_at = NULL WHERE id = ANY($1::uuid[])`, [ids]);
    },
  };
}

export type { JobParameters };
