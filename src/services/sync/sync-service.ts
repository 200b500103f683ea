/**
 * Sync sessions (SPEC §2.11, §2.12, §3.9 with its [FIX]es): a session covers one instance, a set, or
 * all active instances (optionally of one db type). Its per-instance records are queued work that
 * every replica's SyncWorker takes (sync-worker.ts), up to SYNC_CONCURRENCY per replica; one failing
 * instance never fails the others; cancel stops instances that have not started and never overwrites
 * the `cancelled` status. Each instance is guarded by a PostgreSQL advisory lock so two replicas never
 * sync the same instance at once. Whichever replica ends a session's last record settles it.
 */
import { randomUUID } from 'node:crypto';
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { SyncType } from '../../generated/prisma/enums.js';
import { getAdapter } from '../../adapters/registry.js';
import { ConnectionFailure, type DbType, type UnifiedAccount } from '../../adapters/types.js';
import { COLLECTOR_SCRIPTS, MissingRightsError, missingOptional } from '../../adapters/rights.js';
import { ResourceNotFoundError, ValidationError, ConflictError } from '../../lib/errors.js';
import { type ListQuery, pageOf, windowOf, type Page } from '../../lib/pagination.js';
import { applySnapshot, type SnapshotCounts } from './account-writer.js';
import { accountFilterFor, connInfoFor } from './connection.js';
import { autoClassify } from '../classification/auto-classify.js';
import { evaluateAlertsAfterSync } from '../alerts/alert-service.js';
import { checkDriftAfterSync } from '../drift/drift-service.js';
import { subscribeNow } from '../../realtime/pubsub.js';
import { AsyncQueue } from '../../lib/async-queue.js';

/** Namespace of the per-instance advisory locks (pg_try_advisory_lock(ns, instance_id)). */
const INSTANCE_LOCK_NS = 72_707_003;

export const SESSION_INCLUDE = { records: { orderBy: { id: 'asc' } } } satisfies Prisma.SyncSessionInclude;
export type SessionWithRecords = Prisma.SyncSessionGetPayload<{ include: typeof SESSION_INCLUDE }>;
export type SyncRecord = SessionWithRecords['records'][number];

export interface SyncScope {
  instanceIds?: number[];
  dbType?: DbType;
}

export function progressPercentage(s: { totalInstances: number; successfulInstances: number; failedInstances: number }): number {
  return s.totalInstances === 0 ? 0 : Math.round(((s.successfulInstances + s.failedInstances) / s.totalInstances) * 10_000) / 100;
}

/** Creates the session with one pending record per instance and starts it in the background. */
export async function startSync(
  deps: AppDeps,
  opts: { scope: SyncScope; syncType: SyncType; createdBy?: number | null },
): Promise<SessionWithRecords> {
  const where: Prisma.InstanceWhereInput = {
    isActive: true,
    deletedAt: null,
    ...(opts.scope.instanceIds ? { id: { in: opts.scope.instanceIds } } : {}),
    ...(opts.scope.dbType ? { dbType: opts.scope.dbType } : {}),
  };
  const instances = await deps.prisma.instance.findMany({ where, select: { id: true, name: true }, orderBy: { id: 'asc' } });
  if (opts.scope.instanceIds?.length === 1 && instances.length === 0) {
    const exists = await deps.prisma.instance.findFirst({ where: { id: opts.scope.instanceIds[0], deletedAt: null }, select: { isActive: true } });
    if (!exists) throw new ResourceNotFoundError('实例不存在', { instance_id: opts.scope.instanceIds[0] });
    throw new ValidationError('实例未启用，无法同步', { instance_id: opts.scope.instanceIds[0] }, 422);
  }
  if (instances.length === 0) throw new ValidationError('没有找到活跃的数据库实例', {}, 422);

  const sessionId = randomUUID();
  const session = await deps.prisma.syncSession.create({
    data: {
      sessionId,
      syncType: opts.syncType,
      syncCategory: 'account',
      status: 'running',
      totalInstances: instances.length,
      createdBy: opts.createdBy ?? null,
      records: { create: instances.map((i) => ({ instanceId: i.id, instanceName: i.name, status: 'pending' as const })) },
    },
    include: SESSION_INCLUDE,
  });
  deps.logger.info(
    { module: 'account_sync', session_id: sessionId, sync_type: opts.syncType, total_instances: instances.length, created_by: opts.createdBy ?? null },
    `同步会话开始: ${instances.length} 个实例`,
  );
  publish(deps, session);
  // Work for every replica's worker: this one's at once, the others' through pub/sub.
  deps.syncWorker?.poke();
  deps.pubsub.publish('sync.work', { sessionId });
  return session;
}

/**
 * Resolves when the session has settled (every record ended), whichever replica ran it. Woken by the
 * session's progress events, and checks the database at least every second in case one was missed.
 * The subscription listens from the start (nothing published meanwhile is lost) and one read of it
 * stays pending across polls: a read abandoned to the timer would swallow the next event, leaving
 * the settle to the poll (up to a second late on every waited sync).
 */
export async function waitForSession(deps: AppDeps, sessionId: string, signal?: AbortSignal): Promise<void> {
  const events = subscribeNow(deps.pubsub, 'sync.progress', sessionId);
  let next = events.next();
  try {
    for (;;) {
      const s = await deps.prisma.syncSession.findUnique({ where: { sessionId }, select: { settledAt: true } });
      if (!s || s.settledAt || signal?.aborted) return;
      let timer: NodeJS.Timeout | undefined;
      const woken = await Promise.race([next.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), 1000)))]);
      clearTimeout(timer);
      if (woken) next = events.next();
    }
  } finally {
    void events.return?.();
  }
}

/** Brings the classifications of the instances a session synced up to date (AUTO_CLASSIFY_AFTER_SYNC). */
async function classifyAfterSync(deps: AppDeps, sessionId: string): Promise<void> {
  const done = await deps.prisma.syncInstanceRecord.findMany({ where: { sessionId, status: 'completed' }, select: { instanceId: true } });
  if (done.length === 0) return;
  try {
    await autoClassify(deps, { instanceIds: done.map((r) => r.instanceId) }, 'after_sync', null);
  } catch (err) {
    // Another batch holds the lock (it classifies these accounts too) or the run failed: the batch
    // row and the log say so; the sync session itself succeeded.
    deps.logger.warn({ module: 'account_classification', session_id: sessionId, error: (err as Error).message }, `同步后自动分类未执行: ${(err as Error).message}`);
  }
}

/** A record taken off the queue by a worker (already marked running, with this replica as its node). */
export interface ClaimedRecord {
  id: number;
  sessionId: string;
  instanceId: number;
  instanceName: string | null;
}

/** Syncs one record's instance under its advisory lock, records the outcome, settles the session if it was the last. */
export async function runRecord(deps: AppDeps, rec: ClaimedRecord): Promise<void> {
  const { sessionId } = rec;
  const log = deps.logger.child({ module: 'account_sync', session_id: sessionId, instance_id: rec.instanceId });
  const started = new Date();
  await afterRecordChange(deps, sessionId, rec.id).catch(() => {});
  const lock = await deps.pool.connect();
  const dbType = (await deps.prisma.instance.findUnique({ where: { id: rec.instanceId }, select: { dbType: true } }).catch(() => null))?.dbType ?? 'unknown';
  try {
    const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [INSTANCE_LOCK_NS, rec.instanceId]);
    if (!got.rows[0]?.ok) throw new ConflictError('该实例正在被另一个同步任务处理，已跳过');
    try {
      const { missingOptionalRights, phasesMs, ...counts } = await syncOneInstance(deps, rec.instanceId, sessionId);
      await updateRecord(deps, sessionId, rec.id, {
        status: 'completed',
        completedAt: new Date(),
        accountsSynced: counts.found,
        accountsCreated: counts.added + counts.restored,
        accountsUpdated: counts.modified,
        accountsDeleted: counts.removed,
        syncDetails: { ...counts, ...(missingOptionalRights.length ? { missing_optional_rights: missingOptionalRights } : {}) } as Prisma.InputJsonValue,
      });
      log.info({ ...counts, duration_ms: Date.now() - started.getTime(), phases_ms: phasesMs }, `实例账户同步完成: ${rec.instanceName}`);
      await checkDriftAfterSync(deps, rec.instanceId, sessionId); // never throws; under the instance lock, before the session settles
      deps.metrics.syncDuration.observe({ db_type: dbType, outcome: 'completed' }, (Date.now() - started.getTime()) / 1000);
      await evaluateAlertsAfterSync(deps, sessionId, rec.instanceId); // never throws; before the session settles
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1, $2)', [INSTANCE_LOCK_NS, rec.instanceId]).catch(() => {});
    }
  } catch (err) {
    const message = syncErrorMessage(err);
    const missingRights = err instanceof MissingRightsError ? err.missing : undefined;
    await updateRecord(deps, sessionId, rec.id, {
      status: 'failed',
      completedAt: new Date(),
      errorMessage: message,
      ...(missingRights ? { syncDetails: { missing_rights: missingRights } } : {}),
    }).catch(() => {});
    log.warn({ error: message, missing_rights: missingRights, duration_ms: Date.now() - started.getTime() }, `实例账户同步失败: ${rec.instanceName}`);
    deps.metrics.syncDuration.observe({ db_type: dbType, outcome: 'failed' }, (Date.now() - started.getTime()) / 1000);
  } finally {
    lock.release();
  }
  await settleSession(deps, sessionId);
}

/**
 * Reads one instance's accounts through its adapter and writes them; updates the instance row.
 * Never marks accounts deleted because the collector saw less than before: the adapter refuses to
 * read without its required rights (MissingRightsError, nothing written), and an empty read of an
 * instance that has accounts is refused as well (EmptySnapshotError), whatever its cause.
 */
export async function syncOneInstance(
  deps: AppDeps,
  instanceId: number,
  sessionId: string,
): Promise<SnapshotCounts & { missingOptionalRights: string[]; phasesMs: { read: number; write: number } }> {
  const instance = await deps.prisma.instance.findUnique({ where: { id: instanceId } });
  if (!instance || instance.deletedAt) throw new ResourceNotFoundError('实例不存在');
  const conn = await connInfoFor(deps, instance);
  const adapter = getAdapter(instance.dbType as DbType);
  const filter = await accountFilterFor(deps, instance.dbType as DbType);
  // The accounts go to the writer as the adapter reads them (adapters that read in parts hand each
  // one over as it completes, the others everything at the end): the writer's transaction opens with
  // the first part and writes while the rest is read. A failed read fails the writer too: nothing
  // is written.
  const parts = new AsyncQueue<UnifiedAccount[]>();
  let handedOver = false;
  const written = applySnapshot(deps.pool, instance, parts, sessionId);
  written.catch(() => {}); // awaited below, after the read
  const abandon = async (err: unknown) => {
    parts.fail(err);
    await written.catch(() => {});
    throw err;
  };
  let snapshot;
  // Where a slow sync spends its time (logged with the outcome): the engine's catalogs, or our writes
  // after the read ended (the writes made during the read overlap it).
  const t0 = performance.now();
  try {
    snapshot = await adapter.fetchAccounts(conn, filter, (part) => {
      handedOver = true;
      parts.push(part);
    });
  } catch (err) {
    if (err instanceof ConnectionFailure) {
      await deps.prisma.instance.update({ where: { id: instanceId }, data: { connectionStatus: 'unreachable', lastConnectionError: err.message } }).catch(() => {});
    }
    return abandon(err);
  }
  if (snapshot.accounts.length === 0) {
    // Whatever happens here, the writer (still waiting for its first part) is told.
    const stored = await deps.prisma.currentAccount.count({ where: { instanceId, isDeleted: false } }).catch(abandon);
    if (stored > 0) return abandon(new EmptySnapshotError(stored, COLLECTOR_SCRIPTS[instance.dbType as DbType]));
  }
  const optional = missingOptional(snapshot.rights).map((r) => r.right);
  if (optional.length) {
    deps.logger.warn(
      { module: 'account_sync', session_id: sessionId, instance_id: instanceId, missing_optional_rights: optional },
      `采集账号缺少可选权限，部分信息为未知: ${optional.join('；')}`,
    );
  }
  const t1 = performance.now();
  if (!handedOver) parts.push(snapshot.accounts);
  parts.end();
  const counts = await written;
  const phasesMs = { read: Math.round(t1 - t0), write: Math.round(performance.now() - t1) };
  const now = new Date();
  await deps.prisma.instance.update({
    where: { id: instanceId },
    data: {
      lastConnected: now,
      lastSyncAt: now,
      connectionStatus: 'reachable',
      lastConnectionError: null,
      syncCount: { increment: 1 },
      databaseVersion: snapshot.version.raw.slice(0, 1000),
      mainVersion: snapshot.version.main.slice(0, 20),
      detailedVersion: snapshot.version.detailed.slice(0, 50),
    },
  });
  return { ...counts, missingOptionalRights: optional, phasesMs };
}

/** The collector read no account at all from an instance whose stored snapshot has some. */
export class EmptySnapshotError extends Error {
  constructor(stored: number, script: string) {
    super(`采集结果为空，而该实例已有 ${stored} 个账户：为避免误将全部账户标记为删除，本次未做任何修改。请检查采集账号的权限（${script}）和账户过滤配置`);
  }
}

function syncErrorMessage(err: unknown): string {
  if (err instanceof ConnectionFailure) return `数据库连接问题: ${err.message}`;
  if (err instanceof MissingRightsError) return `数据库权限不足: ${err.message}`;
  if (err instanceof EmptySnapshotError) return err.message;
  const msg = (err as Error)?.message ?? String(err);
  if (/permission|denied|privilege|权限/i.test(msg)) return `数据库权限不足: ${msg}`;
  if (err instanceof ConflictError || err instanceof ValidationError || err instanceof ResourceNotFoundError) return msg;
  return `同步失败: ${msg}`.slice(0, 2000);
}

async function updateRecord(deps: AppDeps, sessionId: string, recordId: number, data: Prisma.SyncInstanceRecordUpdateInput): Promise<void> {
  await deps.prisma.syncInstanceRecord.update({ where: { id: recordId }, data });
  await afterRecordChange(deps, sessionId, recordId);
}

/**
 * Recounts the session's outcomes and publishes its progress with the changed record. One statement,
 * skipped once the session is settled: two records ending together each recount, and the slower
 * one's count (read before the other ended) must never land over the settler's final figures. The
 * statement waits on the settler's row lock and then sees `settled_at` set.
 */
export async function afterRecordChange(deps: AppDeps, sessionId: string, recordId: number): Promise<void> {
  // Never overwrite a `cancelled` session: only counters move while it winds down.
  // Through Prisma's pool, as the ORM update it replaced: while the settler holds the row, this
  // waits on it, and must not take a connection from the pool the settler's classification needs.
  await deps.prisma.$executeRaw`
    UPDATE sync_sessions s
       SET successful_instances = (SELECT count(*) FROM sync_instance_records r WHERE r.session_id = s.session_id AND r.status = 'completed'),
           failed_instances = (SELECT count(*) FROM sync_instance_records r WHERE r.session_id = s.session_id AND r.status = 'failed'),
           updated_at = now()
     WHERE s.session_id = ${sessionId} AND s.settled_at IS NULL`;
  const session = await deps.prisma.syncSession.findUnique({ where: { sessionId }, include: SESSION_INCLUDE });
  if (session) publish(deps, session, session.records.find((r) => r.id === recordId));
}

/**
 * Writes the final status once no record is pending or running: only one replica's statement finds
 * the session unsettled (the row lock serialises them and the second sees settled_at set). That
 * replica logs the end and runs the after-sync classification.
 */
export async function settleSession(deps: AppDeps, sessionId: string): Promise<void> {
  // The settler holds the session row (FOR UPDATE) from the decision to the final write: a second
  // replica ending a record at the same moment waits, then finds it settled. The after-sync
  // classification runs in between, so a session is settled (and `?wait=true` answers) once its
  // accounts are classified, as a DBA expects. Should this replica die meanwhile, nothing is
  // written and the sync worker's stale check settles the session later.
  const client = await deps.pool.connect();
  let settled: { status: string; started_at: Date } | undefined;
  try {
    await client.query('BEGIN');
    const { rows: open } = await client.query<{ status: string; open: number }>(
      `SELECT s.status, (SELECT count(*) FROM sync_instance_records r WHERE r.session_id = $1 AND r.status IN ('pending', 'running'))::int AS open
         FROM sync_sessions s WHERE s.session_id = $1 AND s.settled_at IS NULL FOR UPDATE OF s`,
      [sessionId],
    );
    if (!open[0] || open[0].open > 0) {
      await client.query('ROLLBACK');
      return;
    }
    if (deps.config.autoClassifyAfterSync && open[0].status !== 'cancelled') await classifyAfterSync(deps, sessionId);
    // The counters are recounted here: updates of concurrently ending records may have written them
    // out of order, while this statement runs after the last record ended.
    const { rows } = await client.query<{ status: string; started_at: Date }>(
      `WITH c AS (
         SELECT count(*) FILTER (WHERE status = 'completed') AS ok, count(*) FILTER (WHERE status = 'failed') AS bad
           FROM sync_instance_records WHERE session_id = $1)
       UPDATE sync_sessions s
          SET status = (CASE WHEN s.status = 'cancelled' THEN 'cancelled' WHEN c.bad > 0 THEN 'failed' ELSE 'completed' END)::"SyncSessionStatus",
              successful_instances = c.ok, failed_instances = c.bad,
              completed_at = COALESCE(s.completed_at, now()), settled_at = now(), updated_at = now()
         FROM c
        WHERE s.session_id = $1
        RETURNING s.status, s.started_at`,
      [sessionId],
    );
    await client.query('COMMIT');
    settled = rows[0];
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  if (!settled) return;
  const session = await getSession(deps, sessionId);
  publish(deps, session);
  const fields = {
    module: 'account_sync',
    session_id: sessionId,
    status: session.status,
    total_instances: session.totalInstances,
    successful_instances: session.successfulInstances,
    failed_instances: session.failedInstances,
    duration_ms: Date.now() - settled.started_at.getTime(),
  };
  if (session.status === 'failed') deps.logger.warn(fields, `同步会话结束（有失败）: 成功 ${session.successfulInstances} 个，失败 ${session.failedInstances} 个`);
  else deps.logger.info(fields, session.status === 'cancelled' ? '同步会话已取消' : `同步会话完成: 成功 ${session.successfulInstances} 个实例`);
}

/** Marks a running session cancelled; instances not yet started will not run (on any replica). */
export async function cancelSession(deps: AppDeps, sessionId: string, actorId: number): Promise<SessionWithRecords> {
  const now = new Date();
  const cancelled = await deps.prisma.$transaction(async (tx) => {
    const res = await tx.syncSession.updateMany({ where: { sessionId, status: 'running' }, data: { status: 'cancelled', completedAt: now } });
    if (res.count === 0) return false;
    // Workers only take records of running sessions, so none of these can start any more.
    await tx.syncInstanceRecord.updateMany({ where: { sessionId, status: 'pending' }, data: { status: 'cancelled', completedAt: now, errorMessage: '会话已取消，未执行' } });
    return true;
  });
  if (!cancelled) {
    const exists = await deps.prisma.syncSession.findUnique({ where: { sessionId }, select: { status: true } });
    if (!exists) throw new ResourceNotFoundError('会话不存在', { session_id: sessionId });
    throw new ConflictError('取消会话失败，会话已结束', { status: exists.status });
  }
  deps.logger.info({ module: 'account_sync', session_id: sessionId, actor_id: actorId }, '同步会话被取消');
  // With nothing running, the session settles now; otherwise when its running records end.
  await settleSession(deps, sessionId);
  const session = await getSession(deps, sessionId);
  publish(deps, session);
  return session;
}

export async function getSession(deps: AppDeps, sessionId: string): Promise<SessionWithRecords> {
  const s = await deps.prisma.syncSession.findUnique({ where: { sessionId }, include: SESSION_INCLUDE });
  if (!s) throw new ResourceNotFoundError('会话不存在', { session_id: sessionId });
  return s;
}

export interface ListSessionsQuery extends ListQuery {
  status?: string;
  syncType?: string;
  syncCategory?: string;
  startDate?: Date;
  endDate?: Date;
}

export async function listSessions(deps: AppDeps, q: ListSessionsQuery): Promise<Page<SessionWithRecords>> {
  const where: Prisma.SyncSessionWhereInput = {
    ...(q.status ? { status: q.status as never } : {}),
    ...(q.syncType ? { syncType: q.syncType as never } : {}),
    ...(q.syncCategory ? { syncCategory: q.syncCategory as never } : {}),
    ...(q.startDate || q.endDate ? { createdAt: { ...(q.startDate ? { gte: q.startDate } : {}), ...(q.endDate ? { lte: q.endDate } : {}) } } : {}),
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.syncSession.findMany({ where, include: SESSION_INCLUDE, orderBy: [{ [q.sort]: q.order }, { id: q.order }], skip: w.offset, take: w.limit }),
    deps.prisma.syncSession.count({ where }),
  ]);
  return pageOf(items, total, w);
}

/** SPEC §3.9 statistics, counted over all sessions (upstream's "latest 100" window dropped). */
export async function syncStatistics(deps: AppDeps) {
  const [byStatus, byType, byCategory] = await Promise.all([
    deps.prisma.syncSession.groupBy({ by: ['status'], _count: { _all: true } }),
    deps.prisma.syncSession.groupBy({ by: ['syncType'], _count: { _all: true } }),
    deps.prisma.syncSession.groupBy({ by: ['syncCategory'], _count: { _all: true } }),
  ]);
  const c = <T extends string>(rows: Array<{ _count: { _all: number } } & Record<string, unknown>>, key: string, v: T) =>
    rows.find((r) => r[key] === v)?._count._all ?? 0;
  const total = byStatus.reduce((a, r) => a + r._count._all, 0);
  return {
    totalSessions: total,
    runningSessions: c(byStatus, 'status', 'running'),
    completedSessions: c(byStatus, 'status', 'completed'),
    failedSessions: c(byStatus, 'status', 'failed'),
    cancelledSessions: c(byStatus, 'status', 'cancelled'),
    scheduledSessions: c(byType, 'syncType', 'scheduled_task'),
    manualSessions: c(byType, 'syncType', 'manual_batch') + c(byType, 'syncType', 'manual_single') + c(byType, 'syncType', 'manual_task'),
    byCategory: {
      account: c(byCategory, 'syncCategory', 'account'),
      capacity: c(byCategory, 'syncCategory', 'capacity'),
      config: c(byCategory, 'syncCategory', 'config'),
      other: c(byCategory, 'syncCategory', 'other'),
    },
  };
}

function publish(deps: AppDeps, s: SessionWithRecords, record?: SyncRecord): void {
  const event = {
    sessionId: s.sessionId,
    status: s.status,
    totalInstances: s.totalInstances,
    successfulInstances: s.successfulInstances,
    failedInstances: s.failedInstances,
    ...(record
      ? {
          instanceId: record.instanceId,
          instanceName: record.instanceName ?? undefined,
          instanceStatus: record.status,
          message: record.errorMessage ?? undefined,
        }
      : {}),
  };
  deps.pubsub.publish('sync.progress', s.sessionId, event);
}
