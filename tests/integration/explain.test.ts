/**
 * Classification explanations and stale accounts against accounts synced from the real PostgreSQL
 * and MariaDB servers: after auto-classify, classificationReasons names the concrete attribute or
 * privilege (GraphQL and REST), a manual assignment names who made it, accounts whose password
 * expired or was last changed long ago are flagged stale with the configured age (fresh ones are
 * not), staleness dates are refreshed without change-log rows, and the stale classification's data
 * migration creates it once for existing installations.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { STALE_CLASSIFICATION } from '../../src/services/classification/classification-service.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, registerSecret, userWithRole } from '../helpers/http.js';
import { mariaRoot, pgAdmin, prefix, registerInstance } from '../helpers/managed.js';
import { PG_ADMIN_URL } from '../helpers/env.js';
import { currentScope } from '../../src/logging/request-context.js';

let t: TestApp;
let admin: string;
const P = prefix();
const PG_PASSWORD = registerSecret('Pg-Explain-Secret-7');
const MY_PASSWORD = registerSecret('My-Explain-Secret-7');
/** Not the default (90): the explanations must show the configured age. */
const STALE_DAYS = 400;
const OLD_CHANGE = '2020-01-02T03:04:05.000Z';
let managedDb: { url: string; drop: () => Promise<void> };
let pgInstance: number;
let myInstance: number;
const STALE = STALE_CLASSIFICATION.name;

const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  t = await startTestApp({ SCHEDULER_ENABLED: 'false', AUTO_CLASSIFY_AFTER_SYNC: 'false', STALE_ACCOUNT_DAYS: String(STALE_DAYS) });
  admin = (await login(t.url)).access_token;
  managedDb = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_explain');
  const dbName = new URL(managedDb.url).pathname.slice(1);
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PG_PASSWORD}'`);
    await c.query(`CREATE ROLE ${P}expired LOGIN PASSWORD 'x' VALID UNTIL '2001-01-01 00:00:00+00'`);
    await c.query(`CREATE ROLE ${P}fresh LOGIN PASSWORD 'x' VALID UNTIL '${inAYear}'`);
    await c.query(`CREATE ROLE ${P}plain LOGIN`);
    await c.query(`CREATE ROLE ${P}group NOLOGIN VALID UNTIL '2001-01-01 00:00:00+00'`);
  });
  await mariaRoot(async (c) => {
    await c.query(`CREATE USER '${P}collector'@'127.0.0.1' IDENTIFIED BY '${MY_PASSWORD}'`);
    await c.query(`GRANT SELECT ON *.* TO '${P}collector'@'127.0.0.1'`);
    await c.query(`CREATE USER '${P}root'@'%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SUPER, SELECT ON *.* TO '${P}root'@'%'`);
    await c.query(`CREATE USER '${P}old'@'%' IDENTIFIED BY 'x'`);
    await c.query(`CREATE USER '${P}fresh'@'%' IDENTIFIED BY 'x'`);
    await c.query(`CREATE USER '${P}forced'@'%' IDENTIFIED BY 'x' PASSWORD EXPIRE`);
    // A password last changed years ago, as the server records it (MariaDB: global_priv JSON, Unix seconds).
    await setMariaPasswordChanged(c, `${P}old`, OLD_CHANGE);
  });
  pgInstance = await registerInstance(t, { name: `${P}pg`, dbType: 'postgresql', port: 5432, database: dbName, username: `${P}collector`, password: PG_PASSWORD });
  myInstance = await registerInstance(t, { name: `${P}my`, dbType: 'mysql', port: 3306, username: `${P}collector`, password: MY_PASSWORD });
  for (const id of [pgInstance, myInstance]) await sync(id);
  const batch = await call(t.url, 'POST', '/account-classification/auto-classify', { token: admin, json: {} });
  expect(batch.status, JSON.stringify(batch.body)).toBe(200);
});

afterAll(async () => {
  await t?.close();
  await pgAdmin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`${P}%`]);
    await managedDb?.drop();
    for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  }).catch(() => {});
  await mariaRoot(async (c) => {
    const [rows] = await c.query<any[]>(`SELECT User, Host FROM mysql.user WHERE User LIKE ?`, [`${P}%`]);
    for (const r of rows) await c.query(`DROP USER ?@?`, [r.User, r.Host]);
  }).catch(() => {});
});

async function setMariaPasswordChanged(c: Awaited<Parameters<Parameters<typeof mariaRoot>[0]>[0]>, user: string, iso: string) {
  await c.query(`UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.password_last_changed', ?) WHERE User = ? AND Host = '%'`, [Math.floor(Date.parse(iso) / 1000), user]);
  await c.query('FLUSH PRIVILEGES');
}

async function sync(instanceId: number) {
  const res = await call(t.url, 'POST', `/instances/${instanceId}/sync?wait=true`, { token: admin });
  expect(res.body.data.status, JSON.stringify(res.body)).toBe('completed');
  return res.body.data;
}

const REASONS_QUERY = `query($i: ID, $s: String, $n: Int) { accounts(instanceId: $i, search: $s, perPage: $n) { nodes {
  id username lastLoginAt passwordChangedAt passwordExpiresAt
  classificationReasons { assignmentId classification { name riskLevel } assignmentType assignedAt assignedBy { username } rule { id name dbType }
    matchesNow note reasons { field op expected actual holds negated text } }
} } }`;

async function accountsOf(instanceId: number): Promise<Record<string, any>> {
  const res = await gql(t.url, REASONS_QUERY, { i: instanceId, s: P, n: 100 }, admin);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return Object.fromEntries(res.body.data.accounts.nodes.map((n: any) => [n.username, n]));
}
const namesOf = (a: any) => a.classificationReasons.map((r: any) => r.classification.name).sort();
const reasonFor = (a: any, classification: string) => a.classificationReasons.find((r: any) => r.classification.name === classification);

describe('classification reasons', () => {
  it('name the concrete attribute or privilege that made a superuser match (GraphQL)', async () => {
    const pgAccounts = await accountsOf(pgInstance);
    const su = reasonFor(pgAccounts[`${P}collector`], '特权账户');
    expect(su).toMatchObject({ assignmentType: 'auto', assignedBy: null, matchesNow: true, note: null, rule: { name: 'PostgreSQL SUPERUSER', dbType: 'postgresql' }, classification: { riskLevel: 'critical' } });
    expect(su.reasons).toEqual([
      { field: 'role_attributes', op: 'has_any', expected: ['can_super'], actual: ['can_super'], holds: true, negated: false, text: 'role_attributes has_any can_super: has can_super is true' },
    ]);
    const myAccounts = await accountsOf(myInstance);
    const root = reasonFor(myAccounts[`${P}root@%`], '特权账户');
    expect(root).toMatchObject({ assignmentType: 'auto', rule: { name: 'MySQL SUPER' }, matchesNow: true });
    expect(root.reasons.map((r: any) => r.text)).toEqual(['global_privileges has_any SUPER: has SUPER']);
    // The read-only rule (AND of OR / has_none / NOT-like exclusions) lists every condition it met.
    const reader = reasonFor(myAccounts[`${P}collector@127.0.0.1`], '只读用户');
    expect(reader.reasons.map((r: any) => r.text)).toEqual([
      'global_privileges has SELECT: has SELECT',
      expect.stringMatching(/^global_privileges has_none INSERT, .*: has none of them$/),
      expect.stringMatching(/^database_privileges has_none INSERT, .*: has none of them$/),
    ]);
    // Every reason of a match is a true statement about the account.
    for (const a of [...Object.values(pgAccounts), ...Object.values(myAccounts)]) {
      for (const r of a.classificationReasons) {
        expect(r.matchesNow, `${a.username} ${r.classification.name}`).toBe(true);
        for (const x of r.reasons) expect(x.holds).not.toBe(x.negated);
      }
    }
  });

  it('show who assigned a manual classification and when, with no rule', async () => {
    const plain = (await accountsOf(pgInstance))[`${P}plain`];
    expect(plain.classificationReasons).toEqual([]);
    const normal = (await t.app.deps.prisma.accountClassification.findFirstOrThrow({ where: { name: '普通账户' } })).id;
    const before = Date.now();
    const assigned = await call(t.url, 'POST', '/account-classification/assign', { token: admin, json: { account_id: Number(plain.id), classification_id: normal, notes: 'app owner confirmed' } });
    expect(assigned.status, JSON.stringify(assigned.body)).toBe(201);
    const [manual] = (await accountsOf(pgInstance))[`${P}plain`].classificationReasons;
    expect(manual).toMatchObject({ classification: { name: '普通账户' }, assignmentType: 'manual', assignedBy: { username: 'admin' }, rule: null, matchesNow: null, reasons: [] });
    expect(new Date(manual.assignedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);

    // REST: the documented envelope, snake_case.
    const rest = await call(t.url, 'GET', `/api/accounts/${plain.id}/classification-reasons`, { token: admin });
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ status: 'success', success: true, data: { account_id: Number(plain.id) } });
    expect(rest.body.data.reasons).toEqual([
      expect.objectContaining({ assignment_type: 'manual', assigned_by: { id: expect.any(Number), username: 'admin' }, notes: 'app owner confirmed', rule: null, reasons: [], classification: expect.objectContaining({ name: '普通账户', risk_level: 'low' }) }),
    ]);
  });

  it('are served over REST for auto assignments, 404 for unknown accounts, with the view permission', async () => {
    const id = (await accountsOf(myInstance))[`${P}root@%`].id;
    const res = await call(t.url, 'GET', `/api/accounts/${id}/classification-reasons`, { token: admin });
    const su = res.body.data.reasons.find((r: any) => r.classification.name === '特权账户');
    expect(su).toMatchObject({ assignment_type: 'auto', assigned_by: null, matches_now: true, rule: { name: 'MySQL SUPER', db_type: 'mysql', rule_expression: { global_privileges: ['SUPER'] } } });
    expect(su.reasons[0]).toMatchObject({ field: 'global_privileges', actual: ['SUPER'], text: 'global_privileges has_any SUPER: has SUPER' });
    expect((await call(t.url, 'GET', '/api/accounts/99999999/classification-reasons', { token: admin })).status).toBe(404);
    expect((await call(t.url, 'GET', `/api/accounts/${id}/classification-reasons`)).status).toBe(401);
    const viewer = await userWithRole(t.url, admin, 'viewer');
    const user = await userWithRole(t.url, admin, 'user');
    expect((await call(t.url, 'GET', `/api/accounts/${id}/classification-reasons`, { token: viewer.token })).status).toBe(403);
    expect((await call(t.url, 'GET', `/api/accounts/${id}/classification-reasons`, { token: user.token })).status).toBe(200);
    const g = await gql(t.url, `query($id: ID!) { account(id: $id) { classificationReasons { assignmentType } } }`, { id }, viewer.token);
    expect(g.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('cost a fixed number of queries for a page of accounts (batched)', async () => {
    const countQueries = async (fn: () => Promise<unknown>) => {
      const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
      const original = proto.query;
      let n = 0;
      proto.query = function (this: unknown, ...args: unknown[]) {
        // Only queries made while serving a request: background work (sync worker, webhook sender,
        // scheduler polls) has no request scope and must not make the count flaky.
        if (currentScope()) n++;
        return original.apply(this, args);
      };
      try {
        await fn();
      } finally {
        proto.query = original;
      }
      return n;
    };
    const page = async (n: number) => {
      await t.app.deps.logSink.flush();
      const nodes: any[] = [];
      const q = await countQueries(async () => {
        const res = await gql(t.url, REASONS_QUERY, { i: myInstance, s: P, n }, admin);
        expect(res.body.errors).toBeUndefined();
        nodes.push(...res.body.data.accounts.nodes);
      });
      return { q, nodes };
    };
    await page(1); // warm the authentication cache
    const one = await page(1);
    const all = await page(100);
    expect(all.nodes.length).toBeGreaterThanOrEqual(5);
    expect(all.nodes.filter((n) => n.classificationReasons.length > 0).length).toBeGreaterThanOrEqual(2);
    expect(one.q).toBeGreaterThan(0); // the request's queries are seen (the scope reaches the driver)
    expect(all.q).toBe(one.q);
  });
});

describe('stale accounts', () => {
  it('carry the dates each engine reports (GraphQL and REST)', async () => {
    const pgAccounts = await accountsOf(pgInstance);
    expect(pgAccounts[`${P}expired`]).toMatchObject({ passwordExpiresAt: '2001-01-01T00:00:00.000Z', passwordChangedAt: null, lastLoginAt: null });
    expect(pgAccounts[`${P}plain`]).toMatchObject({ passwordExpiresAt: null, passwordChangedAt: null, lastLoginAt: null });
    const my = await accountsOf(myInstance);
    expect(my[`${P}old@%`]).toMatchObject({ passwordChangedAt: OLD_CHANGE, lastLoginAt: null });
    expect(Date.now() - Date.parse(my[`${P}fresh@%`].passwordChangedAt)).toBeLessThan(86_400_000);
    // PASSWORD EXPIRE: MariaDB forgets the change time (0); the account says it is expired instead.
    expect(my[`${P}forced@%`].passwordChangedAt).toBeNull();
    const forced = await call(t.url, 'GET', `/api/accounts/${my[`${P}forced@%`].id}`, { token: admin });
    expect(forced.body.data).toMatchObject({ password_changed_at: null, last_login_at: null, permissions: { type_specific: { password_expired: true } } });
    const old = await call(t.url, 'GET', `/api/accounts/${my[`${P}old@%`].id}`, { token: admin });
    expect(old.body.data).toMatchObject({ password_changed_at: OLD_CHANGE, password_expires_at: null });
  });

  it('are flagged by the built-in classification with the configured age, with reasons; fresh ones are not', async () => {
    const pgAccounts = await accountsOf(pgInstance);
    expect(namesOf(pgAccounts[`${P}expired`])).toEqual([STALE]);
    const expired = reasonFor(pgAccounts[`${P}expired`], STALE);
    expect(expired).toMatchObject({ assignmentType: 'auto', rule: { name: 'PostgreSQL 密码过期已久' }, classification: { riskLevel: 'medium' } });
    expect(expired.reasons.map((r: any) => r.text)).toEqual([
      'is_active is true: is true',
      expect.stringMatching(new RegExp(`^password_expires_at older_than_days ${STALE_DAYS} days \\(STALE_ACCOUNT_DAYS\\): 2001-01-01T00:00:00.000Z \\(\\d+ days ago\\)$`)),
    ]);
    expect(expired.reasons[1]).toMatchObject({ expected: STALE_DAYS, actual: '2001-01-01T00:00:00.000Z' });
    for (const fresh of ['fresh', 'plain', 'group']) expect(namesOf(pgAccounts[`${P}${fresh}`])).not.toContain(STALE);

    const my = await accountsOf(myInstance);
    expect(namesOf(my[`${P}old@%`])).toEqual([STALE]);
    expect(reasonFor(my[`${P}old@%`], STALE).reasons).toEqual([
      expect.objectContaining({ field: 'password_changed_at', op: 'older_than_days', expected: STALE_DAYS, actual: OLD_CHANGE, holds: true, negated: false }),
    ]);
    for (const fresh of ['fresh@%', 'forced@%', 'root@%', 'collector@127.0.0.1']) expect(namesOf(my[`${P}${fresh}`])).not.toContain(STALE);
  });

  it('refresh moved dates without change-log rows, and an unchanged re-sync writes nothing', async () => {
    const prisma = t.app.deps.prisma;
    // The server is shared with other tests: look at this file's accounts only.
    const changes = () => prisma.accountChangeLog.count({ where: { instanceId: myInstance, username: { startsWith: P } } });
    const mine = () => prisma.currentAccount.findMany({ where: { instanceId: myInstance, username: { startsWith: P } }, orderBy: { id: 'asc' } });
    const row = () => prisma.currentAccount.findFirstOrThrow({ where: { instanceId: myInstance, username: `${P}old@%` } });
    const before = await row();
    const rowsBefore = await mine();
    const logged = await changes();
    // Unchanged: no write at all (not even last_sync_time or session_id move).
    await sync(myInstance);
    expect(await changes()).toBe(logged);
    expect(await mine()).toEqual(rowsBefore);
    // The password changes on the server: the typed date follows, no change is logged for it
    // (MariaDB reports it only in global_priv, which type_specific does not mirror).
    const newer = '2024-06-07T08:09:10.000Z';
    await mariaRoot((c) => setMariaPasswordChanged(c, `${P}old`, newer));
    await sync(myInstance);
    expect(await changes()).toBe(logged);
    const after = await row();
    expect(after.passwordChangedAt?.toISOString()).toBe(newer);
    expect({ ...after, passwordChangedAt: null }).toEqual({ ...before, passwordChangedAt: null }); // nothing else moved
    await mariaRoot((c) => setMariaPasswordChanged(c, `${P}old`, OLD_CHANGE));
    await sync(myInstance);
  });

  it('the data migration creates the classification once on an existing installation, with the seeded rules', async () => {
    const sql = readFileSync(new URL('../../prisma/migrations/20261201104700_stale_classification/migration.sql', import.meta.url), 'utf8');
    const client = await t.app.deps.pool.connect();
    try {
      await client.query('BEGIN');
      // An installation from before: the other defaults, no stale classification.
      await client.query(`DELETE FROM account_classifications WHERE name = $1`, [STALE]);
      await client.query(sql);
      await client.query(sql); // a second run (or an existing classification of that name) adds nothing
      const { rows } = await client.query(
        `SELECT c.is_system, c.risk_level, r.db_type, r.rule_name, r.rule_expression FROM account_classifications c JOIN classification_rules r ON r.classification_id = c.id WHERE c.name = $1 ORDER BY r.id`,
        [STALE],
      );
      expect(rows.every((r) => r.is_system && r.risk_level === STALE_CLASSIFICATION.riskLevel)).toBe(true);
      expect(rows.map((r) => ({ dbType: r.db_type, ruleName: r.rule_name, expr: r.rule_expression }))).toEqual(STALE_CLASSIFICATION.rules);
      // A new installation (no classifications yet): nothing; the seed creates all the defaults.
      await client.query('DELETE FROM account_classifications');
      await client.query(sql);
      expect((await client.query('SELECT count(*)::int AS n FROM account_classifications')).rows[0].n).toBe(0);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
