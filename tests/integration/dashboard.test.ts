import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, userWithRole } from '../helpers/http.js';
import { ACTIVITY_MODULES } from '../../src/services/dashboard/dashboard-service.js';

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
  const prisma = t.app.deps.prisma;
  const inst = await prisma.instance.create({ data: { name: 'dash-pg', dbType: 'postgresql', host: 'h', port: 5432, connectionStatus: 'reachable' } });
  await prisma.instance.create({ data: { name: 'dash-my', dbType: 'mysql', host: 'h', port: 3306, isActive: false, connectionStatus: 'unreachable' } });
  await prisma.currentAccount.createMany({
    data: [
      { instanceId: inst.id, dbType: 'postgresql', username: 'a', isSuperuser: true },
      { instanceId: inst.id, dbType: 'postgresql', username: 'b', isLocked: true, isActive: false },
      { instanceId: inst.id, dbType: 'postgresql', username: 'c', isDeleted: true },
    ],
  });
  const yesterday = new Date(Date.now() - 86_400_000);
  await prisma.accountChangeLog.createMany({ data: [{ instanceId: inst.id, dbType: 'postgresql', username: 'a', changeType: 'add', changeTime: yesterday }] });
});
afterAll(async () => {
  await t?.close();
});

describe('dashboard', () => {
  it('overview agrees with the per-module statistics endpoints', async () => {
    const o = (await call(t.url, 'GET', '/api/overview', { token: admin })).body.data;
    const inst = (await call(t.url, 'GET', '/instances/api/statistics', { token: admin })).body.data;
    const users = (await call(t.url, 'GET', '/api/users/stats', { token: admin })).body.data;
    expect(o.instances).toMatchObject({ total: inst.total_instances, active: inst.active_instances, reachable: inst.reachable_instances, unreachable: inst.unreachable_instances });
    expect(o.instances).toMatchObject({ total: 2, active: 1, reachable: 1, unreachable: 1 });
    expect(o.users.total).toBe(users.total);
    expect(o.accounts).toEqual({ total: 2, active: 1, locked: 1, superuser: 1, deleted: 1 });
    expect(o.classified_accounts).toMatchObject({ total: 0, unclassified: 2 });
    expect(o.jobs.total).toBeGreaterThanOrEqual(0);
    expect((await call(t.url, 'GET', '/dashboard/api/overview', { token: admin })).body.data).toEqual(o);
  });

  it('charts are zero-filled UTC days', async () => {
    const c = (await call(t.url, 'GET', '/api/charts?days=3', { token: admin })).body.data;
    const today = new Date().toISOString().slice(0, 10);
    expect(c.log_trend.map((x: any) => x.date).at(-1)).toBe(today);
    expect(c.log_trend).toHaveLength(3);
    expect(c.account_change_trend).toHaveLength(3);
    expect(c.account_change_trend[1].add).toBe(1);
    expect(c.account_change_trend[0].add).toBe(0);
    expect((await call(t.url, 'GET', '/api/charts?days=0', { token: admin })).status).toBe(400);
  });

  it('activities are paginated notable events; status reports services', async () => {
    await t.app.deps.logSink.flush();
    const a = await call(t.url, 'GET', '/api/activities?per_page=100', { token: admin });
    expect(a.body.pagination.per_page).toBe(100);
    expect(a.body.data.some((l: any) => l.module === 'auth' && l.message === '用户登录成功')).toBe(true);
    expect(a.body.data.every((l: any) => ACTIVITY_MODULES.includes(l.module) && l.level !== 'DEBUG')).toBe(true);
    expect((await call(t.url, 'GET', '/api/activities?per_page=2', { token: admin })).body.data).toHaveLength(2);
    const s = (await call(t.url, 'GET', '/dashboard/api/status', { token: admin })).body.data;
    expect(s).toMatchObject({ version: '4.0.0', services: { database: 'connected', redis: 'connected' }, running_sessions: 0 });
    expect(s.memory.rss_bytes).toBeGreaterThan(0);
  });

  it('needs a signed-in user (any role), through REST and GraphQL', async () => {
    expect((await call(t.url, 'GET', '/api/overview')).status).toBe(401);
    const viewer = await userWithRole(t.url, admin, 'viewer');
    expect((await call(t.url, 'GET', '/api/overview', { token: viewer.token })).status).toBe(200);
    const g = await gql(t.url, '{ dashboard { overview status charts(days: 2) } }', {}, viewer.token);
    expect(g.body.errors).toBeUndefined();
    expect(g.body.data.dashboard.overview.accounts.total).toBe(2);
    expect(g.body.data.dashboard.charts.logTrend).toHaveLength(2);
  });
});
