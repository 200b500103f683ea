/**
 * The scheduler (SPEC §2.17, §3.8, §4.6; issue 7). Job definitions live in `scheduled_jobs`; each
 * active definition has exactly one Agenda job (name = task type, data = { jobId }) that fires it.
 *
 * - Once-only: a fire is run by the one process that locked its Agenda job. A fire is also checked
 *   against the definition (still there, still active, still pointing at that Agenda job), so a stale
 *   or duplicate Agenda job can never run anything.
 * - No overlap: every run (fire or run-now) first takes the job's lease in `scheduled_jobs`
 *   (running_run_id + lease_expires_at, renewed while it runs together with Agenda's lock). A fire
 *   that finds the lease held is skipped; a run-now is refused with 409. A lease or lock not renewed
 *   (the process died) expires after SCHEDULER_LOCK_LIFETIME_MS and is taken over.
 * - Paused: no fires, run-now allowed. Disabled: no fires, no run-now. Neither has an Agenda job;
 *   resuming/enabling creates a new one whose first fire is computed from now (no replay).
 * - stop(): take no new jobs, wait up to SCHEDULER_STOP_TIMEOUT_MS for running ones, release locks.
 */
import { processNode } from '../../lib/process-node.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Job } from 'agenda';
import type { AppDeps } from '../../deps.js';
import type { AuthUser } from '../../auth/permissions.js';
import type { JobRun, Prisma, ScheduledJob } from '../../generated/prisma/client.js';
import { AppError, ConflictError, ResourceNotFoundError, ValidationError } from '../../lib/errors.js';
import { pageOf, windowOf, type Page } from '../../lib/pagination.js';
import { Limiter } from '../../lib/rate-limit.js';
import { createAgendaStore, type AgendaStore, type BackendKind } from '../../jobs/agenda.js';
import type { AgendaState } from '../../jobs/agenda-fire-state.js';
import { Batcher } from '../../lib/batcher.js';
import { TaskRegistry, type TaskType } from '../../jobs/index.js';
import type { RunTrigger, TaskContext, TaskOutcome } from '../../jobs/types.js';
import {
  DEFAULT_TIMEZONE,
  agendaRepeatInterval,
  formatSchedule,
  normalizeTimezone,
  parseScheduleText,
  triggerRepr,
  type Schedule,
} from './schedule.js';
import { likeLiteral } from '../../lib/like.js';
import { platformPoolConfig } from '../../db/database.js';

/** Scheduler not (yet / any more) able to take the request. */
export class SchedulerUnavailableError extends AppError {
  readonly type = 'ServiceUnavailableError';
  readonly status = 503;
  readonly code = 'SCHEDULER_UNAVAILABLE';
}

/** A run-now that finished as failed before the answer was sent (REST answers 400, SPEC §4.6). */
export class JobRunFailedError extends AppError {
  readonly type = 'JobExecutionError';
  readonly status = 400;
  readonly code = 'JOB_RUN_FAILED';
}

export type JobStatus = 'active' | 'paused' | 'disabled';

/** A job as the API shows it. */
export interface JobView {
  id: string;
  name: string;
  taskType: string;
  dbType: string | null;
  params: Record<string, unknown>;
  schedule: string;
  triggerType: 'cron' | 'interval';
  trigger: string;
  cronExpression: string | null;
  intervalSeconds: number | null;
  timezone: string;
  description: string | null;
  isBuiltin: boolean;
  isPaused: boolean;
  isEnabled: boolean;
  status: JobStatus;
  /** When Agenda will fire it next (null unless active). */
  nextRunTime: Date | null;
  /** Whether a run holds the job's lease right now. */
  running: boolean;
  lastRun: JobRun | null;
  createdBy: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface JobInput {
  id?: string;
  name: string;
  taskType: string;
  dbType?: string | null;
  params?: Record<string, unknown>;
  schedule: Schedule;
  timezone?: string | null;
  description?: string | null;
  enabled?: boolean;
  paused?: boolean;
}

export interface JobPatch {
  name?: string;
  taskType?: string;
  dbType?: string | null;
  params?: Record<string, unknown>;
  schedule?: Schedule;
  timezone?: string | null;
  description?: string | null;
}

export interface ListJobsQuery {
  page: number;
  perPage: number;
  first?: number;
  after?: number;
  sort: string;
  order: 'asc' | 'desc';
  search?: string;
  status?: JobStatus;
  taskType?: string;
}

export interface ListRunsQuery {
  page: number;
  perPage: number;
  first?: number;
  after?: number;
  order: 'asc' | 'desc';
  status?: JobRun['status'];
  trigger?: RunTrigger;
}

export interface TaskTypeInfo {
  name: string;
  label: string;
  description: string;
  params: Record<string, string>;
  usesDbType: boolean;
}

/** The default jobs of a new installation (SPEC §3.8), created once; editable and deletable. */
export const DEFAULT_JOBS = [
  {
    id: 'sync_accounts',
    name: '账户同步',
    taskType: 'sync_accounts',
    schedule: 'every 30 minutes',
    params: {},
    description: '每 30 分钟同步所有活跃实例的账户 (创建 scheduled_task 同步会话)',
  },
  {
    id: 'cleanup_logs',
    name: '清理旧日志',
    taskType: 'cleanup_logs',
    schedule: '0 0 2 * * *',
    params: { days: 30 },
    description: '每天 02:00 (UTC) 删除 30 天前的统一日志',
  },
] as const;

/** global_params key remembering that the defaults were created (so a deleted default stays deleted). */
export const DEFAULTS_SEEDED_KEY = 'scheduler.default_jobs_seeded';
/** pg_advisory_lock(namespace, 1) serialises start-up seeding/reconciliation between replicas. */
const STARTUP_LOCK_NS = 72_707_007;

const camelToSnake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

interface ActiveRun {
  jobId: string;
  agendaJob?: Job<{ jobId: string }>;
  abort: AbortController;
  heartbeat?: NodeJS.Timeout;
  /** The renewal in flight, awaited before the run hands the Agenda job back. */
  renewing?: Promise<void>;
  /** Set when the run ended: no renewal may touch the Agenda job after that. */
  ended: boolean;
  done: Promise<void>;
}

interface RunStart {
  jobId: string;
  task: TaskType;
  /** The job's stored parameters (validated again by the task type when it runs). */
  args: unknown;
  runId: number;
  trigger: RunTrigger;
  actor: AuthUser | null;
  scheduledFor: Date | null;
  agendaJob?: Job<{ jobId: string }>;
  linked: Promise<void>;
  markLinked: () => void;
}

/** What beginRun() found: `go` = the run is recorded and holds the lease. */
type Verdict = 'go' | 'busy' | 'missed' | 'stale' | 'inactive' | 'missing';

/** Writes the Agenda job states yielded by a query (see FireStateFold.saveSql), returning their ids. */
type AgendaSave = (states: string) => string;
/** MongoDB store: Agenda saves its state itself (the states are always null). */
const NO_AGENDA_SAVE: AgendaSave = (states) => `SELECT NULL::uuid AS id FROM (${states}) AS x(state) WHERE FALSE`;

/** One fire or run-now to begin (a row of beginRunsSql's input). */
interface BeginInput {
  job_id: string;
  /** null for run-now */
  agenda_job_id: string | null;
  trigger: RunTrigger;
  user_id: number | null;
  scheduled_for: Date | null;
  started_at: Date;
  /** Misfire message (null when on time). */
  missed: string | null;
  /** Agenda's start save of the fire (FireStateFold.takeStart), or null. */
  agenda: unknown;
}

interface BeginRow {
  verdict: Verdict;
  task_type: string;
  args: unknown;
  holder: number | null;
  run_id: number | null;
  previous: number | null;
}

/**
 * One statement begins every fire and run-now that arrived together (distinct jobs): checks each
 * definition (still pointing at this Agenda job, still active), takes the job's lease if it is free
 * or expired, and records the run (a skipped one for a fire that finds the lease held or comes too
 * late). On PostgreSQL it also writes Agenda's start save of each fire (its next run), whatever the
 * verdict; an Agenda job that no longer exists is stale (Agenda's own save would have failed the fire).
 * Definitions are locked in id order, so concurrent statements of other replicas cannot deadlock.
 * $1 inputs (jsonb array of BeginInput), $2 node, $3 lease ms. One row per input, by `n`.
 */
const beginRunsSql = (saveAgenda: AgendaSave) => `
WITH input AS (
  SELECT * FROM ROWS FROM (jsonb_to_recordset($1::jsonb)
         AS (job_id text, agenda_job_id text, "trigger" text, user_id int, scheduled_for timestamptz, started_at timestamptz, missed text, agenda jsonb))
       WITH ORDINALITY AS i(job_id, agenda_job_id, "trigger", user_id, scheduled_for, started_at, missed, agenda, n)
), agenda_saved AS (${saveAgenda('SELECT agenda FROM input')}
), job AS (
  SELECT id, task_type, args, is_enabled, is_paused, agenda_job_id, running_run_id, lease_expires_at
    FROM scheduled_jobs WHERE id IN (SELECT job_id FROM input) ORDER BY id FOR UPDATE
), verdict AS (
  SELECT i.n, i.job_id, i."trigger", i.user_id, i.scheduled_for, i.started_at, i.missed,
         job.task_type, job.args, job.running_run_id, CASE
      WHEN job.id IS NULL THEN 'missing'
      WHEN i.agenda_job_id IS NOT NULL AND job.agenda_job_id IS DISTINCT FROM i.agenda_job_id THEN 'stale'
      WHEN i.agenda IS NOT NULL AND NOT EXISTS (SELECT 1 FROM agenda_saved WHERE agenda_saved.id::text = i.agenda_job_id) THEN 'stale'
      WHEN NOT job.is_enabled OR (i."trigger" = 'scheduled' AND job.is_paused) THEN 'inactive'
      WHEN i.missed IS NOT NULL THEN 'missed'
      WHEN job.running_run_id IS NOT NULL AND job.lease_expires_at IS NOT NULL AND job.lease_expires_at >= now() THEN 'busy'
      ELSE 'go' END AS verdict
    FROM input i LEFT JOIN job ON job.id = i.job_id
), run AS (
  INSERT INTO job_runs (job_id, task_type, "trigger", triggered_by, status, scheduled_for, started_at, finished_at, duration_ms, error, params, node)
  SELECT job_id, task_type, "trigger"::"JobRunTrigger", user_id,
         (CASE verdict WHEN 'go' THEN 'running' ELSE 'skipped' END)::"JobRunStatus",
         scheduled_for, started_at,
         CASE WHEN verdict <> 'go' THEN now() END,
         CASE WHEN verdict <> 'go' THEN 0 END,
         CASE verdict WHEN 'busy' THEN '上一次运行 (#' || running_run_id || ') 尚未结束，跳过本次执行' WHEN 'missed' THEN missed END,
         args, $2::text
    FROM verdict
   WHERE verdict = 'go' OR ("trigger" = 'scheduled' AND verdict IN ('busy', 'missed'))
  RETURNING id, job_id
), lease AS (
  UPDATE scheduled_jobs s
     SET running_run_id = run.id, lease_expires_at = now() + $3::int * interval '1 millisecond'
    FROM run JOIN verdict v ON v.job_id = run.job_id
   WHERE s.id = v.job_id AND v.verdict = 'go'
  RETURNING s.id
), interrupted AS (
  -- Taking over an expired lease: the run that held it is marked interrupted in the same statement.
  UPDATE job_runs p
     SET status = 'interrupted', finished_at = now(), error = '运行它的进程已停止响应，锁过期后由其他进程接管'
    FROM verdict v
   WHERE v.verdict = 'go' AND p.id = v.running_run_id AND p.status = 'running'
  RETURNING p.id
)
SELECT v.n, v.verdict, v.task_type, v.args, v.running_run_id AS holder, run.id AS run_id, interrupted.id AS previous
  FROM verdict v LEFT JOIN run ON run.job_id = v.job_id LEFT JOIN interrupted ON interrupted.id = v.running_run_id
 ORDER BY v.n`;

/** One run to finish (a row of finishRunsSql's input). */
interface FinishInput {
  run_id: number;
  job_id: string;
  status: JobRun['status'];
  duration_ms: number | null;
  message: string | null;
  error: string | null;
  result: Record<string, unknown> | null;
  /** Agenda's finish save of the fire (FireStateFold.finishState), or null. */
  agenda: unknown;
}

/**
 * One statement finishes every run that ended together: final state of each run (only while still
 * `running`) and release of its job's lease; on PostgreSQL also Agenda's finish save of each fire
 * (unlocked, finished). $1 inputs (jsonb array of FinishInput).
 */
const finishRunsSql = (saveAgenda: AgendaSave) => `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS i(run_id int, job_id text, status text, duration_ms int, message text, error text, result jsonb, agenda jsonb)
), agenda_saved AS (${saveAgenda('SELECT agenda FROM input')}
), r AS (
  UPDATE job_runs j
     SET status = i.status::"JobRunStatus", finished_at = now(),
         duration_ms = COALESCE(i.duration_ms, (extract(epoch FROM now() - j.started_at) * 1000)::int),
         message = i.message, error = i.error, result = COALESCE(i.result, j.result)
    FROM input i
   WHERE j.id = i.run_id AND j.status = 'running'
  RETURNING j.id
)
UPDATE scheduled_jobs s SET running_run_id = NULL, lease_expires_at = NULL
  FROM input i WHERE s.id = i.job_id AND s.running_run_id = i.run_id`;

/** Connections of the scheduler's pool at most (also well inside what embedded PGlite serves). */
const SCHEDULER_POOL_MAX = 10;
/** Most run starts (or ends) one statement writes. */
const RUN_BATCH = 50;

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'abandoned';

export interface SchedulerOptions {
  /** The platform database (the PostgreSQL job store when there is no MongoDB). */
  databaseUrl: string;
  embedded: boolean;
  registry?: TaskRegistry;
}

export class Scheduler {
  /** This process in run history and in the job store. */
  readonly node = processNode();
  readonly registry: TaskRegistry;
  /** Run-now budget per user (SPEC §3.3 task execution limit). */
  readonly runLimiter: Limiter;
  private store?: AgendaStore;
  /**
   * The scheduler's own connections to the platform database: run bookkeeping on the hot path of
   * every fire and, without MongoDB, Agenda's job store, so a burst of fires never queues behind API
   * queries (or they behind it). Not one connection per running job: run starts and ends are batched
   * (one statement in flight each), the rest is lock queries, lock renewals and the lost-lock sweep.
   */
  private pool?: pg.Pool;
  private state: State = 'idle';
  private stopping?: Promise<void>;
  private readonly active = new Map<number, ActiveRun>();
  /** Run starts and ends, each a statement shared by all that arrive together (set up at start). */
  private begins?: Batcher<BeginInput, BeginRow | undefined>;
  private finishes?: Batcher<FinishInput, void>;
  private readonly fireTimes = new Map<string, Date | null | undefined>();
  private readonly scheduleCache = new Map<string, Schedule>();
  private readonly defined = new Set<string>();

  constructor(
    private readonly deps: AppDeps,
    private readonly opts: SchedulerOptions,
  ) {
    this.registry = opts.registry ?? new TaskRegistry();
    const cfg = deps.config.scheduler;
    this.runLimiter = new Limiter(
      { keyPrefix: `${deps.config.redisKeyPrefix}rl:jobrun`, points: cfg.runLimitPerUser, durationSeconds: cfg.runLimitWindowSeconds },
      deps.redis,
    );
  }

  private get cfg() {
    return this.deps.config.scheduler;
  }

  private logger?: AppDeps['logger'];

  private get log() {
    return (this.logger ??= this.deps.logger.child({ module: 'scheduler' }));
  }

  /** Which job store Agenda runs on (after start). */
  get backend(): BackendKind | undefined {
    return this.store?.kind;
  }

  get isProcessing(): boolean {
    return this.state === 'running' && this.cfg.enabled;
  }

  private get sql(): pg.Pool {
    if (!this.pool) throw new SchedulerUnavailableError('调度器未启动');
    return this.pool;
  }

  private get agenda() {
    if (!this.store) throw new SchedulerUnavailableError('调度器未启动');
    return this.store.agenda;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Connects the job store, creates the default jobs once, reconciles Agenda with the definitions, starts processing. */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'starting';
    try {
      const pool = new pg.Pool(
        platformPoolConfig(
          this.deps.config,
          this.opts.databaseUrl,
          Math.min(this.cfg.concurrency + 4, SCHEDULER_POOL_MAX),
        ),
      );
      pool.on('error', () => {}); // a dropped idle connection must not crash the process
      this.pool = pool;
      // One replica at a time: Agenda creates its table, indexes and trigger on connect, and two
      // processes doing that at once fail ("tuple concurrently updated"); then defaults and reconcile.
      const store = await this.withStartupLock(async () => {
        const created = await createAgendaStore({
          name: this.node,
          processEveryMs: this.cfg.processEveryMs,
          concurrency: this.cfg.concurrency,
          lockLifetimeMs: this.cfg.lockLifetimeMs,
          pool,
          embedded: this.opts.embedded,
          mongodbUrl: this.deps.config.mongodbUrl,
          onLocked: (id, at) => this.fireTimes.set(id, at),
          onStoreError: (err) => this.storeError(err),
        });
        this.store = created;
        this.prepareRunStatements(created);
        created.agenda.on('error', (err: Error) => this.storeError(err));
        for (const t of this.registry.list()) this.define(t);
        await this.seedDefaults();
        await this.reconcile();
        return created;
      });
      if (this.cfg.enabled) {
        await store.agenda.start();
        this.lockSweep = setInterval(() => void this.releaseLostLocks(), Math.max(5000, 5 * this.cfg.processEveryMs));
        this.lockSweep.unref();
      }
      this.state = 'running';
      this.log.info(
        { node: this.node, backend: store.kind, store: store.description, processing: this.cfg.enabled, process_every_ms: this.cfg.processEveryMs },
        this.cfg.enabled ? `调度器已启动 (${store.description})` : `调度器已连接 (${store.description})，本进程不执行任务 (SCHEDULER_ENABLED=false)`,
      );
    } catch (err) {
      this.state = 'stopped';
      await this.store?.close();
      await this.pool?.end().catch(() => {});
      throw err;
    }
  }

  private lastStoreError = 0;
  private lockSweep?: NodeJS.Timeout;

  /**
   * After the job store was unreachable, a job this process had locked may stay locked with nobody
   * running it (lock answer lost, final save failed): released here instead of after the lock lifetime.
   */
  private async releaseLostLocks(): Promise<void> {
    if (this.state !== 'running' || !this.store) return;
    try {
      const lost = await this.store.releaseLostLocks(2 * this.cfg.processEveryMs + 2000);
      if (lost.length) this.log.warn({ node: this.node, agenda_job_ids: lost }, `已释放 ${lost.length} 个失效的任务锁 (数据库曾不可用)`);
    } catch {
      // The store is still away: the next sweep tries again.
    }
  }

  /** Agenda reports transient store errors on every poll; one line per 10 s is enough. */
  private storeError(err: Error): void {
    if (this.state === 'abandoned' || Date.now() - this.lastStoreError < 10_000) return;
    this.lastStoreError = Date.now();
    this.log.warn({ error: err?.message }, `调度器存储错误: ${err?.message}`);
  }

  /**
   * Graceful stop: no new jobs (fires or run-now), running ones get `timeoutMs` to finish, then every
   * lock and lease this process holds is released (runs that overran are marked interrupted).
   */
  stop(timeoutMs = this.cfg.stopTimeoutMs): Promise<void> {
    if (this.state === 'stopped' || this.state === 'abandoned') return Promise.resolve();
    if (this.stopping) return this.stopping;
    const wasStarted = this.state === 'running' || this.state === 'starting';
    this.state = 'stopping';
    this.stopping = (async () => {
      const log = this.log;
      clearInterval(this.lockSweep);
      if (wasStarted && this.store) {
        log.info({ node: this.node, running: this.active.size }, '调度器停止中：不再接收新任务');
        // Stops polling and unlocks the jobs this process locked but has not started, including one
        // whose lock query was in flight (it would otherwise stay locked for the lock lifetime).
        const lockingStopped = this.store.stopLocking();
        await this.store.agenda.stop(false).catch((err: Error) => log.warn({ error: err.message }, `停止 Agenda 失败: ${err.message}`));
        await lockingStopped;
      }
      const deadline = Date.now() + timeoutMs;
      while (this.active.size && Date.now() < deadline) {
        await Promise.race([Promise.allSettled([...this.active.values()].map((a) => a.done)), sleep(Math.max(1, deadline - Date.now()))]);
      }
      // Agenda saves a finished job's state (and releases its lock) right after our handler returns,
      // and a fire whose start save was in flight when Agenda stopped reaches the handler only now:
      // the pool must outlive both.
      while (this.store && this.store.running() > this.active.size && Date.now() < deadline) await sleep(10);
      const overran = [...this.active.entries()];
      if (overran.length) {
        const agendaIds: string[] = [];
        for (const [runId, a] of overran) {
          a.ended = true;
          clearInterval(a.heartbeat);
          await a.renewing;
          a.abort.abort();
          if (a.agendaJob?.attrs._id) agendaIds.push(String(a.agendaJob.attrs._id));
          await this.finishRun(runId, a.jobId, {
            status: 'interrupted',
            error: `网关停止时本次运行未在 ${timeoutMs} ms 内结束，已释放锁`,
          }).catch(() => {});
          log.warn({ job_id: a.jobId, run_id: runId }, `任务运行被中断 (网关停止): ${a.jobId}`);
        }
        if (agendaIds.length && this.store) {
          await this.store.agenda.db.unlockJobs(agendaIds as never).catch(() => {});
        }
        this.active.clear();
      }
      // Bounded: a connection stuck in a query of an overrun job must not hold up the shutdown.
      if (this.store) await Promise.race([this.store.close(), sleep(2000)]);
      if (this.pool) await Promise.race([this.pool.end().catch(() => {}), sleep(2000)]);
      this.fireTimes.clear();
      this.state = 'stopped';
      if (wasStarted) log.info({ node: this.node, interrupted: overran.length }, '调度器已停止');
    })();
    return this.stopping;
  }

  /**
   * Stops as a crashed process would: no more polling and no lock renewals, but nothing is released
   * or recorded, so other replicas must wait out the lock lifetime. For tests and the benchmark.
   */
  async abandon(): Promise<void> {
    this.state = 'abandoned';
    clearInterval(this.lockSweep);
    const processor = (this.store?.agenda as unknown as { jobProcessor?: { stop(): unknown } } | undefined)?.jobProcessor;
    processor?.stop();
    for (const a of this.active.values()) clearInterval(a.heartbeat);
    if (this.store) {
      await this.store.dropNotifications();
      // Whatever is still in flight dies with the connection pool, as it would with the process.
      void this.store.close();
    }
    void this.pool?.end().catch(() => {});
  }

  /** Adds a task type defined in code (tests, benchmarks, later modules); never reachable from the API. */
  registerTaskType(t: TaskType<any>): void {
    this.registry.add(t);
    if (this.store) this.define(t);
  }

  private define(t: TaskType<any>): void {
    if (this.defined.has(t.name)) return;
    this.defined.add(t.name);
    this.agenda.define<{ jobId: string }>(t.name, (job) => this.onFire(job), {
      concurrency: this.cfg.concurrency,
      lockLifetime: this.cfg.lockLifetimeMs,
    });
  }

  private ensureAccepting(): void {
    if (this.state === 'stopping' || this.state === 'stopped' || this.state === 'abandoned') {
      throw new SchedulerUnavailableError('调度器正在停止，暂不接受任务操作');
    }
    if (this.state !== 'running') throw new SchedulerUnavailableError('调度器未启动');
  }

  private async withStartupLock<T>(fn: () => Promise<T>): Promise<T> {
    const client = await this.deps.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1, 1)', [STARTUP_LOCK_NS]);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, 1)', [STARTUP_LOCK_NS]).catch(() => {});
      }
    } finally {
      client.release();
    }
  }

  /** Creates the default jobs of SPEC §3.8 the first time the scheduler starts on a database. */
  private async seedDefaults(): Promise<void> {
    const marker = await this.deps.prisma.globalParam.findUnique({ where: { key: DEFAULTS_SEEDED_KEY } });
    if (marker) return;
    const defaults = DEFAULT_JOBS.filter((d) => this.registry.get(d.taskType));
    await this.deps.prisma.$transaction([
      this.deps.prisma.scheduledJob.createMany({
        data: defaults.map((d) => ({
          id: d.id,
          name: d.name,
          taskType: d.taskType,
          schedule: formatSchedule(parseScheduleText(d.schedule)),
          timezone: DEFAULT_TIMEZONE,
          description: d.description,
          args: d.params as Prisma.InputJsonValue,
          isBuiltin: true,
        })),
        skipDuplicates: true,
      }),
      this.deps.prisma.globalParam.create({
        data: {
          key: DEFAULTS_SEEDED_KEY,
          value: new Date().toISOString(),
          description: '默认定时任务已创建 (删除后不会重新创建)',
          paramType: 'datetime',
        },
      }),
    ]);
    this.log.info({ jobs: defaults.map((d) => d.id) }, `已创建默认定时任务: ${defaults.map((d) => d.id).join(', ')}`);
  }

  /**
   * Makes the job store match the definitions: every active definition has its Agenda job with the
   * right schedule; inactive ones have none. Agenda jobs of deleted definitions are removed; other
   * strays are refused by the fire check and removed when they fire.
   */
  private async reconcile(): Promise<void> {
    const rows = await this.deps.prisma.scheduledJob.findMany({ orderBy: { id: 'asc' } });
    const { jobs: docs } = await this.agenda.queryJobs({});
    const byId = new Map(docs.map((d) => [String(d._id), d]));
    const rowIds = new Set(rows.map((r) => r.id));
    const unknownIds = new Set(rows.filter((r) => !this.registry.get(r.taskType)).map((r) => r.agendaJobId));
    let fixed = 0;
    for (const row of rows) {
      const doc = row.agendaJobId ? byId.get(row.agendaJobId) : undefined;
      if (!this.registry.get(row.taskType)) {
        // A task type this process does not know (an older replica during a rolling upgrade):
        // leave the job to the processes that do.
        this.log.warn({ job_id: row.id, task_type: row.taskType }, `未知的任务类型 ${row.taskType}，本进程不调度任务 ${row.id}`);
        continue;
      }
      if (!this.isActive(row)) {
        if (row.agendaJobId) {
          await this.removeAgendaJob(row);
          fixed++;
        }
        continue;
      }
      let schedule: Schedule;
      try {
        schedule = this.scheduleOf(row);
      } catch (err) {
        this.log.error({ job_id: row.id, schedule: row.schedule }, `任务的调度表达式无效，未调度: ${row.id}: ${(err as Error).message}`);
        continue;
      }
      const ok =
        doc &&
        doc.name === row.taskType &&
        String(doc.repeatInterval) === String(agendaRepeatInterval(schedule)) &&
        (doc.repeatTimezone ?? DEFAULT_TIMEZONE) === row.timezone &&
        !doc.disabled &&
        doc.nextRunAt;
      if (!ok) {
        await this.replaceAgendaJob(row);
        fixed++;
      }
    }
    for (const doc of docs) {
      const jobId = (doc.data as { jobId?: unknown } | undefined)?.jobId;
      if ((typeof jobId !== 'string' || !rowIds.has(jobId)) && !unknownIds.has(String(doc._id))) {
        await this.agenda.cancel({ id: doc._id as never }).catch(() => {});
        fixed++;
      }
    }
    if (fixed) this.log.info({ fixed }, `调度器已校准 ${fixed} 个任务的调度状态`);
  }

  // ---------------------------------------------------------------- Agenda jobs

  private isActive(row: ScheduledJob): boolean {
    return row.isEnabled && !row.isPaused;
  }

  private scheduleOf(row: Pick<ScheduledJob, 'schedule'>): Schedule {
    let s = this.scheduleCache.get(row.schedule);
    if (!s) {
      s = parseScheduleText(row.schedule);
      if (this.scheduleCache.size > 1000) this.scheduleCache.clear();
      this.scheduleCache.set(row.schedule, s);
    }
    return s;
  }

  /** A new Agenda job for the definition, first fire computed from now; the previous one is removed. */
  private async replaceAgendaJob(row: ScheduledJob): Promise<void> {
    const schedule = this.scheduleOf(row);
    const task = this.registry.get(row.taskType);
    if (!task) throw new ConflictError(`任务类型 ${row.taskType} 不可用`, { job_id: row.id });
    this.define(task);
    const job = this.agenda.create(row.taskType, { jobId: row.id });
    job.repeatEvery(agendaRepeatInterval(schedule), { timezone: row.timezone, skipImmediate: true });
    await job.save();
    const newId = String(job.attrs._id);
    // Raw SQL: linking the Agenda job is not a change of the definition (updated_at stays).
    const linked = await this.deps.prisma.$executeRaw`UPDATE scheduled_jobs SET agenda_job_id = ${newId} WHERE id = ${row.id}`;
    if (row.agendaJobId && row.agendaJobId !== newId) await this.cancelAgendaJob(row.agendaJobId);
    if (linked === 0) await this.cancelAgendaJob(newId); // deleted meanwhile
  }

  private async removeAgendaJob(row: ScheduledJob): Promise<void> {
    if (!row.agendaJobId) return;
    await this.deps.prisma.$executeRaw`UPDATE scheduled_jobs SET agenda_job_id = NULL WHERE id = ${row.id} AND agenda_job_id = ${row.agendaJobId}`;
    await this.cancelAgendaJob(row.agendaJobId);
  }

  private async cancelAgendaJob(id: string): Promise<void> {
    if (!this.store?.isJobId(id)) return;
    await this.agenda.cancel({ id: id as never });
  }

  /** Re-reads the definition and makes its Agenda job match it (reschedule = always a new one). */
  private async syncAgenda(id: string, reschedule: boolean): Promise<void> {
    const row = await this.deps.prisma.scheduledJob.findUnique({ where: { id } });
    if (!row) return;
    if (this.isActive(row)) {
      if (reschedule || !row.agendaJobId) await this.replaceAgendaJob(row);
    } else if (row.agendaJobId) {
      await this.removeAgendaJob(row);
    }
  }

  /** Next fire times of active definitions, read from the job store (exactly when Agenda fires). */
  private async nextRunTimes(rows: ScheduledJob[]): Promise<Map<string, Date | null>> {
    const out = new Map<string, Date | null>();
    const ids = rows.filter((r) => this.isActive(r) && r.agendaJobId && this.store?.isJobId(r.agendaJobId)).map((r) => r.agendaJobId!);
    if (!ids.length) return out;
    const { jobs } = await this.agenda.queryJobs(ids.length === 1 ? { id: ids[0] } : { ids });
    for (const j of jobs) out.set(String(j._id), j.nextRunAt ? new Date(j.nextRunAt) : null);
    return out;
  }

  private async lastRuns(jobIds: string[]): Promise<Map<string, JobRun>> {
    const out = new Map<string, JobRun>();
    if (!jobIds.length) return out;
    const latest = await this.deps.prisma.$queryRaw<Array<{ id: number }>>`
      SELECT r.id FROM unnest(${jobIds}::text[]) AS j(job_id)
      CROSS JOIN LATERAL (
        SELECT id FROM job_runs WHERE job_runs.job_id = j.job_id ORDER BY started_at DESC, id DESC LIMIT 1
      ) r`;
    if (!latest.length) return out;
    const runs = await this.deps.prisma.jobRun.findMany({ where: { id: { in: latest.map((l) => l.id) } } });
    for (const r of runs) out.set(r.jobId, r);
    return out;
  }

  private async views(rows: ScheduledJob[]): Promise<JobView[]> {
    const [next, last] = await Promise.all([this.nextRunTimes(rows), this.lastRuns(rows.map((r) => r.id))]);
    const now = Date.now();
    return rows.map((row) => {
      let schedule: Schedule | undefined;
      try {
        schedule = this.scheduleOf(row);
      } catch {
        schedule = undefined;
      }
      const status: JobStatus = !row.isEnabled ? 'disabled' : row.isPaused ? 'paused' : 'active';
      return {
        id: row.id,
        name: row.name,
        taskType: row.taskType,
        dbType: row.dbType,
        params: (row.args ?? {}) as Record<string, unknown>,
        schedule: row.schedule,
        triggerType: schedule?.kind ?? 'cron',
        trigger: schedule ? triggerRepr(schedule, row.timezone) : row.schedule,
        cronExpression: schedule?.kind === 'cron' ? schedule.expression : null,
        intervalSeconds: schedule?.kind === 'interval' ? schedule.seconds : null,
        timezone: row.timezone,
        description: row.description,
        isBuiltin: row.isBuiltin,
        isPaused: row.isPaused,
        isEnabled: row.isEnabled,
        status,
        nextRunTime: status === 'active' && row.agendaJobId ? (next.get(row.agendaJobId) ?? null) : null,
        running: row.runningRunId !== null && !!row.leaseExpiresAt && row.leaseExpiresAt.getTime() > now,
        lastRun: last.get(row.id) ?? null,
        createdBy: row.createdBy,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      };
    });
  }

  // ---------------------------------------------------------------- definitions API

  taskTypes(): TaskTypeInfo[] {
    return this.registry.list().map((t) => ({ name: t.name, label: t.label, description: t.description, params: t.paramDocs, usesDbType: t.usesDbType }));
  }

  private requireTask(name: string): TaskType {
    const t = this.registry.get(name);
    if (!t) {
      const msg = `task_type 必须是以下之一: ${this.registry.names().join(', ')}`;
      throw new ValidationError(`task_type: ${msg}`, { errors: [{ field: 'taskType', message: msg }] });
    }
    return t;
  }

  /** Validates parameters for a task type; `db_type` (column) and params.db_type are the same thing. */
  private validateParams(task: TaskType, params: Record<string, unknown> | undefined, dbType: string | null | undefined): Record<string, unknown> {
    const merged: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params ?? {})) merged[camelToSnake(k)] = v;
    if (dbType !== undefined && dbType !== null && dbType !== '') {
      if (!task.usesDbType) {
        const msg = `${task.name} 不支持 db_type`;
        throw new ValidationError(`db_type: ${msg}`, { errors: [{ field: 'dbType', message: msg }] });
      }
      if (merged.db_type !== undefined && merged.db_type !== dbType) {
        const msg = 'db_type 与 params.db_type 不一致';
        throw new ValidationError(`db_type: ${msg}`, { errors: [{ field: 'dbType', message: msg }] });
      }
      merged.db_type = dbType;
    }
    const res = task.params.safeParse(merged);
    if (!res.success) {
      const errors = res.error.issues.map((i) => ({
        field: ['params', ...i.path].join('.'),
        message: i.code === 'unrecognized_keys' ? `${task.name} 不支持的参数: ${i.keys.join(', ')}` : i.message,
      }));
      throw new ValidationError(errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
    }
    return (res.data ?? {}) as Record<string, unknown>;
  }

  private async findRow(id: string): Promise<ScheduledJob> {
    const row = await this.deps.prisma.scheduledJob.findUnique({ where: { id } });
    if (!row) throw new ResourceNotFoundError('任务不存在', { job_id: id });
    return row;
  }

  async listJobs(q: ListJobsQuery): Promise<Page<JobView>> {
    const where: Prisma.ScheduledJobWhereInput = {
      ...(q.search ? { OR: [{ name: { contains: likeLiteral(q.search), mode: 'insensitive' } }, { id: { contains: likeLiteral(q.search), mode: 'insensitive' } }] } : {}),
      ...(q.taskType ? { taskType: q.taskType } : {}),
      ...(q.status === 'active' ? { isEnabled: true, isPaused: false } : q.status === 'paused' ? { isEnabled: true, isPaused: true } : q.status === 'disabled' ? { isEnabled: false } : {}),
    };
    const w = windowOf(q);
    const [rows, total] = await Promise.all([
      this.deps.prisma.scheduledJob.findMany({ where, orderBy: [{ [q.sort]: q.order }, { id: 'asc' }], skip: w.offset, take: w.limit }),
      this.deps.prisma.scheduledJob.count({ where }),
    ]);
    return pageOf(await this.views(rows), total, w);
  }

  async getJob(id: string): Promise<JobView> {
    return (await this.views([await this.findRow(id)]))[0]!;
  }

  async createJob(input: JobInput, actor: AuthUser | null): Promise<JobView> {
    this.ensureAccepting();
    const task = this.requireTask(input.taskType);
    const params = this.validateParams(task, input.params, input.dbType);
    const timezone = normalizeTimezone(input.timezone);
    const id = input.id ?? `${task.name}_${randomBytes(4).toString('hex')}`;
    const schedule = formatSchedule(input.schedule);
    let row: ScheduledJob;
    try {
      row = await this.deps.prisma.scheduledJob.create({
        data: {
          id,
          name: input.name,
          taskType: task.name,
          dbType: typeof params.db_type === 'string' ? params.db_type : null,
          schedule,
          timezone,
          description: input.description ?? null,
          args: params as Prisma.InputJsonValue,
          isEnabled: input.enabled ?? true,
          isPaused: input.paused ?? false,
          createdBy: actor?.id ?? null,
        },
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') throw new ConflictError('任务 ID 已存在', { job_id: id });
      throw err;
    }
    try {
      if (this.isActive(row)) await this.replaceAgendaJob(row);
    } catch (err) {
      await this.deps.prisma.scheduledJob.delete({ where: { id } }).catch(() => {});
      throw err;
    }
    this.log.info(
      { job_id: id, task_type: task.name, schedule, timezone, params, actor_id: actor?.id ?? null },
      `任务已创建: ${id} (${task.name}, ${schedule}${timezone === DEFAULT_TIMEZONE ? '' : ` ${timezone}`})`,
    );
    return this.getJob(id);
  }

  async updateJob(id: string, patch: JobPatch, actor: AuthUser | null): Promise<JobView> {
    this.ensureAccepting();
    const row = await this.findRow(id);
    const task = this.requireTask(patch.taskType ?? row.taskType);
    const taskChanged = task.name !== row.taskType;
    let params = row.args as Record<string, unknown>;
    if (patch.params !== undefined || patch.dbType !== undefined || taskChanged) {
      let base = patch.params ?? (taskChanged ? {} : { ...params });
      // A db_type of null clears the filter.
      if (patch.dbType === null && patch.params === undefined) {
        base = { ...base };
        delete base.db_type;
        delete base.dbType;
      }
      params = this.validateParams(task, base, patch.dbType);
    }
    const schedule = patch.schedule ? formatSchedule(patch.schedule) : row.schedule;
    const timezone = patch.timezone !== undefined ? normalizeTimezone(patch.timezone) : row.timezone;
    const data: Prisma.ScheduledJobUpdateInput = {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      taskType: task.name,
      args: params as Prisma.InputJsonValue,
      dbType: typeof params.db_type === 'string' ? params.db_type : null,
      schedule,
      timezone,
    };
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    const cmp = (k: string, from: unknown, to: unknown) => {
      if (JSON.stringify(from) !== JSON.stringify(to)) changes[k] = { from, to };
    };
    cmp('name', row.name, patch.name ?? row.name);
    cmp('description', row.description, patch.description !== undefined ? patch.description : row.description);
    cmp('task_type', row.taskType, task.name);
    cmp('params', row.args, params);
    cmp('schedule', row.schedule, schedule);
    cmp('timezone', row.timezone, timezone);
    await this.deps.prisma.scheduledJob.update({ where: { id }, data });
    const reschedule = !!(changes.schedule || changes.timezone || changes.task_type);
    await this.syncAgenda(id, reschedule);
    this.log.info(
      { job_id: id, changes, rescheduled: reschedule, actor_id: actor?.id ?? null },
      reschedule ? `任务已更新并重新调度: ${id} (${schedule}${timezone === DEFAULT_TIMEZONE ? '' : ` ${timezone}`})` : `任务已更新: ${id}`,
    );
    return this.getJob(id);
  }

  async deleteJob(id: string, actor: AuthUser | null): Promise<{ id: string }> {
    this.ensureAccepting();
    const row = await this.findRow(id);
    await this.deps.prisma.scheduledJob.delete({ where: { id } }).catch((err: { code?: string }) => {
      if (err.code === 'P2025') throw new ResourceNotFoundError('任务不存在', { job_id: id });
      throw err;
    });
    if (row.agendaJobId) await this.cancelAgendaJob(row.agendaJobId).catch(() => {});
    this.log.info({ job_id: id, task_type: row.taskType, builtin: row.isBuiltin, actor_id: actor?.id ?? null }, `任务已删除: ${id}`);
    return { id };
  }

  /** enable/disable: a disabled job neither fires nor runs on demand. */
  async setEnabled(id: string, enabled: boolean, actor: AuthUser | null): Promise<JobView> {
    return this.setFlag(id, 'isEnabled', enabled, actor, enabled ? '任务已启用' : '任务已禁用');
  }

  /** pause/resume: a paused job skips its fires but can still be run now. */
  async setPaused(id: string, paused: boolean, actor: AuthUser | null): Promise<JobView> {
    return this.setFlag(id, 'isPaused', paused, actor, paused ? '任务已暂停' : '任务已恢复');
  }

  private async setFlag(id: string, flag: 'isEnabled' | 'isPaused', value: boolean, actor: AuthUser | null, message: string): Promise<JobView> {
    this.ensureAccepting();
    const row = await this.findRow(id);
    if (row[flag] !== value) {
      await this.deps.prisma.scheduledJob.update({ where: { id }, data: { [flag]: value } });
      // Becoming active always gets a new Agenda job: the next run is computed from now, nothing missed is replayed.
      await this.syncAgenda(id, false);
      this.log.info({ job_id: id, [flag === 'isEnabled' ? 'enabled' : 'paused']: value, actor_id: actor?.id ?? null }, `${message}: ${id}`);
    }
    return this.getJob(id);
  }

  async listRuns(jobId: string, q: ListRunsQuery): Promise<Page<JobRun>> {
    await this.findRow(jobId);
    const where: Prisma.JobRunWhereInput = { jobId, ...(q.status ? { status: q.status } : {}), ...(q.trigger ? { trigger: q.trigger } : {}) };
    const w = windowOf(q);
    const [items, total] = await Promise.all([
      this.deps.prisma.jobRun.findMany({ where, orderBy: [{ startedAt: q.order }, { id: q.order }], skip: w.offset, take: w.limit }),
      this.deps.prisma.jobRun.count({ where }),
    ]);
    return pageOf(items, total, w);
  }

  async getRun(runId: number): Promise<JobRun> {
    const run = await this.deps.prisma.jobRun.findUnique({ where: { id: runId } });
    if (!run) throw new ResourceNotFoundError('运行记录不存在', { run_id: runId });
    return run;
  }

  // ---------------------------------------------------------------- runs

  /**
   * Run now (does not touch the schedule). Answers once the run has started what it is for (its sync
   * session exists) or has finished, whichever is first; the run goes on in the background.
   */
  async runNow(id: string, actor: AuthUser | null): Promise<JobRun> {
    this.ensureAccepting();
    const row = await this.findRow(id);
    if (!row.isEnabled) throw new ConflictError('任务已禁用，无法立即执行 (请先启用)', { job_id: id, status: 'disabled' });
    if (!this.registry.get(row.taskType)) throw new ConflictError(`任务类型 ${row.taskType} 不可用`, { job_id: id });
    const b = await this.beginRun(id, { trigger: 'manual', actor, scheduledFor: null, startedAt: new Date() });
    if (b.verdict === 'missing') throw new ResourceNotFoundError('任务不存在', { job_id: id });
    if (b.verdict === 'inactive') throw new ConflictError('任务已禁用，无法立即执行 (请先启用)', { job_id: id, status: 'disabled' });
    if (b.verdict !== 'go') throw new ConflictError('任务正在运行中，请等待本次运行结束', { job_id: id, running_run_id: b.holder });
    const done = this.track(b.start!);
    await Promise.race([b.start!.linked, done]);
    return this.getRun(b.start!.runId);
  }

  /** Agenda's handler for every fire of every task type. */
  private async onFire(job: Job<{ jobId: string }>): Promise<void> {
    const agendaId = String(job.attrs._id);
    const firedAt = job.attrs.lastRunAt ?? new Date();
    const scheduledFor = new Date(this.fireTimes.get(agendaId) ?? firedAt);
    this.fireTimes.delete(agendaId);
    if (this.state !== 'running') return;
    const jobId = job.attrs.data?.jobId;
    const lateMs = firedAt.getTime() - scheduledFor.getTime();
    const missed =
      lateMs > this.cfg.misfireGraceSeconds * 1000 ? `错过执行时间 (延迟 ${Math.round(lateMs / 1000)} 秒，超过 ${this.cfg.misfireGraceSeconds} 秒)，已跳过` : null;
    const b =
      typeof jobId === 'string'
        ? await this.beginRun(jobId, { trigger: 'scheduled', actor: null, scheduledFor, startedAt: firedAt, agendaJob: job, missed, agendaState: this.store?.fireState?.takeStart(agendaId) })
        : ({ verdict: 'missing' } as const);
    switch (b.verdict) {
      case 'go':
        await this.track(b.start!);
        return;
      case 'missing':
      case 'stale':
        // A stale or duplicate Agenda job (definition deleted or rescheduled): never run it.
        this.log.warn({ job_id: jobId ?? null, agenda_job_id: agendaId }, `忽略过期的调度记录: ${jobId ?? agendaId}`);
        await this.cancelAgendaJob(agendaId).catch(() => {});
        return;
      case 'inactive':
        this.log.info({ job_id: jobId }, `任务未启用或已暂停，跳过本次触发: ${jobId}`);
        await this.syncAgenda(jobId as string, false).catch(() => {});
        return;
      case 'missed':
        this.log.warn({ job_id: jobId, scheduled_for: scheduledFor, late_ms: lateMs }, `任务错过执行时间，已跳过: ${jobId}`);
        return;
      case 'busy':
        this.log.warn({ job_id: jobId, running_run_id: b.holder }, `上一次运行尚未结束，跳过本次触发: ${jobId}`);
        return;
    }
  }

  /**
   * Checks the job, takes its no-overlap lease and records the run, in one statement shared with the starts that arrive together (beginRunsSql).
   * A lease that expired (its process stopped renewing it) is taken over and its run marked interrupted.
   */
  private async beginRun(
    jobId: string,
    o: {
      trigger: RunTrigger;
      actor: AuthUser | null;
      scheduledFor: Date | null;
      startedAt: Date;
      agendaJob?: Job<{ jobId: string }>;
      missed?: string | null;
      /** Agenda's start save of the fire, written by the same statement (FireStateFold.takeStart). */
      agendaState?: AgendaState | null;
    },
  ): Promise<{ verdict: Verdict; holder?: number | null; start?: RunStart }> {
    if (!this.begins) throw new SchedulerUnavailableError('调度器未启动');
    const r = await this.begins.run({
      job_id: jobId,
      agenda_job_id: o.agendaJob ? String(o.agendaJob.attrs._id) : null,
      trigger: o.trigger,
      user_id: o.actor?.id ?? null,
      scheduled_for: o.scheduledFor,
      started_at: o.startedAt,
      missed: o.missed ?? null,
      agenda: o.agendaState ?? null,
    });
    if (!r) return { verdict: 'missing' };
    if (r.verdict !== 'go') return { verdict: r.verdict, holder: r.holder };
    if (r.previous !== null) this.log.warn({ job_id: jobId, run_id: r.previous, by_run_id: r.run_id }, `接管了过期的任务锁: ${jobId} (运行 #${r.previous} 已中断)`);
    let markLinked!: () => void;
    const linked = new Promise<void>((resolve) => (markLinked = resolve));
    return {
      verdict: 'go',
      start: {
        jobId,
        task: this.registry.get(r.task_type)!,
        args: r.args,
        runId: r.run_id!,
        trigger: o.trigger,
        actor: o.actor,
        scheduledFor: o.scheduledFor,
        agendaJob: o.agendaJob,
        linked,
        markLinked,
      },
    };
  }

  /** Runs the task with lock/lease renewal; everything it does ends up in the run row and the log. */
  private track(s: RunStart): Promise<void> {
    const abort = new AbortController();
    const entry: ActiveRun = { jobId: s.jobId, agendaJob: s.agendaJob, abort, ended: false, done: Promise.resolve() };
    const renewEvery = Math.max(200, Math.floor(this.cfg.lockLifetimeMs / 3));
    entry.heartbeat = setInterval(() => {
      if (!entry.renewing) entry.renewing = this.renew(s, entry).finally(() => (entry.renewing = undefined));
    }, renewEvery);
    entry.heartbeat.unref();
    entry.done = this.execute(s, abort.signal, entry).finally(async () => {
      entry.ended = true;
      clearInterval(entry.heartbeat);
      // A late touch() would lock the Agenda job again after Agenda released it.
      await entry.renewing;
      this.active.delete(s.runId);
      s.markLinked();
    });
    this.active.set(s.runId, entry);
    return entry.done;
  }

  private async renew(s: RunStart, entry: ActiveRun): Promise<void> {
    if (this.state === 'abandoned' || entry.ended) return;
    try {
      const { rowCount } = await this.sql.query(
        `UPDATE scheduled_jobs SET lease_expires_at = now() + $3::int * interval '1 millisecond' WHERE id = $1 AND running_run_id = $2`,
        [s.jobId, s.runId, this.cfg.lockLifetimeMs],
      );
      if (rowCount === 0 && !entry.abort.signal.aborted) {
        this.log.warn({ job_id: s.jobId, run_id: s.runId }, `任务的租约已被其他进程接管: ${s.jobId}`);
      }
      if (s.agendaJob && !entry.ended && (this.state as State) !== 'abandoned') await s.agendaJob.touch();
    } catch (err) {
      this.log.warn({ job_id: s.jobId, run_id: s.runId, error: (err as Error).message }, `续期任务锁失败: ${(err as Error).message}`);
    }
  }

  private async execute(s: RunStart, signal: AbortSignal, entry: ActiveRun): Promise<void> {
    const started = Date.now();
    const { jobId, task, runId } = s;
    const log = this.log;
    const ids = { job_id: jobId, run_id: runId, task_type: task.name, trigger: s.trigger };
    // Scheduled runs are logged once, when they end (a burst of fires must not double the log volume).
    const startMsg = `任务开始执行: ${jobId}${s.trigger === 'manual' ? ' (立即执行)' : ''}`;
    if (s.trigger === 'manual') log.info({ ...ids, actor_id: s.actor?.id ?? null }, startMsg);
    else log.debug({ ...ids, scheduled_for: s.scheduledFor }, startMsg);
    const ctx: TaskContext = {
      deps: this.deps,
      jobId,
      runId,
      trigger: s.trigger,
      actor: s.actor,
      signal,
      link: async (links) => {
        await this.deps.prisma.jobRun.update({
          where: { id: runId },
          data: { ...(links.sessionId ? { sessionId: links.sessionId } : {}), ...(links.batchId ? { batchId: links.batchId } : {}) },
        });
        s.markLinked();
      },
    };
    let outcome: TaskOutcome | undefined;
    let error: string | undefined;
    let thrown: unknown;
    try {
      const params = task.params.parse(s.args ?? {});
      outcome = await task.run(ctx, params);
    } catch (err) {
      thrown = err;
      error = ((err as Error)?.message ?? String(err)).slice(0, 2000);
    }
    if (this.state === 'abandoned') return; // a crashed process records nothing
    entry.ended = true;
    await entry.renewing; // the lease renewal must not outlive the release below
    const status = error !== undefined || outcome?.failed ? 'failed' : 'success';
    const durationMs = Date.now() - started;
    const result = { status, message: outcome?.message ?? null, error: error ?? (outcome?.failed ? outcome.message : null), result: outcome?.details, durationMs } as const;
    // A fire's handler returns normally from here on: Agenda's finish save (unlock) goes in the same
    // statement, and Agenda skips its own once that is written.
    const fold = s.agendaJob ? this.store?.fireState : undefined;
    const agendaState = fold?.finishState(s.agendaJob!.attrs, this.node) ?? null;
    // The run holds the job's lease until this is written: retried while the database is away, or
    // every later fire would be skipped as "still running" until the lease expired.
    for (let attempt = 0, until = Date.now() + this.cfg.lockLifetimeMs; ; attempt++) {
      try {
        await this.finishRun(runId, jobId, result, agendaState);
        if (agendaState) fold!.finished(String(s.agendaJob!.attrs._id));
        break;
      } catch (err) {
        if (attempt === 0) log.error({ ...ids, err }, `记录任务运行结果失败: ${(err as Error).message}`);
        if (this.state !== 'running' || Date.now() > until) break;
        await sleep(Math.min(500 * 2 ** attempt, 5000));
      }
    }
    this.deps.metrics.jobDuration.observe({ task_type: task.name, outcome: status }, durationMs / 1000);
    const fields = { ...ids, duration_ms: durationMs, scheduled_for: s.scheduledFor, actor_id: s.actor?.id ?? null, result: outcome?.details };
    if (status === 'success') log.info(fields, `任务执行成功: ${jobId} - ${outcome?.message ?? ''}`);
    else log.error({ ...fields, ...(thrown ? { err: thrown } : {}), error }, `任务执行失败: ${jobId} - ${error ?? outcome?.message}`);
  }

  /** Final state of a run (only while it is still `running`) and release of the job's lease. */
  private async finishRun(
    runId: number,
    jobId: string,
    r: { status: JobRun['status']; message?: string | null; error?: string | null; result?: Record<string, unknown>; durationMs?: number },
    /** Agenda's finish save of the fire (FireStateFold.finishState), or null. */
    agendaState: AgendaState | null = null,
  ): Promise<void> {
    if (!this.finishes) throw new SchedulerUnavailableError('调度器未启动');
    await this.finishes.run({
      run_id: runId,
      job_id: jobId,
      status: r.status,
      duration_ms: r.durationMs ?? null,
      message: r.message ?? null,
      error: r.error ?? null,
      result: r.result ?? null,
      agenda: agendaState,
    });
  }

  /**
   * Run starts and ends go through batchers: a burst of fires shares one statement per batch instead
   * of a round trip (and a commit) each, and a lone fire is sent at once. Starts of the same job never
   * share a batch (the statement's verdicts assume distinct jobs, like two statements in sequence).
   */
  private prepareRunStatements(store: AgendaStore): void {
    const save = store.fireState?.saveSql ?? NO_AGENDA_SAVE;
    // Named: each connection parses and plans them once. Not on the embedded PGlite, which serves all
    // connections from one session (a second connection preparing the same name would fail).
    const named = (name: string, text: string) => (this.opts.embedded ? { text } : { name: `whalefall_${name}_${store.kind}`, text });
    const begin = named('begin_runs', beginRunsSql(save));
    const finish = named('finish_runs', finishRunsSql(save));
    this.begins = new Batcher<BeginInput, BeginRow | undefined>(
      async (inputs) => {
        const values = [JSON.stringify(inputs), this.node, this.cfg.lockLifetimeMs];
        const { rows } = await retryDeadlock(() => this.sql.query<BeginRow & { n: string }>({ ...begin, values }));
        const byN = new Map(rows.map((row) => [Number(row.n), row]));
        return inputs.map((_, k) => byN.get(k + 1));
      },
      { max: RUN_BATCH, key: (i) => i.job_id },
    );
    this.finishes = new Batcher<FinishInput, void>(
      async (inputs) => {
        const values = [JSON.stringify(inputs)];
        await retryDeadlock(() => this.sql.query({ ...finish, values }));
        return inputs.map(() => undefined);
      },
      { max: RUN_BATCH },
    );
  }
}

/**
 * A batch touches several jobs, so two replicas' statements can deadlock in rare interleavings (a
 * run-now on one replica and fires on the other, across the same jobs): PostgreSQL then rolls one of
 * them back whole, so it is simply sent again.
 */
async function retryDeadlock<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= 3) throw err;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

