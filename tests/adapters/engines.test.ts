/**
 * Engine adapters without a server (normalisers from catalog rows shaped as the views return them,
 * option building, version parsing), plus live SQL Server / Oracle tests when MSSQL_URL / ORACLE_URL
 * point at a server (e.g. mssql://sa:Pass@127.0.0.1:1433/master, oracle://system:pass@127.0.0.1:1521/FREEPDB1).
 */
import { describe, expect, it } from 'vitest';
import { normalizeSqlServer, sqlserverConfig, quoteName, sqlserverAdapter } from '../../src/adapters/sqlserver.js';
import { normalizeOracle, oracleConnectString, oracleAdapter } from '../../src/adapters/oracle.js';
import { parseGrants } from '../../src/adapters/mysql.js';
import { normalizePostgres } from '../../src/adapters/postgres.js';
import { parseVersion } from '../../src/adapters/version.js';
import { compileFilter, DEFAULT_ACCOUNT_FILTERS } from '../../src/adapters/filters.js';
import type { ConnInfo } from '../../src/adapters/types.js';

describe('version parsing (SPEC §3.5)', () => {
  it.each([
    ['mysql', '8.0.32', '8.0', '8.0.32', '8.0 (8.0.32)'],
    ['mysql', '10.11.19-MariaDB-0+deb12u1', '10.11', '10.11.19', '10.11 (10.11.19)'],
    ['postgresql', 'PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64-pc-linux-gnu', '15.19', '15.19', '15.19'],
    ['sqlserver', 'Microsoft SQL Server 2019 (RTM-CU22) (KB5027702) - 15.0.4322.2 (X64)', '15.0', '15.0.4322.2', '15.0 (15.0.4322.2)'],
    ['oracle', 'Oracle Database 11g Enterprise Edition Release 11.2.0.1.0 - 64bit Production', '11.2', '11.2.0.1.0', '11.2 (11.2.0.1.0)'],
  ] as const)('%s: %s', (type, raw, main, detailed, display) => {
    expect(parseVersion(type, raw)).toEqual({ raw, main, detailed, display });
  });
  it('falls back to 未知', () => {
    expect(parseVersion('mysql', '')).toMatchObject({ main: '未知', detailed: '未知' });
    expect(parseVersion('oracle', 'weird banner')).toMatchObject({ main: '未知', detailed: 'weird banner' });
  });
});

describe('MySQL grant parsing ([FIX] SPEC §3.4)', () => {
  it('keeps privileges containing ON, maps WITH GRANT OPTION, scopes, tables and roles', () => {
    const g = parseGrants([
      "GRANT SELECT, CREATE ROUTINE, ALTER ROUTINE ON *.* TO `app`@`%` WITH GRANT OPTION",
      'GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`',
      'GRANT SELECT (id, name), UPDATE ON `shop`.`orders` TO `app`@`%`',
      'GRANT `reader`@`%`,`writer`@`%` TO `app`@`%`',
      "GRANT PROXY ON ''@'' TO 'root'@'localhost' WITH GRANT OPTION",
      'GRANT USAGE ON `we.ird`.* TO `app`@`%`',
    ]);
    expect(g.global).toEqual(['SELECT', 'CREATE ROUTINE', 'ALTER ROUTINE', 'GRANT OPTION']);
    expect(g.databases).toEqual({ shop: ['ALL PRIVILEGES'], 'we.ird': ['USAGE'] });
    expect(g.tables).toEqual({ 'shop.orders': ['SELECT (ID, NAME)', 'UPDATE'] });
    expect(g.roles).toEqual(['reader@%', 'writer@%']);
    expect(g.canGrant).toBe(true);
  });
});

describe('PostgreSQL normaliser', () => {
  it('builds attributes, memberships, database and tablespace privileges', () => {
    const [a] = normalizePostgres({
      roles: [{ rolname: 'app', oid: 1, rolsuper: false, rolcreaterole: false, rolcreatedb: true, rolcanlogin: true, rolinherit: true, rolreplication: false, rolbypassrls: false, rolconnlimit: -1, valid_until: null }],
      memberships: [{ member: 'app', role: 'pg_read_all_data' }],
      tablePrivileges: [{ grantee: 'app', privilege_type: 'SELECT' }],
      databasePrivileges: [{ datname: 'shop', grantee: 'app', privilege_type: 'CONNECT' }, { datname: 'crm', grantee: 'app', privilege_type: 'TEMPORARY' }],
      tablespaces: [{ rolname: 'app', spcname: 'fast' }],
      passwords: null,
      database: 'shop',
    });
    expect(a).toMatchObject({
      username: 'app',
      isActive: true,
      predefinedRoles: ['pg_read_all_data'],
      roleAttributes: { can_create_db: true, can_login: true, connection_limit: -1 },
      databasePrivilegesPg: { shop: ['CONNECT', 'SELECT'], crm: ['TEMPORARY'] },
      tablespacePrivileges: { fast: ['CREATE'] },
      typeSpecific: { has_password: null, can_login: true },
    });
  });
});

describe('SQL Server', () => {
  it('normalises logins, roles and permissions; sysadmin gets db_owner everywhere', () => {
    const accounts = normalizeSqlServer({
      logins: [
        { name: 'sa', principal_id: 1, type_desc: 'SQL_LOGIN', is_disabled: false, default_database_name: 'master', default_language_name: 'us_english', is_expiration_checked: false, is_policy_checked: true },
        { name: 'app', principal_id: 260, type_desc: 'SQL_LOGIN', is_disabled: true, default_database_name: 'shop', default_language_name: 'us_english', is_expiration_checked: false, is_policy_checked: true },
      ],
      serverRoles: [{ login: 'sa', role: 'sysadmin' }],
      serverPermissions: [{ login: 'app', permission: 'CONNECT SQL' }, { login: 'app', permission: 'VIEW SERVER STATE' }],
      dbRoles: [{ login: 'app', db: 'shop', role: 'db_datareader' }],
      dbPermissions: [{ login: 'app', db: 'shop', permission: 'EXECUTE' }],
      databases: ['shop', 'crm'],
    });
    expect(accounts[0]).toMatchObject({ username: 'sa', isSuperuser: true, databaseRoles: { shop: ['db_owner'], crm: ['db_owner'] } });
    expect(accounts[1]).toMatchObject({ isLocked: true, isActive: false, serverPermissions: ['CONNECT SQL', 'VIEW SERVER STATE'], databaseRoles: { shop: ['db_datareader'] }, databasePermissions: { shop: ['EXECUTE'] } });
  });
  it('builds connection options: named instance, TLS, timeouts; quotes identifiers', () => {
    const conn: ConnInfo = { dbType: 'sqlserver', host: 'h', port: 1433, username: 'u', password: 'p', options: { tls: true, sqlserverInstanceName: 'SQLEXPRESS', connectTimeoutMs: 2000 } };
    const cfg = sqlserverConfig(conn);
    expect(cfg).toMatchObject({ server: 'h', port: undefined, database: 'master', connectionTimeout: 2000, options: { encrypt: true, trustServerCertificate: true, instanceName: 'SQLEXPRESS' } });
    expect(quoteName('we]ird')).toBe('[we]]ird]');
  });
});

describe('Oracle', () => {
  it('normalises users, roles, system privileges and quotas', () => {
    const [sys, app] = normalizeOracle({
      users: [
        { USERNAME: 'SYSTEM', USER_ID: 9, ACCOUNT_STATUS: 'OPEN', CREATED: null, EXPIRY_DATE: null, DEFAULT_TABLESPACE: 'SYSTEM', TEMPORARY_TABLESPACE: 'TEMP', PROFILE: 'DEFAULT' },
        { USERNAME: 'APP', USER_ID: 100, ACCOUNT_STATUS: 'LOCKED', CREATED: new Date('2024-01-01T00:00:00Z'), EXPIRY_DATE: null, DEFAULT_TABLESPACE: 'USERS', TEMPORARY_TABLESPACE: 'TEMP', PROFILE: 'DEFAULT' },
      ],
      roles: [{ GRANTEE: 'APP', GRANTED_ROLE: 'CONNECT' }],
      sysPrivs: [{ GRANTEE: 'APP', PRIVILEGE: 'UNLIMITED TABLESPACE' }, { GRANTEE: 'APP', PRIVILEGE: 'CREATE SESSION' }],
      quotas: [{ USERNAME: 'APP', TABLESPACE_NAME: 'USERS', MAX_BYTES: 1048576 }],
    });
    expect(sys!.isSuperuser).toBe(true);
    expect(app).toMatchObject({ isLocked: true, oracleRoles: ['CONNECT'], systemPrivileges: ['CREATE SESSION', 'UNLIMITED TABLESPACE'], tablespacePrivilegesOracle: { ALL_TABLESPACES: ['UNLIMITED'], USERS: ['QUOTA'] } });
  });
  it('connects by service name or by SID', () => {
    const base: ConnInfo = { dbType: 'oracle', host: 'db', port: 1521, username: 'u', password: 'p', database: 'ORCLPDB1' };
    expect(oracleConnectString(base)).toBe('db:1521/ORCLPDB1');
    expect(oracleConnectString({ ...base, options: { oracleConnectAs: 'sid' } })).toBe('(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db)(PORT=1521))(CONNECT_DATA=(SID=ORCLPDB1)))');
  });
});

describe('account filters', () => {
  it('compile to parameterised SQL per placeholder style', () => {
    expect(compileFilter('rolname', DEFAULT_ACCOUNT_FILTERS.postgresql, (i) => `$${i}`, 1, ['postgres'])).toEqual({
      sql: 'rolname NOT IN ($1, $2) AND ((rolname NOT LIKE $3) OR rolname = $4)',
      params: ['rdsadmin', 'rds_superuser', 'pg\\_%', 'postgres'],
    });
    expect(compileFilter('User', { excludeUsers: [], excludePatterns: [] }, () => '?')).toEqual({ sql: '1=1', params: [] });
  });
});

function connFromUrl(url: string, dbType: 'sqlserver' | 'oracle'): ConnInfo {
  const u = new URL(url);
  return { dbType, host: u.hostname, port: Number(u.port), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) || null, options: { connectTimeoutMs: 10_000 } };
}

const MSSQL_URL = process.env.MSSQL_URL;
const ORACLE_URL = process.env.ORACLE_URL;
if (!MSSQL_URL) console.log('SQL Server live tests skipped: MSSQL_URL is not set (no SQL Server can be installed on this machine)');
if (!ORACLE_URL) console.log('Oracle live tests skipped: ORACLE_URL is not set (no Oracle server can be installed on this machine)');

describe.skipIf(!MSSQL_URL)('SQL Server live (MSSQL_URL)', () => {
  it('connects, detects the version and reads logins', async () => {
    const conn = connFromUrl(MSSQL_URL!, 'sqlserver');
    expect((await sqlserverAdapter.testConnection(conn)).version.main).toMatch(/^\d+\.\d+$/);
    const { accounts } = await sqlserverAdapter.fetchAccounts(conn, DEFAULT_ACCOUNT_FILTERS.sqlserver);
    expect(accounts.some((a) => a.isSuperuser)).toBe(true);
  });
});

describe.skipIf(!ORACLE_URL)('Oracle live (ORACLE_URL)', () => {
  it('connects, detects the version and reads users', async () => {
    const conn = connFromUrl(ORACLE_URL!, 'oracle');
    expect((await oracleAdapter.testConnection(conn)).version.main).toMatch(/^\d+\.\d+$/);
    const { accounts } = await oracleAdapter.fetchAccounts(conn, DEFAULT_ACCOUNT_FILTERS.oracle);
    expect(accounts.find((a) => a.username === 'SYSTEM')?.isSuperuser).toBe(true);
  });
});
