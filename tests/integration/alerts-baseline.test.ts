/**
 * privilege_outside_baseline end to end against the local PostgreSQL as a managed instance: a frozen
 * baseline, grants inside and outside it, a new role, accepted drift that stops alerting, and an
 * instance without a baseline that never alerts. Roles are server-wide and other test files create
 * theirs concurrently, so every assertion looks only at this file's prefixed roles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login, registerSecret } from '../helpers/http.js';
import { pgAdmin, prefix, registerInstance } from '../helpers/managed.js';
import { PG_ADMIN_URL } from '../helpers/env.js';

const P = prefix();
const PG_PASSWORD = registerSecret('Pg-Baseline-Alert-7');
let t: TestApp;
let admin: string;
let managedDb: { url: string; drop: () => Promise<void> };
let dbName: string;
let withBaseline: number;
let without: number;
let ruleId: number;

beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
  managedDb = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_managed');
  dbName = new URL(managedDb.url).pathname.slice(1);
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PG_PASSWORD}'`);
    await c.query(`CREATE ROLE ${P}readers NOLOGIN`);
    await c.query(`CREATE ROLE ${P}app LOGIN PASSWORD 'x' IN ROLE ${P}readers`);
  });
  await pgAdmin(async (c) => {
    await c.query('CREATE TABLE orders (id int)');
    await c.query(`GRANT SELECT ON orders TO ${P}app`);
  }, managedDb.url);
  withBaseline = await registerInstance(t, { name: `${P}based`, dbType: 'postgresql', port: 5432, database: dbName, username: `${P}collector`, password: PG_PASSWORD });
  without = await registerInstance(t, { name: `${P}free`, dbType: 'postgresql', port: 5432, database: dbName, username: `${P}collector`, password: PG_PASSWORD });
});

afterAll(async () => {
  await t?.close();
  await pgAdmin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY rolname DESC`, [`${P}%`]);
    await managedDb?.drop();
    for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  }).catch(() => {});
});

async function syncAndWait(instanceId: number): Promise<string> {
  const res = await call(t.url, 'POST', `/api/instances/${instanceId}/sync?wait=true`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.data.status).toBe('completed');
  return res.body.data.session_id;
}

/** This file's privilege_outside_baseline alerts on an instance (other files' roles appear on the same server). */
async function ourAlerts(instanceId: number, sessionId?: string) {
  const res = await call(t.url, 'GET', `/api/alerts?instance_id=${instanceId}&kind=privilege_outside_baseline&per_page=100&order=asc${sessionId ? `&session_id=${sessionId}` : ''}`, {
    token: admin,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.data as any[]).filter((a) => a.username.startsWith(P));
}

const asPg = (sql: string) => pgAdmin((c) => c.query(sql), managedDb.url);

describe('privilege_outside_baseline', () => {
  it('freezes a baseline, with the role membership that is then revoked', async () => {
    await syncAndWait(withBaseline); // first sync: an import, no alert
    await syncAndWait(without);
    const b = await call(t.url, 'POST', `/api/instances/${withBaseline}/baseline`, { token: admin });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    const app = b.body.data.accounts.find((a: any) => a.account === `${P}app`);
    expect(app.privileges).toEqual(['attribute:inherit', 'attribute:login', `database:${dbName}:SELECT`, `role:${P}readers`]);

    const rule = await call(t.url, 'POST', '/api/alert-rules', { token: admin, json: { name: 'outside baseline', kind: 'privilege_outside_baseline' } });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect(rule.body.data).toMatchObject({ kind: 'privilege_outside_baseline', severity: 'warning' });
    ruleId = rule.body.data.id;

    // Reality leaves the baseline: a revocation is drift, not a grant, and raises nothing.
    await asPg(`REVOKE ${P}readers FROM ${P}app`);
    await syncAndWait(withBaseline);
    await syncAndWait(without);
    expect(await ourAlerts(withBaseline)).toEqual([]);
  });

  it('alerts once, naming only the granted line the baseline lacks; a new role alerts with all its lines; no baseline, no alert', async () => {
    await asPg(`GRANT ${P}readers TO ${P}app`); // back to what the baseline allows
    await asPg(`GRANT INSERT ON orders TO ${P}app`); // outside it
    await asPg(`CREATE ROLE ${P}late NOLOGIN CREATEDB`); // not in the baseline at all
    const session = await syncAndWait(withBaseline);
    await syncAndWait(without);

    const alerts = await ourAlerts(withBaseline, session);
    expect(alerts.map((a) => a.username).sort()).toEqual([`${P}app`, `${P}late`]);
    const app = alerts.find((a) => a.username === `${P}app`)!;
    expect(app).toMatchObject({ rule_id: ruleId, kind: 'privilege_outside_baseline', severity: 'warning', change_type: 'modify_privilege', session_id: session });
    expect(app.details.lines).toEqual([`database:${dbName}:INSERT`]);
    expect(app.details.grants).toEqual([{ field: 'database', scope: dbName, privilege: 'INSERT', line: `database:${dbName}:INSERT` }]);
    expect(app.message).toContain(`database:${dbName}:INSERT`);
    expect(app.message).not.toContain('role:');
    const late = alerts.find((a) => a.username === `${P}late`)!;
    expect(late.change_type).toBe('add');
    expect(late.details.lines).toEqual(['attribute:createdb', 'attribute:inherit']);

    // The same grants on an instance without a baseline.
    expect(await ourAlerts(without)).toEqual([]);
  });

  it('a line accepted into the baseline no longer alerts when granted again; other lines still do', async () => {
    const accepted = await call(t.url, 'POST', `/api/instances/${withBaseline}/drift/accept`, {
      token: admin,
      json: { items: [{ kind: 'extra_privilege', account: `${P}app`, privilege: `database:${dbName}:INSERT` }] },
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);

    // Revoke and grant again, so the next syncs record the grant anew.
    await asPg(`REVOKE INSERT ON orders FROM ${P}app`);
    await syncAndWait(withBaseline);
    const before = (await ourAlerts(withBaseline)).length;
    await asPg(`GRANT INSERT, UPDATE ON orders TO ${P}app`);
    const session = await syncAndWait(withBaseline);

    const again = await ourAlerts(withBaseline, session);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ username: `${P}app`, change_type: 'modify_privilege' });
    expect(again[0].details.lines).toEqual([`database:${dbName}:UPDATE`]);
    expect((await ourAlerts(withBaseline)).length).toBe(before + 1);
  });
});
