import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, userWithRole } from '../helpers/http.js';

let t: TestApp;
let admin: string;
const DAY = Date.UTC(2025, 5, 10); // fixtures live on 2025-06-10 UTC, far from the app's own logs

beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
  // The login's own entry is written first: inserted concurrently, its id could land among the fixtures'.
  await t.app.deps.logSink.flush();
  const at = (h: number, m = 0) => new Date(DAY + h * 3_600_000 + m * 60_000);
  await t.app.deps.prisma.unifiedLog.createMany({
    data: [
      { timestamp: at(0, 0), level: 'INFO', module: 'fx_auth', message: 'login ok alpha', userId: 1, requestId: 'r-1' },
      { timestamp: at(0, 30), level: 'WARNING', module: 'fx_auth', message: 'login failed beta', userId: 2 },
      { timestamp: at(1, 0), level: 'ERROR', module: 'fx_sync', message: 'sync failed gamma', instanceId: 7 },
      { timestamp: at(1, 59), level: 'CRITICAL', module: 'fx_sync', message: 'disk full delta', instanceId: 7 },
      { timestamp: at(23, 59), level: 'INFO', module: 'fx_sync', message: 'sync done alpha', instanceId: 8 },
      { timestamp: new Date(DAY + 86_400_000), level: 'INFO', module: 'fx_sync', message: 'next day epsilon' },
    ],
  });
});
afterAll(async () => {
  await t?.close();
});

const day = 'start_date=2025-06-10&end_date=2025-06-10';

describe('log search', () => {
  it.each([
    [`${day}`, 5],
    [`${day}&level=error`, 1],
    [`${day}&module=fx_sync`, 3],
    [`${day}&q=alpha`, 2],
    [`${day}&search=ALPHA&module=fx_auth`, 1],
    [`${day}&user_id=2`, 1],
    [`${day}&instance_id=7&level=CRITICAL`, 1],
    [`${day}&request_id=r-1`, 1],
    ['start_time=2025-06-10T01:00:00Z&end_time=2025-06-10T01:59:00Z', 2],
    ['start_date=2025-06-11&end_date=2025-06-11&module=fx_', 1],
  ])('%s → %i entries', async (qs, n) => {
    const res = await call(t.url, 'GET', `/api/search?${qs}`, { token: admin });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.pagination.total).toBe(n);
  });

  it('sorts, paginates and serialises entries; detail by id; 404 and 400s', async () => {
    const res = await call(t.url, 'GET', `/unified-logs/api/search?${day}&sort_by=timestamp&sort_order=asc&per_page=2&page=2`, { token: admin });
    expect(res.body.data.map((l: any) => l.message)).toEqual(['sync failed gamma', 'disk full delta']);
    expect(res.body.data[0]).toMatchObject({ level: 'ERROR', module: 'fx_sync', instance_id: 7, timestamp: '2025-06-10T01:00:00.000Z' });
    const id = res.body.data[0].id;
    expect((await call(t.url, 'GET', `/api/detail/${id}`, { token: admin })).body.data.log.message).toBe('sync failed gamma');
    expect((await call(t.url, 'GET', '/api/detail/99999999', { token: admin })).status).toBe(404);
    expect((await call(t.url, 'GET', '/api/search?level=LOUD', { token: admin })).status).toBe(400);
    expect((await call(t.url, 'GET', '/api/search?start_time=yesterday', { token: admin })).status).toBe(400);
    expect((await call(t.url, 'GET', '/api/search?per_page=500', { token: admin })).status).toBe(400);
  });
});

describe('log statistics', () => {
  it('counts by level and module with zero-filled UTC hour buckets (the flat /api/statistics)', async () => {
    const res = await call(t.url, 'GET', `/api/statistics?start_time=2025-06-10T00:00:00Z&end_time=2025-06-10T02:59:59Z`, { token: admin });
    const s = res.body.data;
    expect(s.total_logs).toBe(4);
    expect(s.level_distribution).toMatchObject({ INFO: 1, WARNING: 1, ERROR: 1, CRITICAL: 1, DEBUG: 0 });
    expect(s.error_count).toBe(2);
    expect(s.error_rate).toBe(50);
    expect(s.bucket).toBe('hour');
    expect(s.series).toEqual([
      { start: '2025-06-10T00:00:00.000Z', total: 2, errors: 0, warnings: 1, by_level: { DEBUG: 0, INFO: 1, WARNING: 1, ERROR: 0, CRITICAL: 0 } },
      { start: '2025-06-10T01:00:00.000Z', total: 2, errors: 2, warnings: 0, by_level: { DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 1, CRITICAL: 1 } },
      { start: '2025-06-10T02:00:00.000Z', total: 0, errors: 0, warnings: 0, by_level: { DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0, CRITICAL: 0 } },
    ]);
    const days = await call(t.url, 'GET', '/unified-logs/api/statistics?start_date=2025-06-09&end_date=2025-06-12&bucket=day', { token: admin });
    expect(days.body.data.series.map((b: any) => b.total)).toEqual([0, 5, 1, 0]);
  });

  it('lists modules with counts, recent errors, and real-time entries after an id', async () => {
    const mods = (await call(t.url, 'GET', '/api/modules', { token: admin })).body.data;
    expect(mods.modules).toEqual(expect.arrayContaining(['fx_auth', 'fx_sync']));
    expect(mods.counts.find((m: any) => m.module === 'fx_sync').count).toBe(4);
    const first = (await call(t.url, 'GET', '/api/search?start_date=2025-06-10&end_date=2025-06-11&sort=id&order=asc&per_page=1', { token: admin })).body.data[0];
    const rt = await call(t.url, 'GET', `/api/real-time?after_id=${first.id}&limit=3`, { token: admin });
    expect(rt.body.data.logs.map((l: any) => l.message)).toEqual(['login failed beta', 'sync failed gamma', 'disk full delta']);
    expect(rt.body.data.last_id).toBe(rt.body.data.logs[2].id);
  });
});

describe('log cleanup', () => {
  it('is admin only, needs days ≥ 1, removes only older entries and logs itself', async () => {
    const user = await userWithRole(t.url, admin, 'user');
    expect((await call(t.url, 'POST', '/api/cleanup', { token: user.token, json: { days: 30 } })).status).toBe(403);
    expect((await call(t.url, 'POST', '/api/cleanup', { token: admin, json: { days: 0 } })).status).toBe(400);
    expect((await call(t.url, 'POST', '/api/cleanup', { token: admin, json: { days: 'x' } })).status).toBe(400);
    const res = await call(t.url, 'POST', '/unified-logs/api/cleanup', { token: admin, json: { days: 30 } });
    expect(res.body.data.deleted_count).toBe(6); // the 2025 fixtures; today's entries stay
    expect((await call(t.url, 'GET', `/api/search?${day}`, { token: admin })).body.pagination.total).toBe(0);
    await t.app.deps.logSink.flush();
    expect(await t.app.deps.prisma.unifiedLog.count({ where: { context: { path: ['event'], equals: 'logs_cleaned' } } })).toBe(1);
    const g = await gql(t.url, 'mutation { cleanupLogs(days: 1) { deletedCount } }', {}, user.token);
    expect(g.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('logs over GraphQL', () => {
  it('searches, reads statistics and modules', async () => {
    const res = await gql(t.url, '{ logs(module: "auth", first: 5) { totalCount edges { node { id level module message } } } logModules { module count } logStatistics(hours: 1) { totalLogs bucket } }', {}, admin);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.logs.totalCount).toBeGreaterThan(0); // the logins of this file
    expect(res.body.data.logStatistics.bucket).toBe('hour');
  });
});

describe('log export', () => {
  it('streams CSV and JSON of a large fixture with every row, neutralising formula cells', async () => {
    const base = Date.UTC(2024, 0, 1);
    const rows = Array.from({ length: 20_000 }, (_, i) => ({
      timestamp: new Date(base + i * 1000),
      level: 'INFO' as const,
      module: 'fx_export',
      message: i === 5 ? '=cmd|calc' : i === 6 ? '@SUM(A1)' : `row ${i}`,
    }));
    for (let i = 0; i < rows.length; i += 5000) await t.app.deps.prisma.unifiedLog.createMany({ data: rows.slice(i, i + 5000) });
    const heapBefore = process.memoryUsage().heapUsed;
    const csv = await fetch(`${t.url}/api/export?format=csv&module=fx_export&limit=1000000`, { headers: { authorization: `Bearer ${admin}` } });
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename=logs_export_\d+\.csv/);
    const text = await csv.text();
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('id,timestamp,level,module,message,traceback,context,user_id,request_id,instance_id,created_at');
    expect(lines.length - 1).toBe(20_000);
    expect(text).toContain("'=cmd|calc");
    expect(text).toContain("'@SUM(A1)");
    expect(text).not.toMatch(/,=cmd/);
    const json = await (await fetch(`${t.url}/unified-logs/api/export?format=json&module=fx_export&limit=1000000&start_date=2024-01-01&end_date=2024-01-01`, { headers: { authorization: `Bearer ${admin}` } })).json();
    expect(json).toHaveLength(20_000);
    expect(json[0]).toMatchObject({ module: 'fx_export', level: 'INFO' });
    // The export reads in batches: the test process holds the whole text, the server only batches.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
    const limited = await (await fetch(`${t.url}/api/export?format=json&module=fx_export`, { headers: { authorization: `Bearer ${admin}` } })).json();
    expect(limited).toHaveLength(1000); // upstream default limit
    expect((await call(t.url, 'GET', '/api/export?format=xml', { token: admin })).status).toBe(400);
  });

  it('filters the CSV export like the search, and survives clients that hang up mid-export', async () => {
    const auth = { headers: { authorization: `Bearer ${admin}` } };
    const at = new Date(Date.now() - 3_600_000);
    await t.app.deps.prisma.unifiedLog.createMany({
      data: [
        { timestamp: at, level: 'INFO', module: 'fx_csv_a', message: 'alpha 100% done', userId: 3, requestId: 'csv-1' },
        { timestamp: at, level: 'ERROR', module: 'fx_csv_a', message: 'beta failed', instanceId: 9 },
        { timestamp: at, level: 'CRITICAL', module: 'fx_csv_b', message: 'ALPHA critical', instanceId: 9 },
        { timestamp: at, level: 'WARNING', module: 'fx_csv_b', message: 'under_score', userId: 3 },
      ],
    });
    const cases: Array<[string, number]> = [
      ['module=fx_csv', 4],
      ['module=fx_csv&level=error', 1],
      ['module=fx_csv_b', 2],
      ['module=fx_csv&q=alpha', 2],
      ['module=fx_csv&instance_id=9&level=CRITICAL', 1],
      ['module=fx_csv&user_id=3', 2],
      ['request_id=csv-1', 1],
      ['module=fx_csv&q=%25', 1], // a literal %, not a wildcard
      ['module=fx_csv&q=r_s', 1], // a literal _
    ];
    for (const [qs, n] of cases) {
      const search = await call(t.url, 'GET', `/api/search?${qs}`, { token: admin });
      const csv = await (await fetch(`${t.url}/api/export?format=csv&${qs}`, auth)).text();
      expect(search.body.pagination.total, qs).toBe(n);
      expect(csv.trim().split('\n').length - 1, qs).toBe(n);
    }
    // More aborted exports than the pool has connections: each one's connection is given back.
    for (let i = 0; i < 15; i++) {
      const ac = new AbortController();
      const res = await fetch(`${t.url}/api/export?format=csv&limit=1000000&start_date=2000-01-01`, { ...auth, signal: ac.signal });
      await res.body!.getReader().read();
      ac.abort();
    }
    const after = await call(t.url, 'GET', '/api/search?module=fx_csv', { token: admin });
    expect(after.status).toBe(200);
    expect(after.body.pagination.total).toBe(4);
  });

  it('keeps the hourly rollup equal to the log table after inserts, deletes and cleanup', async () => {
    const prisma = t.app.deps.prisma;
    const hour = Date.UTC(2025, 7, 1, 10); // newer than the cleanup's cutoff below (2 years)
    await prisma.unifiedLog.createMany({
      data: Array.from({ length: 50 }, (_, i) => ({ timestamp: new Date(hour + i * 90_000), level: i % 3 ? ('INFO' as const) : ('ERROR' as const), module: `fx_roll_${i % 2}`, message: `r${i}` })),
    });
    await prisma.unifiedLog.deleteMany({ where: { module: 'fx_roll_1', message: { in: ['r1', 'r3', 'r5'] } } });
    await call(t.url, 'POST', '/api/cleanup', { token: admin, json: { days: 365 * 2 } });
    const diff = await prisma.$queryRaw<Array<{ side: string; n: number }>>`
      WITH raw AS (SELECT date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, level, module, count(*)::int AS count FROM unified_logs GROUP BY 1, 2, 3),
           roll AS (SELECT "hour", level, module, "count" FROM unified_log_counts)
      SELECT 'missing' AS side, count(*)::int AS n FROM (SELECT * FROM raw EXCEPT SELECT * FROM roll) x
      UNION ALL SELECT 'extra', count(*)::int FROM (SELECT * FROM roll EXCEPT SELECT * FROM raw) y`;
    expect(diff).toEqual([{ side: 'missing', n: 0 }, { side: 'extra', n: 0 }]);
    // Statistics over a range that starts and ends mid-hour count exactly what the table holds.
    const qs = 'start_date=2025-08-01T10:20:00Z&end_date=2025-08-01T11:05:00Z';
    const stats = (await call(t.url, 'GET', `/api/statistics?${qs}`, { token: admin })).body.data;
    const raw = await prisma.unifiedLog.count({ where: { timestamp: { gte: new Date('2025-08-01T10:20:00Z'), lte: new Date('2025-08-01T11:05:00Z') } } });
    expect(stats.total_logs).toBe(raw);
    expect(raw).toBeGreaterThan(0);
  });
});
