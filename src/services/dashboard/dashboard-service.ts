/**
 * Dashboard figures (SPEC §3.11). Each figure comes from the module that owns it (instance, user,
 * sync, log statistics), so the dashboard and the per-module endpoints always agree; each endpoint is
 * a handful of aggregate queries, cached in-process for CACHE_TTL_MS.
 */
import os from 'node:os';
import type { AppDeps } from '../../deps.js';
import { instanceStatistics } from '../inventory/instance-service.js';
import { userStats } from '../users/user-service.js';
import { syncStatistics } from '../sync/sync-service.js';
import { logStatistics } from '../logs/log-service.js';
import { checkDatabase, checkRedis } from '../health/health-service.js';
import { pageOf, windowOf } from '../../lib/pagination.js';

const CACHE_TTL_MS = 5_000;
const cache = new Map<string, { at: number; value: Promise<unknown> }>();

function cached<T>(key: string, compute: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.value as Promise<T>;
  const value = compute();
  cache.set(key, { at: Date.now(), value });
  value.catch(() => cache.delete(key));
  return value;
}

const startOfUtcDay = (d = new Date()) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

export function overview(deps: AppDeps) {
  return cached('overview', async () => {
    const today = startOfUtcDay();
    const [instances, users, sync, logs, accounts, classified, perClass, jobs, sessionsToday] = await Promise.all([
      instanceStatistics(deps),
      userStats(deps),
      syncStatistics(deps),
      logStatistics(deps, { hours: 24 }),
      deps.prisma.$queryRaw<Array<{ total: number; active: number; locked: number; superuser: number; deleted: number }>>`
        SELECT count(*) FILTER (WHERE NOT a.is_deleted)::int AS total,
               count(*) FILTER (WHERE NOT a.is_deleted AND a.is_active)::int AS active,
               count(*) FILTER (WHERE NOT a.is_deleted AND a.is_locked)::int AS locked,
               count(*) FILTER (WHERE NOT a.is_deleted AND a.is_superuser)::int AS superuser,
               count(*) FILTER (WHERE a.is_deleted)::int AS deleted
          FROM current_account_sync_data a JOIN instances i ON i.id = a.instance_id WHERE i.deleted_at IS NULL`,
      deps.prisma.$queryRaw<Array<{ n: number }>>`
        SELECT count(DISTINCT s.account_id)::int AS n FROM account_classification_assignments s
          JOIN current_account_sync_data a ON a.id = s.account_id WHERE s.is_active AND NOT a.is_deleted`,
      deps.prisma.$queryRaw<Array<{ id: number; name: string; color: string | null; priority: number; count: number }>>`
        SELECT c.id, c.name, c.color, c.priority, count(DISTINCT a.id)::int AS count
          FROM account_classifications c
          LEFT JOIN account_classification_assignments s ON s.classification_id = c.id AND s.is_active
          LEFT JOIN current_account_sync_data a ON a.id = s.account_id AND NOT a.is_deleted
         WHERE c.is_active GROUP BY c.id ORDER BY c.priority DESC, c.name`,
      deps.prisma.$queryRaw<Array<{ total: number; enabled: number; paused: number }>>`
        SELECT count(*)::int AS total, count(*) FILTER (WHERE is_enabled)::int AS enabled,
               count(*) FILTER (WHERE is_enabled AND is_paused)::int AS paused FROM scheduled_jobs`,
      deps.prisma.syncSession.groupBy({ by: ['status'], where: { createdAt: { gte: today } }, _count: { _all: true } }),
    ]);
    const acc = accounts[0]!;
    const n = (s: string) => sessionsToday.find((x) => x.status === s)?._count._all ?? 0;
    return {
      instances: {
        total: instances.totalInstances,
        active: instances.activeInstances,
        inactive: instances.inactiveInstances,
        reachable: instances.reachableInstances,
        unreachable: instances.unreachableInstances,
        byType: instances.dbTypeStats,
      },
      accounts: { total: acc.total, active: acc.active, locked: acc.locked, superuser: acc.superuser, deleted: acc.deleted },
      classifiedAccounts: { total: classified[0]!.n, unclassified: acc.total - classified[0]!.n, classifications: perClass },
      users: { total: users.total, active: users.active },
      jobs: jobs[0]!,
      syncSessionsToday: { total: sessionsToday.reduce((a, x) => a + x._count._all, 0), completed: n('completed'), failed: n('failed'), running: n('running'), cancelled: n('cancelled') },
      syncSessions: { total: sync.totalSessions, failed: sync.failedSessions },
      logs: { last24h: logs.totalLogs, errorsLast24h: logs.errorCount },
    };
  });
}

/** Daily UTC series over the last `days` days (today included), zero-filled. */
export function charts(deps: AppDeps, days: number) {
  return cached(`charts:${days}`, async () => {
    const end = new Date();
    const start = new Date(startOfUtcDay(end).getTime() - (days - 1) * 86_400_000);
    const [logs, sessions, changes] = await Promise.all([
      logStatistics(deps, { startDate: start, endDate: end, bucket: 'day' }),
      deps.prisma.$queryRaw<Array<{ d: Date; status: string; n: number }>>`
        SELECT date_trunc('day', created_at AT TIME ZONE 'UTC') AS d, status::text, count(*)::int AS n
          FROM sync_sessions WHERE created_at >= ${start} GROUP BY 1, 2`,
      deps.prisma.$queryRaw<Array<{ d: Date; change_type: string; n: number }>>`
        SELECT date_trunc('day', change_time AT TIME ZONE 'UTC') AS d, change_type, count(*)::int AS n
          FROM account_change_log WHERE change_time >= ${start} GROUP BY 1, 2`,
    ]);
    const dates = Array.from({ length: days }, (_, i) => new Date(start.getTime() + i * 86_400_000).toISOString().slice(0, 10));
    const key = (d: Date) => new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate())).toISOString().slice(0, 10);
    const pivot = <R extends { d: Date; n: number }>(rows: R[], by: (r: R) => string) =>
      dates.map((date) => {
        const out: Record<string, number | string> = { date };
        for (const r of rows) if (key(r.d) === date) out[by(r)] = ((out[by(r)] as number) ?? 0) + r.n;
        return out;
      });
    return {
      logTrend: logs.buckets.map((b) => ({ date: b.start.slice(0, 10), total: b.total, errors: b.errors, warnings: b.warnings })),
      syncTrend: pivot(sessions, (r) => r.status),
      accountChangeTrend: pivot(changes, (r) => r.change_type),
    };
  });
}

export async function systemStatus(deps: AppDeps) {
  const [database, redis, lastSync, running] = await Promise.all([
    checkDatabase(deps),
    checkRedis(deps),
    deps.prisma.syncSession.findFirst({ where: { status: 'completed' }, orderBy: { completedAt: 'desc' }, select: { sessionId: true, completedAt: true } }),
    deps.prisma.syncSession.count({ where: { status: 'running' } }),
  ]);
  const mem = process.memoryUsage();
  const uptime = Math.round((Date.now() - deps.startedAt.getTime()) / 1000);
  return {
    version: deps.config.version,
    uptimeSeconds: uptime,
    memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, systemTotalBytes: os.totalmem(), systemFreeBytes: os.freemem() },
    loadAverage: os.loadavg(),
    services: { database: database.status, redis: redis.status, scheduler: deps.scheduler ? 'running' : 'stopped' },
    lastSuccessfulSync: lastSync ? { sessionId: lastSync.sessionId, completedAt: lastSync.completedAt } : null,
    runningSessions: running,
  };
}

/** Modules whose entries are "notable events": logins, syncs, classification, jobs, configuration. */
export const ACTIVITY_MODULES = ['auth', 'account_sync', 'account_classification', 'scheduler', 'instances', 'credentials', 'users'];

export async function activities(deps: AppDeps, q: { page: number; perPage: number; first?: number; after?: number }) {
  const where = { module: { in: ACTIVITY_MODULES }, level: { in: ['INFO', 'WARNING', 'ERROR', 'CRITICAL'] as Array<'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL'> } };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.unifiedLog.findMany({ where, orderBy: { id: 'desc' }, skip: w.offset, take: w.limit }),
    deps.prisma.unifiedLog.count({ where }),
  ]);
  return pageOf(items, total, w);
}
