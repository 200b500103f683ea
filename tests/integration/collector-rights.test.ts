/**
 * Least privilege for the collector (issue #5 item 9), against the real local PostgreSQL and
 * MariaDB: the documented scripts of docs/collector/ create an account that syncs exactly what an
 * administrator sees; an account lacking a right is named by the connection test (REST and GraphQL),
 * and a sync with it is refused without touching a single stored account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { ACCOUNT_FILTERS_PARAM } from '../../src/services/sync/connection.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, registerSecret } from '../helpers/http.js';
import { collectorScript, mariaRoot, pgAdmin, prefix, registerInstance } from '../helpers/managed.js';
import { PG_ADMIN_URL } from '../helpers/env.js';

let t: TestApp;
let admin: string;
const P = prefix();
const MONITOR_PASSWORD = registerSecret('Mon-Least-Priv-71');
const WEAK_PASSWORD = registerSecret('Weak-Collector-82');
const ADMIN_PASSWORD = registerSecret('My-Admin-Collector-93');
let managedDb: { url: string; drop: () => Promise<void> };
let dbName: string;

const PASSWORD_RIGHT = 'EXECUTE ON FUNCTION whalefall.role_has_password()（或 SELECT ON pg_catalog.pg_authid）';

beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
  managedDb = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_managed');
  dbName = new URL(managedDb.url).pathname.slice(1);
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}readers NOLOGIN`);
    await c.query(`CREATE ROLE ${P}app LOGIN CREATEDB CONNECTION LIMIT 5 PASSWORD 'x' IN ROLE ${P}readers`);
    await c.query(`CREATE ROLE ${P}nopass LOGIN`);
    await c.query(`CREATE ROLE ${P}weak LOGIN PASSWORD '${WEAK_PASSWORD}'`);
  });
  await pgAdmin(async (c) => {
    await c.query('CREATE TABLE orders (id int)');
    await c.query(`GRANT SELECT, INSERT ON orders TO ${P}app`);
    await c.query(`GRANT CONNECT ON DATABASE "${dbName}" TO ${P}app`);
    // The documented script, run as its usage says: as a superuser, in the instance's database.
    await c.query(collectorScript('postgresql', `${P}monitor`, MONITOR_PASSWORD));
  }, managedDb.url);
  await mariaRoot(async (c) => {
    await c.query(`CREATE DATABASE ${P}shop`);
    await c.query(`CREATE USER '${P}dbadmin'@'127.0.0.1' IDENTIFIED BY '${ADMIN_PASSWORD}'`);
    await c.query(`GRANT ALL PRIVILEGES ON *.* TO '${P}dbadmin'@'127.0.0.1' WITH GRANT OPTION`);
    await c.query(`CREATE USER '${P}web'@'10.%' IDENTIFIED BY 'x'`);
    await c.query(`GRANT SELECT, INSERT, CREATE ROUTINE ON \`${P}shop\`.* TO '${P}web'@'10.%'`);
    await c.query(`CREATE USER '${P}locked'@'%' IDENTIFIED BY 'x' ACCOUNT LOCK`);
    // Table-level SELECT on both privilege tables, but not the schema-level SELECT SHOW GRANTS needs.
    await c.query(`CREATE USER '${P}partial'@'%' IDENTIFIED BY '${WEAK_PASSWORD}'`);
    await c.query(`GRANT SELECT ON mysql.user TO '${P}partial'@'%'`);
    await c.query(`GRANT SELECT ON mysql.global_priv TO '${P}partial'@'%'`);
    await c.query(`CREATE USER '${P}bare'@'%' IDENTIFIED BY '${WEAK_PASSWORD}'`);
  });
  await mariaRoot((c) => c.query(collectorScript('mysql', `${P}monitor`, MONITOR_PASSWORD)), { multipleStatements: true });
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

async function testConnection(id: number) {
  const res = await call(t.url, 'POST', `/api/instances/${id}/test`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

const GQL_TEST = 'mutation T($id: ID!) { testInstanceConnection(id: $id) { success message rightsOk missingRights missingOptionalRights rights { right required granted purpose } } }';

async function sync(id: number) {
  const res = await call(t.url, 'POST', `/api/instances/${id}/sync?wait=true`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

/** This run's accounts of an instance as the API shows them, without ids and sync bookkeeping. */
async function accountsOf(id: number) {
  const res = await call(t.url, 'GET', `/api/accounts?instance_id=${id}&search=${P}&per_page=100&sort=username&order=asc`, { token: admin });
  expect(res.status).toBe(200);
  return Object.fromEntries(
    res.body.data.map((a: any) => [a.username, { host: a.host, is_superuser: a.is_superuser, is_active: a.is_active, is_locked: a.is_locked, is_deleted: a.is_deleted, permissions: a.permissions }]),
  ) as Record<string, any>;
}

/** What a failed sync must not have touched: live accounts and the change log. */
async function storedState(instanceId: number) {
  const prisma = t.app.deps.prisma;
  return {
    live: await prisma.currentAccount.count({ where: { instanceId, isDeleted: false } }),
    deleted: await prisma.currentAccount.count({ where: { instanceId, isDeleted: true } }),
    changes: await prisma.accountChangeLog.count({ where: { instanceId } }),
  };
}

async function credential(name: string, dbType: string, username: string, password: string): Promise<number> {
  const res = await call(t.url, 'POST', '/api/credentials', { token: admin, json: { name, credential_type: 'database', db_type: dbType, username, password } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data.id;
}

async function useCredential(instanceId: number, credentialId: number) {
  const res = await call(t.url, 'PUT', `/api/instances/${instanceId}`, { token: admin, json: { credential_id: credentialId } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

describe('PostgreSQL collector rights', () => {
  let superInstance: number;
  let monitorInstance: number;

  beforeAll(async () => {
    superInstance = await registerInstance(t, { name: `${P}pg-super`, dbType: 'postgresql', port: 5432, database: dbName, username: 'postgres', password: 'x' });
    monitorInstance = await registerInstance(t, { name: `${P}pg-monitor`, dbType: 'postgresql', port: 5432, database: dbName, username: `${P}monitor`, password: MONITOR_PASSWORD });
  });

  it("passes the connection test with the script's account, every right named and granted (REST and GraphQL)", async () => {
    const r = await testConnection(monitorInstance);
    expect(r).toMatchObject({ success: true, rights_ok: true, missing_rights: [], missing_optional_rights: [] });
    expect(r.rights.map((x: any) => x.right)).toEqual([
      'SELECT ON pg_catalog.pg_roles',
      'SELECT ON pg_catalog.pg_auth_members',
      'SELECT ON pg_catalog.pg_class',
      'SELECT ON pg_catalog.pg_namespace',
      'SELECT ON pg_catalog.pg_database',
      'SELECT ON pg_catalog.pg_tablespace',
      'EXECUTE ON FUNCTION pg_catalog.aclexplode(aclitem[])',
      'EXECUTE ON FUNCTION pg_catalog.has_tablespace_privilege(oid, oid, text)',
      PASSWORD_RIGHT,
    ]);
    expect(r.rights.every((x: any) => x.granted && typeof x.purpose === 'string')).toBe(true);
    const g = await gql(t.url, GQL_TEST, { id: String(monitorInstance) }, admin);
    expect(g.body.errors).toBeUndefined();
    expect(g.body.data.testInstanceConnection).toMatchObject({ success: true, rightsOk: true, missingRights: [], missingOptionalRights: [] });
    expect(g.body.data.testInstanceConnection.rights).toEqual(r.rights);
  });

  it('syncs with the least-privilege account exactly what a superuser sees, has_password included', async () => {
    expect((await sync(superInstance)).status).toBe('completed');
    expect((await sync(monitorInstance)).status).toBe('completed');
    const asSuper = await accountsOf(superInstance);
    const asMonitor = await accountsOf(monitorInstance);
    expect(Object.keys(asMonitor).sort()).toEqual([`${P}app`, `${P}monitor`, `${P}nopass`, `${P}readers`, `${P}weak`]);
    expect(asMonitor).toEqual(asSuper);
    // The snapshot is the real thing, not two equally empty reads.
    const app = asMonitor[`${P}app`];
    expect(app.permissions.predefined_roles).toEqual([`${P}readers`]);
    expect(app.permissions.database_privileges[dbName]).toEqual(expect.arrayContaining(['CONNECT', 'INSERT', 'SELECT']));
    expect(app.permissions.type_specific.has_password).toBe(true);
    expect(asMonitor[`${P}nopass`].permissions.type_specific.has_password).toBe(false);
    // The monitor itself: a plain login, CONNECT on the database and nothing else.
    expect(asMonitor[`${P}monitor`]).toMatchObject({ is_superuser: false, permissions: { predefined_roles: [], database_privileges: { [dbName]: ['CONNECT'] } } });
    expect(asMonitor[`${P}monitor`].permissions.role_attributes).toMatchObject({ can_super: false, can_create_role: false, can_create_db: false, can_replicate: false, can_bypass_rls: false });
  });

  it('without the password function: names the optional right, syncs everything else, has_password unknown', async () => {
    const id = await registerInstance(t, { name: `${P}pg-weak`, dbType: 'postgresql', port: 5432, database: dbName, username: `${P}weak`, password: WEAK_PASSWORD });
    const r = await testConnection(id);
    expect(r).toMatchObject({ success: true, rights_ok: true, missing_rights: [], missing_optional_rights: [PASSWORD_RIGHT] });
    expect(r.message).toContain(PASSWORD_RIGHT);
    expect(r.message).toContain('docs/collector/postgresql.sql');
    const session = await sync(id);
    expect(session.status).toBe('completed');
    expect(session.instance_records[0].sync_details.missing_optional_rights).toEqual([PASSWORD_RIGHT]);
    const asWeak = await accountsOf(id);
    const asSuper = await accountsOf(superInstance);
    for (const [name, acc] of Object.entries(asSuper)) {
      expect(asWeak[name].permissions.type_specific.has_password, name).toBeNull();
      const strip = (a: any) => ({ ...a, permissions: { ...a.permissions, type_specific: { ...a.permissions.type_specific, has_password: 'x' } } });
      expect(strip(asWeak[name]), name).toEqual(strip(acc));
    }
  });

  it('names a missing required right; a sync is then refused and changes no stored account', async () => {
    // A DBA hardens the database: PUBLIC may no longer read role memberships. The script's explicit
    // grant keeps the monitor working; an account without it has lost a right the adapter needs.
    await pgAdmin((c) => c.query('REVOKE SELECT ON pg_catalog.pg_auth_members FROM PUBLIC'), managedDb.url);
    expect(await testConnection(monitorInstance)).toMatchObject({ success: true, rights_ok: true, missing_rights: [] });

    await useCredential(monitorInstance, await credential(`${P}pg-lost-right`, 'postgresql', `${P}weak`, WEAK_PASSWORD));
    const r = await testConnection(monitorInstance);
    expect(r).toMatchObject({ success: true, rights_ok: false, missing_rights: ['SELECT ON pg_catalog.pg_auth_members'], missing_optional_rights: [PASSWORD_RIGHT] });
    expect(r.rights.find((x: any) => x.right === 'SELECT ON pg_catalog.pg_auth_members')).toMatchObject({ required: true, granted: false });
    expect(r.message).toContain('采集账号缺少必需权限: SELECT ON pg_catalog.pg_auth_members');
    expect(r.message).toContain('docs/collector/postgresql.sql');
    const g = await gql(t.url, GQL_TEST, { id: String(monitorInstance) }, admin);
    expect(g.body.data.testInstanceConnection).toMatchObject({ success: true, rightsOk: false, missingRights: ['SELECT ON pg_catalog.pg_auth_members'] });

    const before = await storedState(monitorInstance);
    expect(before.live).toBeGreaterThanOrEqual(5);
    const session = await sync(monitorInstance);
    expect(session).toMatchObject({ status: 'failed', failed_instances: 1 });
    const rec = session.instance_records[0];
    expect(rec).toMatchObject({ status: 'failed', accounts_deleted: 0, sync_details: { missing_rights: ['SELECT ON pg_catalog.pg_auth_members'] } });
    expect(rec.error_message).toMatch(/^数据库权限不足: 采集账号缺少必需权限: SELECT ON pg_catalog\.pg_auth_members/);
    expect(await storedState(monitorInstance)).toEqual(before);
    // The server was reachable; only the account lacks a right.
    const inst = (await call(t.url, 'GET', `/api/instances/${monitorInstance}`, { token: admin })).body.data;
    expect(inst.connection_status).toBe('reachable');
  });
});

describe('MariaDB collector rights', () => {
  let adminInstance: number;
  let monitorInstance: number;
  const ALL = ['SELECT ON mysql.user', 'SELECT ON mysql.global_priv', 'SELECT ON mysql.*'];

  beforeAll(async () => {
    adminInstance = await registerInstance(t, { name: `${P}my-admin`, dbType: 'mysql', port: 3306, username: `${P}dbadmin`, password: ADMIN_PASSWORD });
    monitorInstance = await registerInstance(t, { name: `${P}my-monitor`, dbType: 'mysql', port: 3306, username: `${P}monitor`, password: MONITOR_PASSWORD });
  });

  it("passes the connection test with the script's account, every right named and granted", async () => {
    const r = await testConnection(monitorInstance);
    expect(r).toMatchObject({ success: true, rights_ok: true, missing_rights: [], missing_optional_rights: [] });
    expect(r.rights.map((x: any) => [x.right, x.required, x.granted])).toEqual(ALL.map((x) => [x, true, true]));
    expect(r.message).not.toContain('缺少');
  });

  it('syncs with the least-privilege account exactly what an all-privileged account sees', async () => {
    expect((await sync(adminInstance)).status).toBe('completed');
    expect((await sync(monitorInstance)).status).toBe('completed');
    const asAdmin = await accountsOf(adminInstance);
    const asMonitor = await accountsOf(monitorInstance);
    expect(Object.keys(asMonitor).sort()).toEqual([`${P}bare@%`, `${P}dbadmin@127.0.0.1`, `${P}locked@%`, `${P}monitor@%`, `${P}partial@%`, `${P}web@10.%`]);
    expect(asMonitor).toEqual(asAdmin);
    expect(asMonitor[`${P}locked@%`]).toMatchObject({ is_locked: true, is_active: false });
    expect(asMonitor[`${P}web@10.%`].permissions.database_privileges[`${P}shop`]).toEqual(['CREATE ROUTINE', 'INSERT', 'SELECT']);
    expect(asMonitor[`${P}dbadmin@127.0.0.1`]).toMatchObject({ is_superuser: true });
    // The monitor reads the mysql schema and nothing else.
    expect(asMonitor[`${P}monitor@%`].permissions).toMatchObject({ global_privileges: ['USAGE'], database_privileges: { mysql: ['SELECT'] } });
  });

  it('names exactly the missing rights of a partly granted and of a bare account', async () => {
    const res = await call(t.url, 'POST', '/api/test-connection', { token: admin, json: { db_type: 'mysql', host: '127.0.0.1', port: 3306, username: `${P}partial`, password: WEAK_PASSWORD } });
    expect(res.body.data).toMatchObject({ success: true, rights_ok: false, missing_rights: ['SELECT ON mysql.*'], missing_optional_rights: [] });
    expect(res.body.data.message).toContain('采集账号缺少必需权限: SELECT ON mysql.*');
    expect(res.body.data.message).toContain('docs/collector/mysql.sql');
    const g = await gql(t.url, 'mutation T($i: TestConnectionInput!) { testConnection(input: $i) { success rightsOk missingRights } }', { i: { dbType: 'mysql', host: '127.0.0.1', port: 3306, username: `${P}bare`, password: WEAK_PASSWORD } }, admin);
    expect(g.body.errors).toBeUndefined();
    expect(g.body.data.testConnection).toEqual({ success: true, rightsOk: false, missingRights: ALL });
  });

  it('refuses a sync with an account that lost a right, changing no stored account', async () => {
    const before = await storedState(monitorInstance);
    expect(before.live).toBeGreaterThanOrEqual(6);
    await useCredential(monitorInstance, await credential(`${P}my-lost-right`, 'mysql', `${P}partial`, WEAK_PASSWORD));
    const session = await sync(monitorInstance);
    const rec = session.instance_records[0];
    expect(rec).toMatchObject({ status: 'failed', accounts_deleted: 0, sync_details: { missing_rights: ['SELECT ON mysql.*'] } });
    expect(rec.error_message).toContain('数据库权限不足: 采集账号缺少必需权限: SELECT ON mysql.*');
    expect(await storedState(monitorInstance)).toEqual(before);
    expect((await call(t.url, 'GET', `/api/instances/${monitorInstance}`, { token: admin })).body.data.connection_status).toBe('reachable');
  });

  it('never marks every account deleted on an empty read, whatever its cause', async () => {
    const before = await storedState(adminInstance);
    expect(before.live).toBeGreaterThanOrEqual(6);
    // A filter that leaves nothing stands in for any cause of an empty read the rights check cannot see.
    await t.app.deps.prisma.globalParam.create({ data: { key: ACCOUNT_FILTERS_PARAM, value: JSON.stringify({ mysql: { excludeUsers: [], excludePatterns: ['%'] } }) } });
    try {
      const rec = (await sync(adminInstance)).instance_records[0];
      expect(rec).toMatchObject({ status: 'failed', accounts_deleted: 0 });
      expect(rec.error_message).toContain('采集结果为空，而该实例已有');
      expect(await storedState(adminInstance)).toEqual(before);
    } finally {
      await t.app.deps.prisma.globalParam.delete({ where: { key: ACCOUNT_FILTERS_PARAM } });
    }
  });
});
