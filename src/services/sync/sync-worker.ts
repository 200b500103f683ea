/**
 * Runs the instance records of sync sessions, shared by every replica on the database.
 *
 * A session is a set of `pending` records in the database; whichever gateway has a free slot claims
 * the next one (UPDATE … FOR UPDATE SKIP LOCKED: each record is claimed once), so a session started
 * on one replica is worked on by all of them, SYNC_CONCURRENCY records at a time per process. The
 * replica that starts a session claims first (before it answers), then wakes the others through the
 * `sync.work` topic; every replica also polls, so work is found without Redis and after a restart.
 *
 * - Never doubled: a record runs while holding the instance's advisory lock; a second record of the
 *   same instance (another session) meanwhile fails with a conflict instead of syncing it twice.
 * - Completion: a record's result, the session's counters and, when it was the last one, the
 *   session's final status are written in one transaction under the session row's lock, so exactly
 *   one replica finishes a session (and runs its after-sync classification).
 * - A replica that dies mid-record: its advisory lock goes with its connection; a record still
 *   `running` whose instance lock is free is failed by the next poll of any replica (after a grace
 *   period covering the moment between claim and lock), and its session completes.
 * - Stop: claims nothing more and lets the records it runs finish; pending ones are left to the
 *   other replicas (or to this one after a restart).
 */
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { ConflictError } from '../../lib/errors.js';
import { autoClassify } from '../classification/auto-classify.js';
import { INSTANCE_LOCK_NS, publishProgress, SESSION_INCLUDE, syncErrorMessage, syncOneInstance } from './sync-service.js';

/** Every replica looks for unclaimed records (and orphans) this often, whatever pub/sub delivers. */
const POLL_MS = 5000;
const ORPHAN_MESSAGE = '执行该实例同步的网关进程已停止，同步未完成';

interface Claimed {
  id: number;
  session_id: string;
  instance_id: number;
  instance_name: string | null;
}

const CLAIM_SQL = `
UPDATE sync_instance_records r SET status = 'running', started_at = now()
 WHERE r.id = (
   SELECT r2.id FROM sync_sessions s JOIN sync_instance_records r2 ON r2.session_id = s.session_id
    WHERE s.status = 'running' AND r2.status = 'pending'
    ORDER BY r2.id LIMIT 1
    FOR UPDATE OF r2 SKIP LOCKED)
   AND r.status = 'pending'
RETURNING r.id, r.session_id, r.instance_id, r.instance_name`;

export class SyncWorker {
  private readonly active = new Map<number, { sessionId: string; done: Promise<void> }>();
  /** Sessions this process is ending (final event, after-sync classification), for waitForSession. */
  readonly finishing = new Map<string, Promise<void>>();
  private claiming?: Promise<void>;
  private again = false;
  private stopped = true;
  private timer?: NodeJS.Timeout;
  private readonly onWork = () => void this.wake();

  constructor(private readonly deps: AppDeps) {}

  private get slots(): number {
    return this.deps.config.syncConcurrency;
  }

  /**
   * A record claimed longer ago than this whose instance lock is free has lost its replica. Covers the
   * moment between claim and lock, which waits for a pooled connection (DATABASE_CONNECT_TIMEOUT_MS).
   */
  private get orphanGraceMs(): number {
    return Math.max(5000, 2 * this.deps.config.databaseConnectTimeoutMs);
  }

  /** Records this process is running now. */
  get running(): number {
    return this.active.size;
  }

  /** Stopping (or stopped): claims nothing more. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Whether this process runs a record of the session right now. */
  runs(sessionId: string): boolean {
    for (const a of this.active.values()) if (a.sessionId === sessionId) return true;
    return false;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.deps.pubsub.target.addEventListener('sync.work', this.onWork);
    this.timer = setInterval(() => {
      void this.wake();
      void this.sweepOrphans();
    }, POLL_MS);
    this.timer.unref();
    void this.wake(); // work left pending by a replica that stopped
  }

  /**
   * Claims records while this process has free slots; resolves once it has claimed what it could
   * (the records then run in the background). Concurrent calls share one claiming pass.
   */
  wake(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.claiming) {
      this.again = true;
      return this.claiming;
    }
    this.claiming = (async () => {
      do {
        this.again = false;
        while (!this.stopped && this.active.size < this.slots) {
          const rec = await this.claim();
          if (!rec) break;
          const done = this.run(rec).finally(() => {
            this.active.delete(rec.id);
            void this.wake();
          });
          this.active.set(rec.id, { sessionId: rec.session_id, done });
        }
      } while (this.again && !this.stopped && this.active.size < this.slots);
    })().finally(() => (this.claiming = undefined));
    return this.claiming;
  }

  /** Takes no more records and waits (until `deadline`) for the ones running here, and their sessions' endings. */
  async stop(deadline: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.deps.pubsub.target.removeEventListener('sync.work', this.onWork);
    const left = Math.max(0, deadline - Date.now());
    await Promise.race([
      (async () => {
        await this.claiming;
        await Promise.allSettled([...this.active.values()].map((a) => a.done));
        await Promise.allSettled([...this.finishing.values()]);
      })(),
      new Promise((resolve) => setTimeout(resolve, left).unref()),
    ]);
  }

  private lastClaimError = 0;

  private async claim(): Promise<Claimed | undefined> {
    try {
      const { rows } = await this.deps.pool.query<Claimed>(CLAIM_SQL);
      return rows[0];
    } catch (err) {
      // The database is away: the poll retries; one line a minute is enough.
      if (Date.now() - this.lastClaimError > 60_000) {
        this.lastClaimError = Date.now();
        this.deps.logger.warn({ module: 'account_sync', error: (err as Error).message }, `领取同步任务失败: ${(err as Error).message}`);
      }
      return undefined;
    }
  }

  /** Syncs one claimed record under its instance's advisory lock and records the outcome. */
  private async run(rec: Claimed): Promise<void> {
    const { deps } = this;
    const log = deps.logger.child({ module: 'account_sync', session_id: rec.session_id, instance_id: rec.instance_id });
    const started = Date.now();
    let dbType = 'unknown';
    let outcome: Prisma.SyncInstanceRecordUpdateInput;
    let lock;
    try {
      // The lock first: until it is held, the orphan sweep cannot tell this run from a dead one.
      lock = await deps.pool.connect();
      const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [INSTANCE_LOCK_NS, rec.instance_id]);
      if (!got.rows[0]?.ok) throw new ConflictError('该实例正在被另一个同步任务处理，已跳过');
      try {
        dbType = (await deps.prisma.instance.findUnique({ where: { id: rec.instance_id }, select: { dbType: true } }))?.dbType ?? dbType;
        await this.publishRecord(rec.session_id, rec.id);
        const counts = await syncOneInstance(deps, rec.instance_id, rec.session_id);
        outcome = {
          status: 'completed',
          completedAt: new Date(),
          accountsSynced: counts.found,
          accountsCreated: counts.added + counts.restored,
          accountsUpdated: counts.modified,
          accountsDeleted: counts.removed,
          syncDetails: { ...counts } as Prisma.InputJsonValue,
        };
        log.info({ ...counts, duration_ms: Date.now() - started }, `实例账户同步完成: ${rec.instance_name}`);
        deps.metrics.syncDuration.observe({ db_type: dbType, outcome: 'completed' }, (Date.now() - started) / 1000);
      } finally {
        await lock.query('SELECT pg_advisory_unlock($1, $2)', [INSTANCE_LOCK_NS, rec.instance_id]).catch(() => {});
      }
    } catch (err) {
      const message = syncErrorMessage(err);
      outcome = { status: 'failed', completedAt: new Date(), errorMessage: message };
      log.warn({ error: message, duration_ms: Date.now() - started }, `实例账户同步失败: ${rec.instance_name}`);
      deps.metrics.syncDuration.observe({ db_type: dbType, outcome: 'failed' }, (Date.now() - started) / 1000);
    } finally {
      lock?.release();
    }
    // If this cannot be written (the platform database is away), the record stays `running` and the
    // orphan sweep of some replica fails it later; the session still completes.
    await this.finishRecord(rec.session_id, rec.id, outcome).catch((err: Error) => {
      log.error({ error: err.message }, `记录同步结果失败: ${err.message}`);
      return false;
    });
  }

  /** The record's `running` state to progress subscribers (the claim wrote it with plain SQL). */
  private async publishRecord(sessionId: string, recordId: number): Promise<void> {
    const session = await this.deps.prisma.syncSession.findUnique({ where: { sessionId }, include: SESSION_INCLUDE });
    if (session) publishProgress(this.deps, session, session.records.find((r) => r.id === recordId));
  }

  /**
   * Writes a record's outcome and the session's counters; the write that leaves nothing pending or
   * running also gives the session its final status (unless cancelled), all under the session's lock.
   * A record leaves `running` once: whichever of its run and the orphan sweep comes second changes
   * nothing, so a session ends exactly once.
   */
  private async finishRecord(sessionId: string, recordId: number, data: Prisma.SyncInstanceRecordUpdateInput): Promise<boolean> {
    const { deps } = this;
    // Registered before the final status commits, so a waiter that sees it also sees the ending here.
    let ending: { promise: Promise<void>; resolve: () => void } | undefined;
    const end = () => {
      if (!ending) return;
      this.finishing.delete(sessionId);
      ending.resolve();
    };
    const result = await deps.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 FROM sync_sessions WHERE session_id = ${sessionId} FOR UPDATE`;
      const updated = await tx.syncInstanceRecord.updateMany({ where: { id: recordId, status: 'running' }, data });
      if (updated.count === 0) return undefined;
      const counts = await tx.syncInstanceRecord.groupBy({ by: ['status'], where: { sessionId }, _count: { _all: true } });
      const n = (s: string) => counts.find((c) => c.status === s)?._count._all ?? 0;
      const current = await tx.syncSession.findUniqueOrThrow({ where: { sessionId }, select: { status: true } });
      const last = n('pending') + n('running') === 0;
      const failed = n('failed');
      // Never overwrite a `cancelled` session: only its counters move while it winds down.
      const status = current.status === 'running' && last ? (failed > 0 ? 'failed' : 'completed') : current.status;
      const session = await tx.syncSession.update({
        where: { sessionId },
        data: { successfulInstances: n('completed'), failedInstances: failed, ...(status !== current.status ? { status, completedAt: new Date() } : {}) },
        include: SESSION_INCLUDE,
      });
      if (last && !ending) {
        let resolve!: () => void;
        ending = { promise: new Promise<void>((r) => (resolve = r)), resolve };
        this.finishing.set(sessionId, ending.promise);
      }
      return { session, last };
    }).catch((err: unknown) => {
      end();
      throw err;
    });
    if (!result) return false;
    publishProgress(deps, result.session, result.session.records.find((r) => r.id === recordId));
    if (result.last) await this.sessionEnded(result.session).finally(end);
    return true;
  }

  /** Once per session, on the replica that wrote its last record: the log line, the final event, classification. */
  private async sessionEnded(session: Prisma.SyncSessionGetPayload<{ include: typeof SESSION_INCLUDE }>): Promise<void> {
    const { deps } = this;
    const fields = {
      module: 'account_sync',
      session_id: session.sessionId,
      status: session.status,
      total_instances: session.totalInstances,
      successful_instances: session.successfulInstances,
      failed_instances: session.failedInstances,
      duration_ms: Date.now() - session.startedAt.getTime(),
    };
    if (session.status === 'failed') deps.logger.warn(fields, `同步会话结束（有失败）: 成功 ${session.successfulInstances} 个，失败 ${session.failedInstances} 个`);
    else deps.logger.info(fields, session.status === 'cancelled' ? '同步会话已取消' : `同步会话完成: 成功 ${session.successfulInstances} 个实例`);
    publishProgress(deps, session);
    if (!deps.config.autoClassifyAfterSync || session.status === 'cancelled') return;
    await this.classifyAfterSync(session.sessionId);
  }

  /** Brings the classifications of the instances a session synced up to date (AUTO_CLASSIFY_AFTER_SYNC). */
  private async classifyAfterSync(sessionId: string): Promise<void> {
    const { deps } = this;
    try {
      const done = await deps.prisma.syncInstanceRecord.findMany({ where: { sessionId, status: 'completed' }, select: { instanceId: true } });
      if (done.length === 0) return;
      await autoClassify(deps, { instanceIds: done.map((r) => r.instanceId) }, 'after_sync', null);
    } catch (err) {
      // Another batch holds the lock (it classifies these accounts too) or the run failed: the batch
      // row and the log say so; the sync session itself succeeded.
      deps.logger.warn({ module: 'account_classification', session_id: sessionId, error: (err as Error).message }, `同步后自动分类未执行: ${(err as Error).message}`);
    }
  }

  /**
   * Fails records whose replica is gone: `running` for longer than the grace period while nobody
   * holds their instance's lock (a live run always does). Their sessions then complete as usual.
   */
  async sweepOrphans(): Promise<number> {
    if (this.stopped) return 0;
    const { deps } = this;
    let swept = 0;
    try {
      const { rows } = await deps.pool.query<{ id: number; session_id: string; instance_id: number; instance_name: string | null }>(
        `SELECT r.id, r.session_id, r.instance_id, r.instance_name
           FROM sync_sessions s JOIN sync_instance_records r ON r.session_id = s.session_id
          WHERE (s.status = 'running' OR (s.status = 'cancelled' AND s.completed_at > now() - interval '1 day'))
            AND r.status = 'running' AND r.started_at < now() - make_interval(secs => $1)`,
        [this.orphanGraceMs / 1000],
      );
      for (const r of rows) {
        if (this.active.has(r.id)) continue;
        const client = await deps.pool.connect();
        try {
          const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [INSTANCE_LOCK_NS, r.instance_id]);
          if (!got.rows[0]?.ok) continue; // someone is syncing it: alive
          try {
            const failed = await this.finishRecord(r.session_id, r.id, { status: 'failed', completedAt: new Date(), errorMessage: ORPHAN_MESSAGE });
            if (failed) {
              deps.logger.warn({ module: 'account_sync', session_id: r.session_id, instance_id: r.instance_id }, `同步记录已失效 (进程已停止): ${r.instance_name}`);
              swept++;
            }
          } finally {
            await client.query('SELECT pg_advisory_unlock($1, $2)', [INSTANCE_LOCK_NS, r.instance_id]).catch(() => {});
          }
        } finally {
          client.release();
        }
      }
    } catch {
      // The database is away: the next poll tries again.
    }
    return swept;
  }
}
