/**
 * Point in time (accountsAt): a scripted sequence of grants, revokes, superuser changes, drops and
 * re-creations is played against the real PostgreSQL and MariaDB, with a sync after each step; then
 * every remembered moment (and moments between the steps) is asked over REST and GraphQL, and the
 * answers must be exactly the state of that step: who could write to the database, who was
 * superuser, who had the role, who had been dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, registerSecret, userWithRole } from '../helpers/http.js';
import { mariaRoot, pgAdmin, prefix, registerInstance } from '../helpers/managed.js';
import { PG_ADMIN_URL } from '../helpers/env.js';
import type { AccountsAtQuery } from '../generated/operations.js';
import { readFileSync } from 'node:fs';

const ACCOUNTS_AT = readFileSync(new URL('../operations/history.graphql', import.meta.url), 'utf8');

let t: TestApp;
let admin: string;
const P = prefix();
const PG_PASSWORD = registerSecret('Pg-History-Secret-9');
const MY_PASSWORD = registerSecret('My-History-Secret-9');
let managedDb: { url: string; drop: () => Promise<void> };
let dbName: string;
let pgInstance: number;
let myInstance: number;

/** What must be true at one step: names relative to the prefix (MySQL without @host). */
interface Expected {
  writers: string[];
  supers: string[];
  roleMembers: string[];
  present: string[];
  deleted: string[];
}
interface Step {
  label: string;
  /** Just after the step's sync finished. */
  at: Date;
  /** Just before the next step's statements ran (still this step's state). */
  until?: Date;
  expected: Expected;
}

beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
  managedDb = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_managed');
  dbName = new URL(managedDb.url).pathname.slice(1);
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PG_PASSWORD}'`);
  });
  await pgAdmin((c) => c.query('CREATE TABLE orders (id int)'), managedDb.url);
  await mariaRoot(async (c) => {
    await c.query(`CREATE DATABASE ${P}shop`);
    await c.query(`CREATE TABLE ${P}shop.orders (id int)`);
    await c.query(`CREATE USER '${P}collector'@'127.0.0.1' IDENTIFIED BY '${MY_PASSWORD}'`);
    await c.query(`GRANT SELECT ON *.* TO '${P}collector'@'127.0.0.1'`);
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
    for (const r of rows) await c.query(r.is_role === 'Y' ? `DROP ROLE ?` : `DROP USER ?@?`, r.is_role === 'Y' ? [r.User] : [r.User, r.Host]);
    await c.query(`DROP DATABASE IF EXISTS ${P}shop`);
  }).catch(() => {});
});

async function syncAndWait(instanceId: number): Promise<Date> {
  const res = await call(t.url, 'POST', `/api/instances/${instanceId}/sync?wait=true`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.data.status, JSON.stringify(res.body.data)).toBe('completed');
  return new Date();
}

/** Short names: prefix removed, MySQL host part removed. */
const short = (u: string) => u.slice(P.length).replace(/@.*$/, '');
const sorted = (a: string[]) => [...a].sort();

async function restAt(instanceId: number, at: Date, query = ''): Promise<any[]> {
  const res = await call(t.url, 'GET', `/api/instances/${instanceId}/accounts-at?at=${encodeURIComponent(at.toISOString())}&search=${P}&per_page=100${query}`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.pagination.total).toBe(res.body.data.length);
  return res.body.data;
}

async function gqlAt(instanceId: number, at: Date, vars: Record<string, unknown> = {}) {
  const res = await gql<AccountsAtQuery>(t.url, ACCOUNTS_AT, { instanceId: String(instanceId), at: at.toISOString(), search: P, first: 100, ...vars }, admin);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data.accountsAt.edges.map((e) => e.node);
}

/** The answers at `at` over both transports, each as sorted short names. */
async function answersAt(instanceId: number, at: Date, database: string, role: string): Promise<Expected> {
  const names = (rows: Array<{ username: string }>) => sorted(rows.map((r) => short(r.username)));
  const rest: Expected = {
    writers: names(await restAt(instanceId, at, `&privilege=insert&database=${encodeURIComponent(database)}`)),
    supers: names(await restAt(instanceId, at, '&is_superuser=true')),
    roleMembers: names(await restAt(instanceId, at, `&role=${encodeURIComponent(role)}`)),
    present: names(await restAt(instanceId, at)),
    deleted: names((await restAt(instanceId, at, '&include_deleted=true')).filter((r) => r.is_deleted)),
  };
  const graph: Expected = {
    writers: names(await gqlAt(instanceId, at, { privilege: 'INSERT', database })),
    supers: names(await gqlAt(instanceId, at, { isSuperuser: true })),
    roleMembers: names(await gqlAt(instanceId, at, { role })),
    present: names(await gqlAt(instanceId, at)),
    deleted: names((await gqlAt(instanceId, at, { includeDeleted: true })).filter((r) => r.isDeleted)),
  };
  expect(graph).toEqual(rest);
  return rest;
}

/** At the moment just after a sync, accountsAt and the live list agree row by row. */
async function expectSameAsLive(instanceId: number, at: Date) {
  const live = await call(t.url, 'GET', `/api/accounts?instance_id=${instanceId}&search=${P}&per_page=100&include_deleted=true`, { token: admin });
  const past = await restAt(instanceId, at, '&include_deleted=true');
  const shape = (rows: any[]) =>
    rows.map((r) => ({ id: r.id, username: r.username, is_superuser: r.is_superuser, is_active: r.is_active, is_locked: r.is_locked, is_deleted: r.is_deleted, permissions: r.permissions }));
  expect(shape(past)).toEqual(shape(live.body.data));
}

async function checkAllSteps(instanceId: number, steps: Step[], database: string, role: string) {
  for (const s of steps) {
    expect(await answersAt(instanceId, s.at, database, role), `at ${s.label}`).toEqual(s.expected);
    if (s.until) {
      const between = new Date(Math.floor((s.at.getTime() + s.until.getTime()) / 2));
      expect(await answersAt(instanceId, between, database, role), `between ${s.label} and the next step`).toEqual(s.expected);
      expect(await answersAt(instanceId, s.until, database, role), `just before the step after ${s.label}`).toEqual(s.expected);
    }
  }
}

/** Six or seven syncs and ~250 requests: generous on a loaded machine (no timing is asserted). */
const REPLAY_TIMEOUT = 300_000;

const pgSteps: Step[] = [];
const mySteps: Step[] = [];

describe('PostgreSQL history replay', () => {
  it('answers who could write, who was superuser and who had the role at every step', async () => {
    const pg = (sql: string, url?: string) => pgAdmin((c) => c.query(sql), url);
    const step = async (label: string, run: () => Promise<unknown>, expected: Omit<Expected, 'present' | 'deleted'> & { present: string[]; deleted?: string[] }) => {
      if (pgSteps.length) pgSteps[pgSteps.length - 1]!.until = new Date();
      await run();
      const at = await syncAndWait(pgInstance);
      await expectSameAsLive(pgInstance, at);
      pgSteps.push({ label, at, expected: { ...expected, deleted: expected.deleted ?? [] } });
    };
    // The collector is a superuser: it could write everywhere at every step.
    await step('create app and writers', async () => {
      await pg(`CREATE ROLE ${P}writers NOLOGIN`);
      await pg(`CREATE ROLE ${P}app LOGIN`);
    }, { writers: ['collector'], supers: ['collector'], roleMembers: [], present: ['app', 'collector', 'writers'] });
    await step('grant INSERT on a table of the database', () => pg(`GRANT SELECT, INSERT ON orders TO ${P}app`, managedDb.url), {
      writers: ['app', 'collector'], supers: ['collector'], roleMembers: [], present: ['app', 'collector', 'writers'],
    });
    await step('make app superuser', () => pg(`ALTER ROLE ${P}app SUPERUSER`), {
      writers: ['app', 'collector'], supers: ['app', 'collector'], roleMembers: [], present: ['app', 'collector', 'writers'],
    });
    await step('revoke superuser and INSERT, grant the role', async () => {
      await pg(`ALTER ROLE ${P}app NOSUPERUSER`);
      await pg(`REVOKE INSERT ON orders FROM ${P}app`, managedDb.url);
      await pg(`GRANT ${P}writers TO ${P}app`);
    }, { writers: ['collector'], supers: ['collector'], roleMembers: ['app'], present: ['app', 'collector', 'writers'] });
    await step('drop app', async () => {
      await pg(`REVOKE ALL ON orders FROM ${P}app`, managedDb.url);
      await pg(`DROP ROLE ${P}app`);
    }, { writers: ['collector'], supers: ['collector'], roleMembers: [], present: ['collector', 'writers'], deleted: ['app'] });
    await step('re-create app with INSERT', async () => {
      await pg(`CREATE ROLE ${P}app LOGIN`);
      await pg(`GRANT INSERT ON orders TO ${P}app`, managedDb.url);
    }, { writers: ['app', 'collector'], supers: ['collector'], roleMembers: [], present: ['app', 'collector', 'writers'] });

    // An unchanged re-sync writes no version.
    const versions = () => t.app.deps.prisma.accountVersion.count({ where: { instanceId: pgInstance } });
    const before = await versions();
    await syncAndWait(pgInstance);
    expect(await versions()).toBe(before);

    await checkAllSteps(pgInstance, pgSteps, dbName, `${P}writers`);
  }, REPLAY_TIMEOUT);

  it('keeps one account id across drop and re-creation, with its periods', async () => {
    const rows = await restAt(pgInstance, pgSteps[4]!.at, '&include_deleted=true&search=' + `${P}app`);
    const dropped = rows.find((r) => r.username === `${P}app`);
    expect(dropped).toMatchObject({ is_deleted: true, change_type: 'delete' });
    const now = (await restAt(pgInstance, new Date(), `&search=${P}app`)).find((r) => r.username === `${P}app`);
    expect(now).toMatchObject({ id: dropped.id, is_deleted: false, change_type: 'restore', valid_to: null });
    expect(new Date(dropped.valid_to).getTime()).toBe(new Date(now.valid_from).getTime());
  });

  it('takes a classification rule expression as a filter (superuser OR member of the role)', async () => {
    const rule = { operator: 'OR', conditions: [{ field: 'is_superuser', op: 'is', value: true }, { field: 'predefined_roles', op: 'has', value: `${P}writers` }] };
    const expectedAt = (i: number) => sorted([...pgSteps[i]!.expected.supers, ...pgSteps[i]!.expected.roleMembers]);
    for (const i of [0, 2, 3]) {
      const viaRest = await restAt(pgInstance, pgSteps[i]!.at, `&rule=${encodeURIComponent(JSON.stringify(rule))}`);
      expect(sorted(viaRest.map((r) => short(r.username))), pgSteps[i]!.label).toEqual(expectedAt(i));
      const viaGql = await gqlAt(pgInstance, pgSteps[i]!.at, { rule });
      expect(sorted(viaGql.map((r) => short(r.username)))).toEqual(expectedAt(i));
    }
  });

  it('pages with page/per_page and with first/after', async () => {
    const at = pgSteps[3]!.at; // app, collector, writers
    const all = (await restAt(pgInstance, at)).map((r) => r.username);
    expect(all).toEqual([`${P}app`, `${P}collector`, `${P}writers`]);
    const seen: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const res = await call(t.url, 'GET', `/api/instances/${pgInstance}/accounts-at?at=${at.toISOString()}&search=${P}&per_page=1&page=${page}`, { token: admin });
      expect(res.body.pagination).toEqual({ page, per_page: 1, total: 3, pages: 3 });
      seen.push(res.body.data[0].username);
    }
    expect(seen).toEqual(all);
    const beyond = await call(t.url, 'GET', `/api/instances/${pgInstance}/accounts-at?at=${at.toISOString()}&search=${P}&per_page=2&page=5`, { token: admin });
    expect(beyond.body).toMatchObject({ data: [], pagination: { page: 5, per_page: 2, total: 3, pages: 2 } });

    const names: string[] = [];
    let after: string | undefined;
    for (;;) {
      const res = await gql<AccountsAtQuery>(t.url, ACCOUNTS_AT, { instanceId: String(pgInstance), at: at.toISOString(), search: P, first: 2, after }, admin);
      const c = res.body.data.accountsAt;
      expect(c.totalCount).toBe(3);
      names.push(...c.edges.map((e) => e.node.username));
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor!;
    }
    expect(names).toEqual(all);
    // The other REST spelling answers the same.
    const other = await call(t.url, 'GET', `/api/accounts/at?instance_id=${pgInstance}&at=${at.toISOString()}&search=${P}`, { token: admin });
    expect(other.body.data.map((r: any) => r.username)).toEqual(all);
  });
});

describe('MariaDB history replay', () => {
  it('answers who could write to the database, who was superuser and who had the role at every step', async () => {
    const my = (sql: string) => mariaRoot((c) => c.query(sql));
    const u = `'${P}u'@'%'`;
    const step = async (label: string, run: () => Promise<unknown>, expected: Omit<Expected, 'deleted'> & { deleted?: string[] }) => {
      if (mySteps.length) mySteps[mySteps.length - 1]!.until = new Date();
      await run();
      const at = await syncAndWait(myInstance);
      await expectSameAsLive(myInstance, at);
      mySteps.push({ label, at, expected: { ...expected, deleted: expected.deleted ?? [] } });
    };
    await step('create u', () => my(`CREATE USER ${u} IDENTIFIED BY 'x'`), { writers: [], supers: [], roleMembers: [], present: ['collector', 'u'] });
    await step('grant INSERT on the database', () => my(`GRANT SELECT, INSERT ON \`${P}shop\`.* TO ${u}`), {
      writers: ['u'], supers: [], roleMembers: [], present: ['collector', 'u'],
    });
    await step('grant ALL PRIVILEGES globally', () => my(`GRANT ALL PRIVILEGES ON *.* TO ${u}`), { writers: ['u'], supers: ['u'], roleMembers: [], present: ['collector', 'u'] });
    await step('revoke everything, grant a role', async () => {
      await my(`REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${u}`);
      await my(`CREATE ROLE ${P}writer`);
      await my(`GRANT ${P}writer TO ${u}`);
    }, { writers: [], supers: [], roleMembers: ['u'], present: ['collector', 'u'] });
    await step('grant INSERT on one table of the database', () => my(`GRANT INSERT ON \`${P}shop\`.orders TO ${u}`), {
      writers: ['u'], supers: [], roleMembers: ['u'], present: ['collector', 'u'],
    });
    await step('drop u', () => my(`DROP USER ${u}`), { writers: [], supers: [], roleMembers: [], present: ['collector'], deleted: ['u'] });
    await step('re-create u', () => my(`CREATE USER ${u} IDENTIFIED BY 'y'`), { writers: [], supers: [], roleMembers: [], present: ['collector', 'u'] });

    await checkAllSteps(myInstance, mySteps, `${P}shop`, `${P}writer`);
    // Another database: nobody but the global grant of step 3 could write there.
    for (const [i, s] of mySteps.entries()) {
      const rows = await restAt(myInstance, s.at, '&privilege=INSERT&database=mysql');
      expect(rows.map((r) => short(r.username)), s.label).toEqual(i === 2 ? ['u'] : []);
    }
  }, REPLAY_TIMEOUT);
});

describe('accountsAt validation and permissions', () => {
  const path = () => `/api/instances/${pgInstance}/accounts-at`;

  it('refuses a moment in the future, before the history began, or malformed', async () => {
    const future = await call(t.url, 'GET', `${path()}?at=${new Date(Date.now() + 3_600_000).toISOString()}`, { token: admin });
    expect(future.status).toBe(400);
    expect(future.body).toMatchObject({ error: 'ValidationError', details: { errors: [{ field: 'at', message: expect.stringMatching(/将来/) }] } });

    const since = (await t.app.deps.prisma.instance.findUniqueOrThrow({ where: { id: pgInstance } })).historySince!;
    expect(since.getTime()).toBeLessThanOrEqual(pgSteps[0]!.at.getTime());
    const early = await call(t.url, 'GET', `${path()}?at=${new Date(since.getTime() - 1).toISOString()}`, { token: admin });
    expect(early.status).toBe(422);
    expect(early.body).toMatchObject({ error: 'ValidationError', details: { history_since: since.toISOString() } });
    // Exactly at the start: the first sync's state.
    const first = await call(t.url, 'GET', `${path()}?at=${since.toISOString()}&search=${P}`, { token: admin });
    expect(first.status).toBe(200);
    expect(sorted(first.body.data.map((r: any) => short(r.username)))).toEqual(pgSteps[0]!.expected.present);

    for (const q of ['', '?at=yesterday', '?at=2026-03-01', '?at=2026-03-01T08:00:00']) {
      const res = await call(t.url, 'GET', `${path()}${q}`, { token: admin });
      expect(res.status, q).toBe(400);
      expect(res.body.details.errors[0].field, q).toBe('at');
    }
    const gqlFuture = await gql(t.url, ACCOUNTS_AT, { instanceId: String(pgInstance), at: new Date(Date.now() + 3_600_000).toISOString() }, admin);
    expect(gqlFuture.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    const gqlEarly = await gql(t.url, ACCOUNTS_AT, { instanceId: String(pgInstance), at: '2000-01-01T00:00:00Z' }, admin);
    expect(gqlEarly.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 422, details: { history_since: since.toISOString() } });
  });

  it('validates filters, paging and the instance', async () => {
    const at = new Date().toISOString();
    const bad = async (q: string, field: string, status = 400) => {
      const res = await call(t.url, 'GET', `${path()}?at=${at}${q}`, { token: admin });
      expect(res.status, q).toBe(status);
      expect(res.body.details.errors?.[0]?.field, q).toBe(field);
    };
    await bad('&per_page=101', 'per_page');
    await bad('&first=0', 'first');
    await bad('&privilege=INSERT;DROP', 'privilege');
    await bad('&database=shop', 'database');
    await bad('&sort=password', 'sort');
    await bad(`&rule=${encodeURIComponent(JSON.stringify({ field: 'global_privileges', op: 'has', value: 'SUPER' }))}`, 'rule.field');
    const missing = await call(t.url, 'GET', `/api/instances/999999/accounts-at?at=${at}`, { token: admin });
    expect(missing.status).toBe(404);
    // An instance that never wrote accounts has no history yet: a clear 422.
    const fresh = await registerInstance(t, { name: `${P}never`, dbType: 'postgresql', port: 5432, username: 'nobody', password: 'x' });
    const none = await call(t.url, 'GET', `/api/instances/${fresh}/accounts-at?at=${at}`, { token: admin });
    expect(none.status).toBe(422);
    expect(none.body.message).toMatch(/尚无账户历史/);
  });

  it('requires the view permission on both transports', async () => {
    const viewer = await userWithRole(t.url, admin, 'viewer');
    const at = new Date().toISOString();
    const res = await call(t.url, 'GET', `${path()}?at=${at}`, { token: viewer.token });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('AuthorizationError');
    const anon = await call(t.url, 'GET', `${path()}?at=${at}`);
    expect(anon.status).toBe(401);
    const g = await gql(t.url, ACCOUNTS_AT, { instanceId: String(pgInstance), at }, viewer.token);
    expect(g.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const user = await userWithRole(t.url, admin, 'user');
    expect((await call(t.url, 'GET', `${path()}?at=${at}`, { token: user.token })).status).toBe(200);
  });
});
