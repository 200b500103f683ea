/**
 * Baselines, drift and the grant export against real managed PostgreSQL and MariaDB servers.
 * Those servers are shared (roles and users are server-wide and other test files create theirs), so
 * assertions about reality are made on this file's uniquely prefixed accounts (`mine`): a report
 * computed right after freezing is asserted empty as a whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, registerSecret, userWithRole } from '../helpers/http.js';
import { mariaRoot, pgAdmin, prefix, registerInstance } from '../helpers/managed.js';
import { PG_ADMIN_URL } from '../helpers/env.js';
import type { AcceptDriftMutation, BaselineQuery, CreateBaselineMutation, DriftReportQuery, GrantExportQuery } from '../generated/operations.js';

let t: TestApp;
let admin: string;
let adminId: number;
let user: { id: number; token: string };
let viewer: { id: number; token: string };
const P = prefix();
const PG_PASSWORD = registerSecret('Pg-Drift-Secret-7');
const MY_PASSWORD = registerSecret('My-Drift-Secret-7');
let managedDb: { url: string; drop: () => Promise<void> };
let dbName: string;
let pgInstance: number;
let myInstance: number;

beforeAll(async () => {
  t = await startTestApp();
  const a = await login(t.url);
  admin = a.access_token;
  adminId = a.user.id;
  user = await userWithRole(t.url, admin, 'user');
  viewer = await userWithRole(t.url, admin, 'viewer');
  managedDb = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_managed');
  dbName = new URL(managedDb.url).pathname.slice(1);
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PG_PASSWORD}'`);
    await c.query(`CREATE ROLE ${P}readers NOLOGIN`);
    await c.query(`CREATE ROLE ${P}app LOGIN PASSWORD 'x' IN ROLE ${P}readers`);
    await c.query(`CREATE ROLE ${P}gone LOGIN`);
  });
  await pgAdmin(async (c) => {
    await c.query('CREATE TABLE orders (id int)');
    await c.query(`GRANT SELECT ON orders TO ${P}app`);
    await c.query(`GRANT CONNECT ON DATABASE "${dbName}" TO ${P}app`);
  }, managedDb.url);
  await mariaRoot(async (c) => {
    await c.query(`CREATE DATABASE ${P}shop`);
    await c.query(`CREATE USER '${P}collector'@'127.0.0.1' IDENTIFIED BY '${MY_PASSWORD}'`);
    await c.query(`GRANT SELECT ON mysql.* TO '${P}collector'@'127.0.0.1'`);
    await c.query(`GRANT SELECT ON *.* TO '${P}collector'@'127.0.0.1'`);
    await c.query(`CREATE USER '${P}web'@'%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SELECT ON \`${P}shop\`.* TO '${P}web'@'%'`);
    await c.query(`CREATE USER '${P}old'@'%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SELECT ON \`${P}shop\`.* TO '${P}old'@'%'`);
  });
  pgInstance = await registerInstance(t, { name: `${P}pg`, dbType: 'postgresql', port: 5432, database: dbName, username: `${P}collector`, password: PG_PASSWORD });
  myInstance = await registerInstance(t, { name: `${P}my`, dbType: 'mysql', port: 3306, username: `${P}collector`, password: MY_PASSWORD });
});

afterAll(async () => {
  await t?.close();
  await pgAdmin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY rolname DESC`, [`${P}%`]);
    await managedDb?.drop();
    for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  }).catch(() => {});
  await mariaRoot(async (c) => {
    const [rows] = await c.query<any[]>(`SELECT User, Host FROM mysql.user WHERE User LIKE ?`, [`${P}%`]);
    for (const r of rows) await c.query(`DROP USER ?@?`, [r.User, r.Host]);
    await c.query(`DROP DATABASE IF EXISTS ${P}shop`);
  }).catch(() => {});
});

async function syncAndWait(instanceId: number): Promise<string> {
  const res = await call(t.url, 'POST', `/api/instances/${instanceId}/sync?wait=true`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.data.status).toBe('completed');
  return res.body.data.session_id;
}

/** This file's own items (the servers are shared). */
const mine = <T extends { account: string }>(items: T[]) => items.filter((i) => i.account.startsWith(P));
const myLines = (text: string) => text.split('\n').filter((l) => l.startsWith(P));

async function drift(instanceId: number, token = admin) {
  const res = await call(t.url, 'GET', `/api/instances/${instanceId}/drift`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

async function logs(where: Record<string, unknown>) {
  await t.app.deps.logSink.flush();
  return t.app.deps.prisma.unifiedLog.findMany({ where: { module: 'drift', ...where }, orderBy: { id: 'asc' } });
}

const PG_LOGIN = ['attribute:inherit', 'attribute:login'];

describe('PostgreSQL baseline and drift', () => {
  it('needs a synced instance and a baseline; freezing needs update permission', async () => {
    const never = await call(t.url, 'POST', `/api/instances/${pgInstance}/baseline`, { token: admin });
    expect(never.status).toBe(422);
    expect(never.body).toMatchObject({ status: 'error', error: 'ValidationError', code: 422 });
    await syncAndWait(pgInstance);
    const none = await call(t.url, 'GET', `/api/instances/${pgInstance}/drift`, { token: admin });
    expect(none.status).toBe(404);
    expect(none.body).toMatchObject({ status: 'error', error: 'ResourceNotFoundError', details: { reason: 'no_baseline' } });
    const denied = await call(t.url, 'POST', `/api/instances/${pgInstance}/baseline`, { token: user.token });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ status: 'error', error: 'AuthorizationError', code: 403 });
    const gqlDenied = await gql(t.url, 'mutation($i: ID) { createBaseline(instanceId: $i) { id } }', { i: String(pgInstance) }, user.token);
    expect(gqlDenied.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(await t.app.deps.prisma.baseline.count()).toBe(0);
  });

  it('freezes the accounts with their canonical privilege lines; the report right after is empty', async () => {
    const res = await call(t.url, 'POST', `/api/instances/${pgInstance}/baseline`, { token: admin });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data).toMatchObject({ instance_id: pgInstance, db_type: 'postgresql', tag_name: null, frozen_by: { id: adminId, username: 'admin' }, accepted_by: null });
    const accounts = new Map<string, string[]>(res.body.data.accounts.map((a: any) => [a.account, a.privileges]));
    expect(accounts.get(`${P}app`)).toEqual([...PG_LOGIN, `database:${dbName}:CONNECT`, `database:${dbName}:SELECT`, `role:${P}readers`]);
    expect(accounts.get(`${P}gone`)).toEqual(PG_LOGIN);
    expect(accounts.get(`${P}readers`)).toEqual(['attribute:inherit']);
    expect(accounts.get(`${P}collector`)).toEqual(expect.arrayContaining(['attribute:superuser', 'attribute:login']));
    expect(res.body.data.account_count).toBe(accounts.size);

    const report = await drift(pgInstance);
    expect(report).toMatchObject({ instance_id: pgInstance, has_drift: false, items: [], summary: { extra_accounts: 0, missing_accounts: 0, extra_privileges: 0, missing_privileges: 0, total: 0 } });
    // Reading needs view only.
    expect((await call(t.url, 'GET', `/api/instances/${pgInstance}/baseline`, { token: user.token })).status).toBe(200);
    expect((await call(t.url, 'GET', `/api/instances/${pgInstance}/drift`, { token: viewer.token })).status).toBe(403);
    const gb = await gql<BaselineQuery>(t.url, 'query($i: ID!) { baseline(instanceId: $i) { accountCount accounts { account privileges } } }', { i: String(pgInstance) }, user.token);
    expect(gb.body.data.baseline.accounts.find((a) => a.account === `${P}gone`)!.privileges).toEqual(PG_LOGIN);
  });

  it('a sync after grants, revokes, a new and a dropped role reports exactly that drift (REST, GraphQL, CSV) and logs it', async () => {
    await pgAdmin(async (c) => {
      await c.query(`CREATE ROLE ${P}extra LOGIN`);
      await c.query(`DROP ROLE ${P}gone`);
      await c.query(`REVOKE ${P}readers FROM ${P}app`);
    });
    await pgAdmin((c) => c.query(`GRANT INSERT ON orders TO ${P}app`), managedDb.url);
    const sessionId = await syncAndWait(pgInstance);

    const expected = [
      { kind: 'extra_privilege', account: `${P}app`, privilege: `database:${dbName}:INSERT`, privileges: [] },
      { kind: 'missing_privilege', account: `${P}app`, privilege: `role:${P}readers`, privileges: [] },
      { kind: 'extra_account', account: `${P}extra`, privilege: null, privileges: PG_LOGIN },
      { kind: 'missing_account', account: `${P}gone`, privilege: null, privileges: PG_LOGIN },
    ];
    const report = await drift(pgInstance, user.token);
    expect(mine(report.items)).toEqual(expected);
    expect(report.has_drift).toBe(true);
    expect(report.last_session_id).toBe(sessionId);
    expect(report.summary.total).toBe(report.items.length);

    const g = await gql<DriftReportQuery>(
      t.url,
      'query($i: ID!) { driftReport(instanceId: $i) { hasDrift lastSessionId summary { total } items { kind account privilege privileges } } }',
      { i: String(pgInstance) },
      admin,
    );
    expect(mine(g.body.data.driftReport.items)).toEqual(expected);
    expect(g.body.data.driftReport.lastSessionId).toBe(sessionId);

    const csv = await call<string>(t.url, 'GET', `/api/instances/${pgInstance}/drift.csv`, { token: admin });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = csv.body.split('\n');
    expect(rows[0]).toBe('kind,account,privilege,account_privileges');
    expect(rows.filter((r) => r.includes(`,${P}`))).toEqual([
      `extra_privilege,${P}app,database:${dbName}:INSERT,`,
      `missing_privilege,${P}app,role:${P}readers,`,
      `extra_account,${P}extra,,attribute:inherit; attribute:login`,
      `missing_account,${P}gone,,attribute:inherit; attribute:login`,
    ]);
    const csv2 = await call<string>(t.url, 'GET', `/api/instances/${pgInstance}/drift?format=csv`, { token: admin });
    expect(csv2.body).toBe(csv.body);
    const badFormat = await call(t.url, 'GET', `/api/instances/${pgInstance}/drift?format=xml`, { token: admin });
    expect(badFormat.status).toBe(400);

    // The sync stored the report on the baseline and logged a summary.
    const stored = await t.app.deps.prisma.baseline.findUniqueOrThrow({ where: { instanceId: pgInstance } });
    expect(stored.lastSessionId).toBe(sessionId);
    expect(mine((stored.lastReport as any).items)).toEqual(expected);
    const [entry] = await logs({ level: 'WARNING', instanceId: pgInstance, context: { path: ['session_id'], equals: sessionId } });
    expect(entry?.message).toMatch(/^检测到权限漂移/);
    expect((entry!.context as any).summary.total).toBe(report.summary.total);
  });

  it('accepting items updates the baseline, logs the actor, and the report no longer shows them', async () => {
    const items = [
      { kind: 'extra_privilege', account: `${P}app`, privilege: `database:${dbName}:INSERT` },
      { kind: 'missing_account', account: `${P}gone` },
    ];
    const denied = await call(t.url, 'POST', `/api/instances/${pgInstance}/drift/accept`, { token: user.token, json: { items } });
    expect(denied.status).toBe(403);

    const res = await call(t.url, 'POST', `/api/instances/${pgInstance}/drift/accept`, { token: admin, json: { items } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(mine(res.body.data.items)).toEqual([
      { kind: 'missing_privilege', account: `${P}app`, privilege: `role:${P}readers`, privileges: [] },
      { kind: 'extra_account', account: `${P}extra`, privilege: null, privileges: PG_LOGIN },
    ]);
    expect(mine((await drift(pgInstance)).items)).toEqual(mine(res.body.data.items));

    const b = await call(t.url, 'GET', `/api/instances/${pgInstance}/baseline`, { token: admin });
    const accounts = new Map<string, string[]>(b.body.data.accounts.map((a: any) => [a.account, a.privileges]));
    expect(accounts.get(`${P}app`)).toEqual([...PG_LOGIN, `database:${dbName}:CONNECT`, `database:${dbName}:INSERT`, `database:${dbName}:SELECT`, `role:${P}readers`]);
    expect(accounts.has(`${P}gone`)).toBe(false);
    expect(b.body.data.accepted_by).toEqual({ id: adminId, username: 'admin' });

    const entries = await logs({ userId: adminId, instanceId: pgInstance, message: { startsWith: '漂移条目已接受' } });
    expect(entries).toHaveLength(1);
    expect((entries[0]!.context as any).accepted).toEqual([
      { kind: 'extra_privilege', account: `${P}app`, privilege: `database:${dbName}:INSERT` },
      { kind: 'missing_account', account: `${P}gone`, privilege: null },
    ]);

    // The rest through GraphQL.
    const g = await gql<AcceptDriftMutation>(
      t.url,
      'mutation($i: ID!, $items: [DriftItemInput!]!) { acceptDrift(instanceId: $i, items: $items) { hasDrift summary { total } items { kind account privilege } } }',
      {
        i: String(pgInstance),
        items: [
          { kind: 'missing_privilege', account: `${P}app`, privilege: `role:${P}readers` },
          { kind: 'extra_account', account: `${P}extra` },
        ],
      },
      admin,
    );
    expect(g.body.errors).toBeUndefined();
    expect(mine(g.body.data.acceptDrift.items)).toEqual([]);
    const after = await call(t.url, 'GET', `/api/instances/${pgInstance}/baseline`, { token: admin });
    const acc2 = new Map<string, string[]>(after.body.data.accounts.map((a: any) => [a.account, a.privileges]));
    expect(acc2.get(`${P}extra`)).toEqual(PG_LOGIN);
    expect(acc2.get(`${P}app`)).not.toContain(`role:${P}readers`);
    expect(await logs({ userId: adminId, instanceId: pgInstance, message: { startsWith: '漂移条目已接受' } })).toHaveLength(2);
  });

  it('rejects bad items with 400 and unknown instances with 404, changing nothing', async () => {
    const before = await call(t.url, 'GET', `/api/instances/${pgInstance}/baseline`, { token: admin });
    const accept = (json: unknown, id = pgInstance) => call(t.url, 'POST', `/api/instances/${id}/drift/accept`, { token: admin, json });

    const stale = await accept({ items: [{ kind: 'missing_account', account: `${P}gone` }] });
    expect(stale.status).toBe(400);
    expect(stale.body).toMatchObject({ status: 'error', error: 'ValidationError', code: 400, details: { errors: [{ field: 'items.0' }] } });
    const badKind = await accept({ items: [{ kind: 'surplus', account: `${P}app` }] });
    expect(badKind.status).toBe(400);
    expect(badKind.body.details.errors[0].field).toBe('items.0.kind');
    const noPriv = await accept({ items: [{ kind: 'extra_privilege', account: `${P}app` }] });
    expect(noPriv.status).toBe(400);
    expect(noPriv.body.details.errors[0].field).toBe('items.0.privilege');
    expect((await accept({ items: [] })).status).toBe(400);
    expect((await accept({})).status).toBe(400);
    expect((await accept('nope')).status).toBe(400);

    const after = await call(t.url, 'GET', `/api/instances/${pgInstance}/baseline`, { token: admin });
    expect(after.body.data).toEqual(before.body.data);

    for (const [method, path] of [
      ['GET', '/api/instances/999999/drift'],
      ['GET', '/api/instances/999999/drift.csv'],
      ['GET', '/api/instances/999999/baseline'],
      ['POST', '/api/instances/999999/baseline'],
      ['GET', '/api/instances/999999/grants.txt'],
    ]) {
      const res = await call(t.url, method!, path!, { token: admin });
      expect(res.status, path).toBe(404);
      expect(res.body).toMatchObject({ status: 'error', error: 'ResourceNotFoundError', code: 404 });
    }
    expect((await accept({ items: [{ kind: 'missing_account', account: 'x' }] }, 999999)).status).toBe(404);
    expect((await call(t.url, 'GET', '/api/instances/abc/drift', { token: admin })).status).toBe(400);
    const g = await gql(t.url, 'query { driftReport(instanceId: "999999") { hasDrift } }', {}, admin);
    expect(g.body.errors[0].extensions.code).toBe('NOT_FOUND');
  });
});

describe('tag baselines and MariaDB drift', () => {
  it('freezes every instance carrying a tag together, recording the tag', async () => {
    await syncAndWait(myInstance);
    const prisma = t.app.deps.prisma;
    const tag = await prisma.tag.create({ data: { name: `${P}prod`, displayName: 'prod' } });
    await prisma.instanceTag.createMany({ data: [{ instanceId: pgInstance, tagId: tag.id }, { instanceId: myInstance, tagId: tag.id }] });
    await prisma.tag.create({ data: { name: `${P}empty`, displayName: 'empty' } });

    expect((await call(t.url, 'POST', '/api/baselines', { token: user.token, json: { tag: `${P}prod` } })).status).toBe(403);
    expect((await call(t.url, 'POST', '/api/baselines', { token: admin, json: { tag: `${P}nosuch` } })).status).toBe(404);
    expect((await call(t.url, 'POST', '/api/baselines', { token: admin, json: { tag: `${P}empty` } })).status).toBe(422);
    const both = await call(t.url, 'POST', '/api/baselines', { token: admin, json: { tag: `${P}prod`, instance_id: myInstance } });
    expect(both.status).toBe(400);
    expect((await call(t.url, 'POST', '/api/baselines', { token: admin, json: {} })).status).toBe(400);

    const res = await call(t.url, 'POST', '/api/baselines', { token: admin, json: { tag: `${P}prod` } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data.count).toBe(2);
    const [a, b] = res.body.data.baselines;
    expect([a.instance_id, b.instance_id]).toEqual([pgInstance, myInstance].sort((x, y) => x - y));
    expect(a.tag_name).toBe(`${P}prod`);
    expect(b.tag_name).toBe(`${P}prod`);
    expect(a.group_id).toBe(b.group_id);
    expect(await prisma.baseline.count({ where: { groupId: a.group_id } })).toBe(2);

    // GraphQL freezes by tag as well (a new group replaces both).
    const g = await gql<CreateBaselineMutation>(t.url, 'mutation($tag: String) { createBaseline(tag: $tag) { instanceId tagName groupId } }', { tag: `${P}prod` }, admin);
    expect(g.body.errors).toBeUndefined();
    expect(g.body.data.createBaseline.map((x) => x.tagName)).toEqual([`${P}prod`, `${P}prod`]);
    expect(new Set(g.body.data.createBaseline.map((x) => x.groupId)).size).toBe(1);
    expect(g.body.data.createBaseline[0]!.groupId).not.toBe(a.group_id);
    expect(await prisma.baseline.count({ where: { groupId: a.group_id } })).toBe(0);
    const my = await call(t.url, 'GET', `/api/instances/${myInstance}/baseline`, { token: admin });
    const accounts = new Map<string, string[]>(my.body.data.accounts.map((x: any) => [x.account, x.privileges]));
    expect(accounts.get(`${P}web@%`)).toEqual([`database:${P}shop:SELECT`]);
    expect(accounts.get(`${P}collector@127.0.0.1`)).toEqual(['database:mysql:SELECT', 'global:SELECT']);
    expect(mine((await drift(myInstance)).items)).toEqual([]);
  });

  it('reports a grant, a new user and a dropped user after a sync', async () => {
    await mariaRoot(async (c) => {
      await c.query(`GRANT INSERT ON \`${P}shop\`.* TO '${P}web'@'%'`);
      await c.query(`CREATE USER '${P}new'@'%' IDENTIFIED BY 'x'`);
      await c.query(`DROP USER '${P}old'@'%'`);
    });
    await syncAndWait(myInstance);
    expect(mine((await drift(myInstance)).items)).toEqual([
      { kind: 'extra_account', account: `${P}new@%`, privilege: null, privileges: [] },
      { kind: 'missing_account', account: `${P}old@%`, privilege: null, privileges: [`database:${P}shop:SELECT`] },
      { kind: 'extra_privilege', account: `${P}web@%`, privilege: `database:${P}shop:INSERT`, privileges: [] },
    ]);
  });
});

describe('grant export', () => {
  const grants = (path: string, token = admin) => call<string>(t.url, 'GET', `/api/instances/${myInstance}${path}`, { token });

  it('is sorted, one privilege per line, without secrets, and the same over REST and GraphQL', async () => {
    const res = await grants('/grants.txt', user.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    for (const l of lines) expect(l).toMatch(/^[^\t\n]+\t(\(none\)|(global|database|table|role):[^\t\n]+)$/);
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const keys = lines.map((l) => l.split('\t') as [string, string]);
    expect([...keys].sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]))).toEqual(keys);
    expect(myLines(text)).toEqual([
      `${P}collector@127.0.0.1\tdatabase:mysql:SELECT`,
      `${P}collector@127.0.0.1\tglobal:SELECT`,
      `${P}new@%\t(none)`,
      `${P}web@%\tdatabase:${P}shop:INSERT`,
      `${P}web@%\tdatabase:${P}shop:SELECT`,
    ]);
    expect(text).not.toMatch(/IDENTIFIED|redacted|PASSWORD|\*[0-9A-F]{40}/);
    expect((await grants('/grants?format=text')).body).toBe(text);
    expect((await grants('/grants')).body).toBe(text);
    const g = await gql<GrantExportQuery>(t.url, 'query($i: ID!) { grantExport(instanceId: $i) }', { i: String(myInstance) }, admin);
    expect(g.body.data.grantExport).toBe(text);

    const csv = await grants('/grants.csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = csv.body.slice(0, -1).split('\n');
    expect(rows[0]).toBe('account,privilege');
    expect(rows).toHaveLength(lines.length + 1);
    expect(rows.filter((r) => r.startsWith(P))).toContain(`${P}web@%,database:${P}shop:INSERT`);
    expect((await grants('/grants?format=csv')).body).toBe(csv.body);
    const gc = await gql<GrantExportQuery>(t.url, 'query($i: ID!) { grantExport(instanceId: $i, format: csv) }', { i: String(myInstance) }, admin);
    expect(gc.body.data.grantExport).toBe(csv.body);
    expect((await grants('/grants?format=xml')).status).toBe(400);
    expect((await grants('/grants.txt', viewer.token)).status).toBe(403);

    const pg = await call<string>(t.url, 'GET', `/api/instances/${pgInstance}/grants.txt`, { token: admin });
    expect(myLines(pg.body).filter((l) => l.startsWith(`${P}app\t`))).toEqual([
      `${P}app\tattribute:inherit`,
      `${P}app\tattribute:login`,
      `${P}app\tdatabase:${dbName}:CONNECT`,
      `${P}app\tdatabase:${dbName}:INSERT`,
      `${P}app\tdatabase:${dbName}:SELECT`,
    ]);
  });

  it('is byte-identical for identical state: twice, with the stored JSON lists in another order, and after a no-change re-sync', async () => {
    const first = (await grants('/grants.txt')).body;
    expect((await grants('/grants.txt')).body).toBe(first);
    // Engines list privileges in no particular order: reverse every stored list of the instance.
    const reversed = await t.app.deps.pool.query(
      `UPDATE current_account_sync_data
          SET global_privileges = (SELECT jsonb_agg(v ORDER BY o DESC) FROM jsonb_array_elements(global_privileges) WITH ORDINALITY AS x(v, o)),
              database_privileges = (SELECT jsonb_object_agg(k, (SELECT jsonb_agg(v ORDER BY o DESC) FROM jsonb_array_elements(l) WITH ORDINALITY AS y(v, o)))
                                       FROM jsonb_each(database_privileges) AS e(k, l))
        WHERE instance_id = $1 AND jsonb_array_length(global_privileges) > 0 AND jsonb_typeof(database_privileges) = 'object'`,
      [myInstance],
    );
    expect(reversed.rowCount).toBeGreaterThan(0);
    const web = await t.app.deps.prisma.currentAccount.findFirstOrThrow({ where: { instanceId: myInstance, username: `${P}web@%` } });
    expect((web.databasePrivileges as any)[`${P}shop`]).toEqual(['SELECT', 'INSERT']); // no longer sorted
    expect((await grants('/grants.txt')).body).toBe(first);
    // The re-sync rewrites what other servers' users changed meanwhile; this file's accounts did not change.
    await syncAndWait(myInstance);
    expect(myLines((await grants('/grants.txt')).body)).toEqual(myLines(first));
  });

  it('changes by exactly the expected line after a grant', async () => {
    const before = myLines((await grants('/grants.txt')).body);
    await mariaRoot((c) => c.query(`GRANT UPDATE ON \`${P}shop\`.* TO '${P}web'@'%'`));
    await syncAndWait(myInstance);
    const after = myLines((await grants('/grants.txt')).body);
    expect(after.filter((l) => !before.includes(l))).toEqual([`${P}web@%\tdatabase:${P}shop:UPDATE`]);
    expect(before.filter((l) => !after.includes(l))).toEqual([]);
    expect(after).toEqual([...before, `${P}web@%\tdatabase:${P}shop:UPDATE`].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });
});
