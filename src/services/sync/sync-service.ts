/**
 * Sync sessions (SPEC §2.11, §2.12, §3.9 with its [FIX]es): a session covers one instance, a set, or
 * all active instances (optionally of one db type). Its instance records are run by the sync workers
 * of every replica (sync-worker.ts): one failing instance never fails the others; cancel stops
 * instances that have not started and never overwrites the `cancelled` status; each instance is
 * guarded by a PostgreSQL advisory lock so no two replicas (or sessions) sync it at once.
 */
import { randomUUID } from 'node:crypto';
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { SyncType } from '../../generated/prisma/enums.js';
import { getAdapter } from '../../adapters/registry.js';
import { ConnectionFailure, type DbType } from '../../adapters/types.js';
import { ResourceNotFoundError, ValidationError, ConflictError } from '../../lib/errors.js';
import { subscribeNow } from '../../realtime/pubsub.js';
import { type ListQuery, pageOf, windowOf, type Page } from '../../lib/pagination.js';
import { applySnapshot, type SnapshotCounts } from './account-writer.js';
import { accountFilterFor, connInfoFor } from './connection.js';

/** Namespace of the per-instance advisory locks (pg_try_advisory_lock(ns, instance_id)). */
export const INSTANCE_LOCK_NS = 72_707_003;

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

/**
 * Creates the session with one pending record per instance, claims what this process can run at once
 * (before answering, so the caller sees them start), and wakes the other replicas for the rest.
 */
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
  publishProgress(deps, session);
  await deps.syncWorker?.wake();
  deps.pubsub.publish('sync.work', { sessionId });
  return session;
}

const TERMINAL_RECORD = new Set(['completed', 'failed', 'cancelled']);

/**
 * Resolves once the session has ended (final status, every record finished) on whichever replica ran
 * it, including its after-sync classification when that ran in this process; or after `timeoutMs`;
 * or when this gateway is stopping and runs none of the session's records (others finish it).
 */
export async function waitForSession(deps: AppDeps, sessionId: string, timeoutMs = 24 * 3600_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const live = subscribeNow(deps.pubsub, 'sync.progress', sessionId);
  try {
    for (;;) {
      const s = await deps.prisma.syncSession.findUnique({ where: { sessionId }, include: SESSION_INCLUDE });
      if (!s) return;
      if (s.status !== 'running' && s.records.every((r) => TERMINAL_RECORD.has(r.status))) {
        await deps.syncWorker?.finishing.get(sessionId);
        return;
      }
      const left = until - Date.now();
      if (left <= 0) return;
      // This gateway is stopping and runs nothing of the session any more: the rest happens elsewhere.
      if (deps.syncWorker?.stopping && !deps.syncWorker.runs(sessionId)) return;
      // Progress events say when to look again; the poll covers events that cannot arrive (Redis away).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([live.next(), new Promise((r) => (timer = setTimeout(r, Math.min(1000, left))))]);
      clearTimeout(timer);
    }
  } finally {
    await live.return?.();
  }
}

/** Reads one instance's accounts through its adapter and writes them; updates the instance row. */
export async function syncOneInstance(deps: AppDeps, instanceId: number, sessionId: string): Promise<SnapshotCounts> {
  const instance = await deps.prisma.instance.findUnique({ where: { id: instanceId } });
  if (!instance || instance.deletedAt) throw new ResourceNotFoundError('实例不存在');
  const conn = await connInfoFor(deps, instance);
  const adapter = getAdapter(instance.dbType as DbType);
  const filter = await accountFilterFor(deps, instance.dbType as DbType);
  let snapshot;
  try {
    snapshot = await adapter.fetchAccounts(conn, filter);
  } catch (err) {
    if (err instanceof ConnectionFailure) {
      await deps.prisma.instance.update({ where: { id: instanceId }, data: { connectionStatus: 'unreachable', lastConnectionError: err.message } });
    }
    throw err;
  }
  const counts = await applySnapshot(deps.prisma, instance, snapshot.accounts, sessionId);
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
  return counts;
}

export function syncErrorMessage(err: unknown): string {
  if (err instanceof ConnectionFailure) return `数据库连接问题: ${err.message}`;
  const msg = (err as Error)?.message ?? String(err);
  if (/permission|denied|privilege|权限/i.test(msg)) return `数据库权限不足: ${msg}`;
  if (err instanceof ConflictError || err instanceof ValidationError || err instanceof ResourceNotFoundError) return msg;
  return `同步失败: ${msg}`.slice(0, 2000);
}

/**
 * Marks a running session cancelled; its instances that have not started are cancelled with it, the
 * ones running finish (on whichever replica runs them). The session's final event is published when
 * nothing runs any more (here, or by the replica whose record ends last).
 */
export async function cancelSession(deps: AppDeps, sessionId: string, actorId: number): Promise<SessionWithRecords> {
  const now = new Date();
  const result = await deps.prisma.$transaction(async (tx) => {
    const res = await tx.syncSession.updateMany({ where: { sessionId, status: 'running' }, data: { status: 'cancelled', completedAt: now } });
    if (res.count === 0) return undefined;
    await tx.syncInstanceRecord.updateMany({ where: { sessionId, status: 'pending' }, data: { status: 'cancelled', completedAt: now, errorMessage: '会话已取消，未执行' } });
    return tx.syncInstanceRecord.count({ where: { sessionId, status: 'running' } });
  });
  if (result === undefined) {
    const exists = await deps.prisma.syncSession.findUnique({ where: { sessionId }, select: { status: true } });
    if (!exists) throw new ResourceNotFoundError('会话不存在', { session_id: sessionId });
    throw new ConflictError('取消会话失败，会话已结束', { status: exists.status });
  }
  deps.logger.info({ module: 'account_sync', session_id: sessionId, actor_id: actorId }, '同步会话被取消');
  const session = await getSession(deps, sessionId);
  publishProgress(deps, session);
  if (result === 0) deps.logger.info({ module: 'account_sync', session_id: sessionId, status: 'cancelled', total_instances: session.totalInstances }, '同步会话已取消');
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

export function publishProgress(deps: AppDeps, s: SessionWithRecords, record?: SyncRecord): void {
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
