/**
 * Dashboard charts against fixtures with known UTC times (bucket edges included), the cache's
 * expiry, and the number of SQL statements per request (constant, whatever the data size).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login } from '../helpers/http.js';

let t: TestApp;
let admin: string;
const D = Date.UTC(2025, 2, 10); // 2025-03-10T00:00Z
const at = (dayOffset: number, ms = 0) => new Date(D + dayOffset * 86_400_000 + ms);

beforeAll(async () => {
  t = await startTestApp({ FIGURE_CACHE_TTL_SECONDS: '1', SCHEDULER_ENABLED: 'false' });
  admin = (await login(t.url)).access_token;
  const prisma = t.app.deps.prisma;
  const session = (id: string, status: 'completed' | 'failed' | 'cancelled', createdAt: Date) =>
    ({ sessionId: id, syncType: 'manual_batch' as const, status, createdAt, startedAt: createdAt });
  await prisma.syncSession.createMany({
    data: [
      session('s-edge-end', 'completed', at(0, 86_400_000 - 1)), // 2025-03-10T23:59:59.999Z
      session('s-edge-start', 'failed', at(1)), // 2025-03-11T00:00:00.000Z
      session('s-mid', 'completed', at(1, 13 * 3_600_000 + 5 * 60_000)), // 2025-03-11T13:05Z
      session('s-cancel', 'cancelled', at(2, 3_600_000)),
    ],
  });
  await prisma.unifiedLog.createMany({
    data: [
      { timestamp: at(0, 1000), level: 'INFO', module: 'fx', message: 'a' },
      { timestamp: at(0, 2000), level: 'ERROR', module: 'fx', message: 'b' },
      { timestamp: at(1, 13 * 3_600_000), level: 'CRITICAL', module: 'fx', message: 'c' },
      { timestamp: at(1, 13 * 3_600_000 + 59 * 60_000), level: 'WARNING', module: 'fx', message: 'd' },
    ],
  });
  const inst = await prisma.instance.create({ data: { name: 'fig-pg', dbType: 'postgresql', host: 'h', port: 5432 } });
  const [a1, a2] = await Promise.all(['u1', 'u2'].map((u) => prisma.currentAccount.create({ data: { instanceId: inst.id, dbType: 'postgresql', username: u } })));
  await prisma.accountChangeLog.createMany({
    data: [
      { instanceId: inst.id, dbType: 'postgresql', username: 'u1', changeType: 'add', changeTime: at(0, 5000) },
      { instanceId: inst.id, dbType: 'postgresql', username: 'u2', changeType: 'add', changeTime: at(1, 5000) },
      { instanceId: inst.id, dbType: 'postgresql', username: 'u1', changeType: 'modify_privilege', changeTime: at(1, 6000) },
    ],
  });
  const cls = await prisma.accountClassification.create({ data: { name: 'fig-writers' } });
  await prisma.accountClassificationAssignment.createMany({
    data: [
      // u1 classified before the range; u2 classified on day 1, removed on day 2.
      { accountId: a1!.id, classificationId: cls.id, createdAt: at(-5), updatedAt: at(-5) },
      { accountId: a2!.id, classificationId: cls.id, createdAt: at(1, 1000), updatedAt: at(2, 1000), isActive: false },
    ],
  });
});
afterAll(async () => {
  await t?.close();
});

const charts = async (qs: string) => {
  const res = await call(t.url, 'GET', `/api/charts?${qs}`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
};

describe('dashboard charts', () => {
  it('counts per UTC day, zero-filled, with each bucket edge on the right side', async () => {
    const c = await charts('start_date=2025-03-09&end_date=2025-03-12&granularity=day');
    expect(c.granularity).toBe('day');
    expect(c.sync_trend.map((r: any) => r.date)).toEqual(['2025-03-09', '2025-03-10', '2025-03-11', '2025-03-12']);
    expect(c.sync_trend.map((r: any) => [r.completed, r.failed, r.cancelled, r.running])).toEqual([
      [0, 0, 0, 0],
      [1, 0, 0, 0], // 23:59:59.999 stays on the 10th
      [1, 1, 0, 0], // 00:00:00.000 opens the 11th
      [0, 0, 1, 0],
    ]);
    expect(c.log_trend.map((r: any) => [r.total, r.info, r.warning, r.error, r.critical, r.errors])).toEqual([
      [0, 0, 0, 0, 0, 0],
      [2, 1, 0, 1, 0, 1],
      [2, 0, 1, 0, 1, 1],
      [0, 0, 0, 0, 0, 0],
    ]);
    expect(c.account_change_trend.map((r: any) => [r.add, r.modify_privilege, r.delete])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [1, 1, 0],
      [0, 0, 0],
    ]);
    // Accounts per classification at each bucket's end: 1, 1, 2 (u2 added), 1 (u2 removed).
    expect(c.classification_trend.map((r: any) => r.classifications.find((x: any) => x.name === 'fig-writers').count)).toEqual([1, 1, 2, 1]);
  });

  it('hour buckets: 13:00 and 13:59 share one, and the range picks hours by default when short', async () => {
    const c = await charts('start_date=2025-03-11T12:00:00Z&end_date=2025-03-11T14:30:00Z');
    expect(c.granularity).toBe('hour');
    expect(c.log_trend.map((r: any) => [r.date, r.total])).toEqual([
      ['2025-03-11T12:00:00.000Z', 0],
      ['2025-03-11T13:00:00.000Z', 2],
      ['2025-03-11T14:00:00.000Z', 0],
    ]);
    expect(c.sync_trend[1].completed).toBe(1);
  });

  it('rejects bad ranges with 400s naming the parameter', async () => {
    for (const qs of ['days=0', 'granularity=week', 'start_date=2025-03-12&end_date=2025-03-01', 'start_date=2020-01-01&end_date=2025-01-01&granularity=hour']) {
      const res = await call(t.url, 'GET', `/api/charts?${qs}`, { token: admin });
      expect(res.status, qs).toBe(400);
      expect(res.body.error).toBe('ValidationError');
    }
  });

  it('GraphQL charts are the same figures', async () => {
    const g = await gql(t.url, '{ dashboard { charts(startDate: "2025-03-09", endDate: "2025-03-12", granularity: "day") } }', {}, admin);
    expect(g.body.errors).toBeUndefined();
    const rest = await charts('start_date=2025-03-09&end_date=2025-03-12&granularity=day');
    expect(g.body.data.dashboard.charts.syncTrend).toEqual(rest.sync_trend);
    expect(g.body.data.dashboard.charts.classificationTrend).toEqual(rest.classification_trend);
  });
});

describe('dashboard cache', () => {
  it('serves a cached overview (in Redis), then the new figure once it expires', async () => {
    const before = (await call(t.url, 'GET', '/api/overview', { token: admin })).body.data.instances.total;
    const keys = await t.app.deps.redis!.keys(`${t.redisPrefix}figures:*`);
    expect(keys.some((k) => k.endsWith('dashboard:overview'))).toBe(true);
    await t.app.deps.prisma.instance.create({ data: { name: 'fig-new', dbType: 'mysql', host: 'h', port: 3306 } });
    expect((await call(t.url, 'GET', '/api/overview', { token: admin })).body.data.instances.total).toBe(before);
    await vi.waitFor(async () => expect((await call(t.url, 'GET', '/api/overview', { token: admin })).body.data.instances.total).toBe(before + 1), { timeout: 5000, interval: 200 });
  });
});

/** SQL statements sent to PostgreSQL (by this process) while `fn` runs. */
async function countQueries(fn: () => Promise<unknown>): Promise<number> {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  let n = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return n;
}

describe('queries per request', () => {
  it('stay the same whatever the data size (no query per row)', async () => {
    // Every query of the process is counted: no background work meanwhile (the scheduler is off too).
    // (The sync worker stays stopped for the rest of this file; no later test here syncs.)
    await t.app.deps.syncWorker!.stop();
    // The caller's user is cached for 10 s: a request right before makes sure no count includes its lookup.
    const counted = async (path: string) => {
      await call(t.url, 'GET', '/api/me', { token: admin });
      return countQueries(() => call(t.url, 'GET', path, { token: admin }));
    };
    const measure = async () => {
      await t.app.deps.figures.clear();
      await t.app.deps.logSink.flush();
      return {
        overview: await counted('/api/overview'),
        charts: await counted('/api/charts?days=30'),
        status: await counted('/api/status'),
        activities: await counted('/api/activities?per_page=50'),
      };
    };
    const small = await measure();
    // Grow every table the figures read: instances, accounts, classifications, sessions, changes, logs.
    const prisma = t.app.deps.prisma;
    for (let i = 0; i < 20; i++) {
      const inst = await prisma.instance.create({ data: { name: `grow-${i}`, dbType: i % 2 ? 'mysql' : 'postgresql', host: 'h', port: 1 } });
      await prisma.currentAccount.createMany({ data: Array.from({ length: 10 }, (_, j) => ({ instanceId: inst.id, dbType: 'postgresql', username: `g${j}` })) });
    }
    for (let i = 0; i < 5; i++) await prisma.accountClassification.create({ data: { name: `grow-class-${i}` } });
    await prisma.syncSession.createMany({ data: Array.from({ length: 50 }, (_, i) => ({ sessionId: `grow-${i}`, syncType: 'manual_batch' as const, status: 'completed' as const })) });
    await prisma.unifiedLog.createMany({ data: Array.from({ length: 500 }, (_, i) => ({ timestamp: new Date(), level: 'INFO' as const, module: 'auth', message: `grow ${i}` })) });
    const large = await measure();
    expect(large).toEqual(small);
    expect(small.overview).toBeLessThanOrEqual(20);
    expect(small.charts).toBeLessThanOrEqual(10);
  });
});

describe('account figures', () => {
  it('stay equal to the accounts table through inserts, updates, deletes and instance removal', async () => {
    const prisma = t.app.deps.prisma;
    const inst = await prisma.instance.create({ data: { name: 'fig-consistency', dbType: 'mysql', host: 'h', port: 1 } });
    await prisma.currentAccount.createMany({ data: Array.from({ length: 30 }, (_, i) => ({ instanceId: inst.id, dbType: 'mysql', username: `c${i}`, isSuperuser: i % 5 === 0 })) });
    await prisma.currentAccount.updateMany({ where: { instanceId: inst.id, username: { in: ['c1', 'c2', 'c3'] } }, data: { isDeleted: true } });
    await prisma.currentAccount.updateMany({ where: { instanceId: inst.id, username: { in: ['c4', 'c5'] } }, data: { isLocked: true, isActive: false } });
    await prisma.currentAccount.deleteMany({ where: { instanceId: inst.id, username: 'c6' } });
    const doomed = await prisma.instance.create({ data: { name: 'fig-doomed', dbType: 'mysql', host: 'h', port: 1 } });
    await prisma.currentAccount.createMany({ data: [{ instanceId: doomed.id, dbType: 'mysql', username: 'x' }] });
    await prisma.instance.delete({ where: { id: doomed.id } }); // cascades to its accounts
    const diff = await prisma.$queryRaw<Array<{ n: number }>>`
      WITH raw AS (
        SELECT instance_id, count(*) FILTER (WHERE NOT is_deleted)::int AS total, count(*) FILTER (WHERE NOT is_deleted AND is_active)::int AS active,
               count(*) FILTER (WHERE NOT is_deleted AND is_locked)::int AS locked, count(*) FILTER (WHERE NOT is_deleted AND is_superuser)::int AS superuser,
               count(*) FILTER (WHERE is_deleted)::int AS deleted
          FROM current_account_sync_data GROUP BY 1),
      kept AS (SELECT instance_id, total, active, locked, superuser, deleted FROM account_figures WHERE total + deleted > 0)
      SELECT count(*)::int AS n FROM ((SELECT * FROM raw EXCEPT SELECT * FROM kept) UNION ALL (SELECT * FROM kept EXCEPT SELECT * FROM raw)) d`;
    expect(diff).toEqual([{ n: 0 }]);
    const mine = await prisma.accountFigures.findUniqueOrThrow({ where: { instanceId: inst.id } });
    expect(mine).toMatchObject({ total: 26, active: 24, locked: 2, superuser: 6, deleted: 3 });
  });
});
