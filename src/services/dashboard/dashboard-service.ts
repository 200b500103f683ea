/**
 * Dashboard figures (SPEC §3.11). Each figure comes from the module that owns it (instance, user,
 * sync, log statistics), so the dashboard and the per-module endpoints always agree; each endpoint is
 * a handful of aggregate queries (never one per row), cached for FIGURE_CACHE_TTL_SECONDS in Redis
 * when configured (shared by replicas), in-process otherwise.
 */
import os from 'node:os';
import type { AppDeps } from '../../deps.js';
import { instanceStatistics } from '../inventory/instance-service.js';
import { userStats } from '../users/user-service.js';
import { syncStatistics } from '../sync/sync-service.js';
import { logStatistics } from '../logs/log-service.js';
import { checkDatabase, checkRedis } from '../health/health-service.js';
import { pageOf, windowOf } from '../../lib/pagination.js';


export const startOfUtcDay = (d = new Date()) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

export function overview(deps: AppDeps) {
  return deps.figures.get('dashboard:overview', async () => {
    const today = startOfUtcDay();
    const [instances, users, sync, logs, accounts, classified, perClass, jobs, sessionsToday] = await Promise.all([
      instanceStatistics(deps),
      userStats(deps),
      syncStatistics(deps),
      logStatistics(deps, { hours: 24 }),
      // One row per instance, kept by triggers (account_figures): no scan of the accounts.
      deps.prisma.$queryRaw<Array<{ total: number; active: number; locked: number; superuser: number; deleted: number }>>`
        SELECT coalesce(sum(f.total), 0)::int AS total, coalesce(sum(f.active), 0)::int AS active, coalesce(sum(f.locked), 0)::int AS locked,
               coalesce(sum(f.superuser), 0)::int AS superuser, coalesce(sum(f.deleted), 0)::int AS deleted
          FROM account_figures f JOIN instances i ON i.id = f.instance_id WHERE i.deleted_at IS NULL`,
      // Assignments of deleted accounts are deactivated with the account (account-writer), so the
      // active ones can be counted without visiting the accounts; an account holds at most one active
      // assignment per classification (assign refuses a second, auto-classify adds only missing ones).
      deps.prisma.$queryRaw<Array<{ n: number }>>`
        SELECT count(DISTINCT account_id)::int AS n FROM account_classification_assignments WHERE is_active`,
      deps.prisma.$queryRaw<Array<{ id: number; name: string; color: string | null; priority: number; count: number }>>`
        SELECT c.id, c.name, c.color, c.priority, coalesce(x.n, 0)::int AS count
          FROM account_classifications c
          LEFT JOIN (SELECT classification_id, count(*) AS n FROM account_classification_assignments
                      WHERE is_active GROUP BY 1) x ON x.classification_id = c.id
         WHERE c.is_active ORDER BY c.priority DESC, c.name`,
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

export type Granularity = 'hour' | 'day';
export interface ChartRange {
  start: Date;
  end: Date;
  granularity: Granularity;
}

const STEP_MS: Record<Granularity, number> = { hour: 3_600_000, day: 86_400_000 };
/** At most this many buckets per series (a month of hours, a year of days). */
export const MAX_BUCKETS = 744;
const SYNC_OUTCOMES = ['completed', 'failed', 'running', 'cancelled'] as const;
const CHANGE_TYPES = ['add', 'modify_privilege', 'modify_other', 'delete', 'restore'] as const;

/** The UTC buckets covering [start, end]: each bucket's start instant. */
export function bucketsOf(r: ChartRange): Date[] {
  const step = STEP_MS[r.granularity];
  const out: Date[] = [];
  for (let t = Math.floor(r.start.getTime() / step) * step; t <= r.end.getTime(); t += step) out.push(new Date(t));
  return out;
}

/** A bucket's label: the UTC date for days (as the API always had it), the ISO instant for hours. */
const labelOf = (d: Date, g: Granularity) => (g === 'day' ? d.toISOString().slice(0, 10) : d.toISOString());

/** One zero-filled row per bucket: { date, start, <each key>: count }. */
function series<K extends string>(range: ChartRange, rows: Array<{ b: Date; k: string; n: number }>, keys: readonly K[]) {
  const at = new Map<number, Map<string, number>>();
  for (const r of rows) {
    const t = new Date(r.b).getTime();
    if (!at.has(t)) at.set(t, new Map());
    at.get(t)!.set(r.k, (at.get(t)!.get(r.k) ?? 0) + r.n);
  }
  return bucketsOf(range).map((b) => {
    const row: Record<string, string | number> = { date: labelOf(b, range.granularity), start: b.toISOString() };
    const counts = at.get(b.getTime());
    for (const k of keys) row[k] = counts?.get(k) ?? 0;
    for (const [k, n] of counts ?? []) if (!(k in row)) row[k] = n;
    return row;
  });
}

/**
 * Time series over [start, end] in UTC hour or day buckets, zero-filled: log entries per level, sync
 * sessions per outcome, account changes per type, and accounts per classification at the end of each
 * bucket. Seven aggregate queries whatever the range or the data size.
 */
export function charts(deps: AppDeps, range: ChartRange) {
  // Ranges that end "now" share one key (otherwise every request would be a new one): their figures
  // are at most the cache's TTL old, like every cached figure.
  const endKey = Date.now() - range.end.getTime() < 60_000 ? 'now' : range.end.toISOString();
  const key = `dashboard:charts:${range.granularity}:${range.start.toISOString()}:${endKey}`;
  return deps.figures.get(key, async () => {
    const { start, end, granularity: g } = range;
    const [logs, sessions, changes, classes, assignmentCounts] = await Promise.all([
      logStatistics(deps, { startDate: start, endDate: end, bucket: g }),
      deps.prisma.$queryRaw<Array<{ b: Date; k: string; n: number }>>`
        SELECT date_trunc(${g}, created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS b, status::text AS k, count(*)::int AS n
          FROM sync_sessions WHERE created_at >= ${start} AND created_at <= ${end} GROUP BY 1, 2`,
      deps.prisma.$queryRaw<Array<{ b: Date; k: string; n: number }>>`
        SELECT date_trunc(${g}, change_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS b, change_type AS k, count(*)::int AS n
          FROM account_change_log WHERE change_time >= ${start} AND change_time <= ${end} GROUP BY 1, 2`,
      deps.prisma.accountClassification.findMany({ where: { isActive: true }, select: { id: true, name: true }, orderBy: [{ priority: 'desc' }, { name: 'asc' }] }),
      // Accounts per classification over time, worked backwards from now: the count at the end of a
      // bucket is today's count minus what was assigned after it plus what was removed after it.
      // One pass over the assignments yields all three (current, added per bucket, removed per bucket).
      deps.prisma.$queryRaw<Array<{ kind: 'now' | 'add' | 'rm'; b: Date | null; c: number; n: number }>>`
        SELECT v.kind, v.b, s.classification_id AS c, count(*)::int AS n
          FROM account_classification_assignments s
          CROSS JOIN LATERAL (VALUES
            ('now', NULL::timestamptz, s.is_active),
            ('add', date_trunc(${g}, s.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', s.created_at >= ${start}),
            ('rm', date_trunc(${g}, s.updated_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', NOT s.is_active AND s.updated_at >= ${start})
          ) AS v(kind, b, keep)
         WHERE v.keep AND (s.is_active OR s.created_at >= ${start} OR s.updated_at >= ${start})
         GROUP BY 1, 2, 3`,
    ]);
    const names = new Map(classes.map((c) => [c.id, c.name]));
    // Per classification: changes (added − removed) per bucket start, then suffix sums from the newest.
    const delta = new Map<number, Map<number, number>>();
    const addDelta = (b: Date, c: number, n: number) => {
      const t = new Date(b).getTime();
      if (!delta.has(c)) delta.set(c, new Map());
      delta.get(c)!.set(t, (delta.get(c)!.get(t) ?? 0) + n);
    };
    for (const r of assignmentCounts) if (r.kind !== 'now') addDelta(r.b!, r.c, r.kind === 'add' ? r.n : -r.n);
    const now = assignmentCounts.filter((r) => r.kind === 'now');
    const buckets = bucketsOf(range);
    const step = STEP_MS[g];
    const countsAt = new Map<number, number[]>(); // classification → count at the end of each bucket
    for (const [id] of names) {
      const changes = [...(delta.get(id) ?? new Map<number, number>())];
      let current = now.find((r) => r.c === id)?.n ?? 0;
      const out: number[] = new Array(buckets.length);
      for (let i = buckets.length - 1; i >= 0; i--) {
        const bucketEnd = buckets[i]!.getTime() + step;
        // Undo everything that happened at or after this bucket's end.
        for (const [t, n] of changes) if (t >= bucketEnd) current -= n;
        out[i] = current;
        for (let k = changes.length - 1; k >= 0; k--) if (changes[k]![0] >= bucketEnd) changes.splice(k, 1);
      }
      countsAt.set(id, out);
    }
    const classificationTrend = buckets.map((b, i) => ({
      date: labelOf(b, g),
      start: b.toISOString(),
      classifications: [...names].map(([id, name]) => ({ id, name, count: countsAt.get(id)![i]! })),
    }));
    return {
      granularity: g,
      start: start.toISOString(),
      end: end.toISOString(),
      logTrend: logs.buckets.map((b) => ({ date: labelOf(new Date(b.start), g), start: b.start, total: b.total, errors: b.errors, warnings: b.warnings, ...Object.fromEntries(Object.entries(b.byLevel).map(([l, n]) => [l.toLowerCase(), n])) })),
      syncTrend: series(range, sessions, SYNC_OUTCOMES),
      accountChangeTrend: series(range, changes, CHANGE_TYPES),
      classificationTrend,
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
