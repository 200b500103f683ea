/**
 * The collector-rights decisions of every adapter, from rows and errors shaped exactly as the
 * servers return them (fn_my_permissions and HAS_DBACCESS rows, mysql2 and oracledb errors), plus
 * live SQL Server / Oracle tests of the documented scripts when MSSQL_URL / ORACLE_URL point at a
 * server (PostgreSQL and MariaDB are covered live by tests/integration/collector-rights.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import mssql from 'mssql';
import oracledb from 'oracledb';
import { evaluatePostgresRights, type PostgresRightsRow } from '../../src/adapters/postgres.js';
import { evaluateMysqlRights, isMysqlDenied, usesGlobalPriv } from '../../src/adapters/mysql.js';
import { evaluateSqlServerRights, sqlserverAdapter, sqlserverConfig } from '../../src/adapters/sqlserver.js';
import { evaluateOracleRights, isOracleDenied, oracleAdapter, oracleConnectString } from '../../src/adapters/oracle.js';
import { assertRequiredRights, describeMissing, MissingRightsError, missingOptional, missingRequired, probe, type CollectorRight } from '../../src/adapters/rights.js';
import { classifyFailure } from '../../src/adapters/failures.js';
import { DEFAULT_ACCOUNT_FILTERS } from '../../src/adapters/filters.js';
import type { ConnInfo } from '../../src/adapters/types.js';
import { collectorScript } from '../helpers/managed.js';

const names = (rights: CollectorRight[]) => rights.map((r) => r.right);

describe('shared rights logic', () => {
  const rights: CollectorRight[] = [
    { right: 'SELECT ON a', required: true, granted: true, purpose: 'a' },
    { right: 'SELECT ON b', required: true, granted: false, purpose: 'b' },
    { right: 'SELECT ON c', required: false, granted: false, purpose: '版本为未知' },
  ];

  it('names required and optional missing rights apart, with the script to run', () => {
    expect(names(missingRequired(rights))).toEqual(['SELECT ON b']);
    expect(names(missingOptional(rights))).toEqual(['SELECT ON c']);
    const msg = describeMissing('oracle', rights)!;
    expect(msg).toContain('采集账号缺少必需权限: SELECT ON b');
    expect(msg).toContain('缺少可选权限: SELECT ON c（版本为未知）');
    expect(msg).toContain('docs/collector/oracle.sql');
    expect(describeMissing('oracle', [rights[0]!])).toBeNull();
  });

  it('refuses only when a required right is missing; the error survives failure classification', () => {
    expect(assertRequiredRights('mysql', [rights[0]!, rights[2]!])).toHaveLength(2);
    let err: unknown;
    try {
      assertRequiredRights('mysql', rights);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingRightsError);
    expect((err as MissingRightsError).missing).toEqual(['SELECT ON b']);
    const conn: ConnInfo = { dbType: 'mysql', host: 'h', port: 1, username: 'u', password: 'p' };
    expect(classifyFailure(err, conn)).toBe(err);
  });

  it('probes: success is granted, a denial is missing, anything else propagates', async () => {
    const denied = (e: unknown) => (e as Error).message === 'denied';
    expect(await probe(async () => 1, denied)).toBe(true);
    expect(await probe(async () => Promise.reject(new Error('denied')), denied)).toBe(false);
    await expect(probe(async () => Promise.reject(new Error('connection reset')), denied)).rejects.toThrow('connection reset');
  });
});

describe('PostgreSQL rights', () => {
  const all: PostgresRightsRow = {
    pg_roles: true, pg_auth_members: true, pg_class: true, pg_namespace: true, pg_database: true, pg_tablespace: true,
    aclexplode: true, has_tablespace_privilege: true, pg_authid: false, password_function: true,
  };

  it('needs the public catalogs; has_password comes from pg_authid or the script function', () => {
    expect(missingRequired(evaluatePostgresRights(all))).toEqual([]);
    expect(missingOptional(evaluatePostgresRights(all))).toEqual([]);
    expect(missingOptional(evaluatePostgresRights({ ...all, password_function: false, pg_authid: true }))).toEqual([]);
    const weak = evaluatePostgresRights({ ...all, pg_auth_members: false, aclexplode: false, password_function: false });
    expect(names(missingRequired(weak))).toEqual(['SELECT ON pg_catalog.pg_auth_members', 'EXECUTE ON FUNCTION pg_catalog.aclexplode(aclitem[])']);
    expect(names(missingOptional(weak))).toEqual(['EXECUTE ON FUNCTION whalefall.role_has_password()（或 SELECT ON pg_catalog.pg_authid）']);
  });
});

describe('MySQL / MariaDB rights', () => {
  it('reads mysql.global_priv on MariaDB 10.4 and later only', () => {
    expect(usesGlobalPriv('10.11.19-MariaDB-0+deb12u1')).toBe(true);
    expect(usesGlobalPriv('10.4.34-MariaDB-log')).toBe(true);
    expect(usesGlobalPriv('11.4.2-MariaDB-ubu2404')).toBe(true);
    expect(usesGlobalPriv('10.3.39-MariaDB-0+deb10u2')).toBe(false);
    expect(usesGlobalPriv('8.0.36')).toBe(false);
    expect(usesGlobalPriv('5.7.44-log')).toBe(false);
  });

  it('tells a denial from other errors, on mysql2 error shapes', () => {
    const err = (errno: number, code: string, message: string) => Object.assign(new Error(message), { errno, code, sqlState: '42000' });
    expect(isMysqlDenied(err(1142, 'ER_TABLEACCESS_DENIED_ERROR', "SELECT command denied to user 'm'@'127.0.0.1' for table `mysql`.`global_priv`"))).toBe(true);
    expect(isMysqlDenied(err(1044, 'ER_DBACCESS_DENIED_ERROR', "Access denied for user 'm'@'127.0.0.1' to database 'mysql'"))).toBe(true);
    expect(isMysqlDenied(err(1227, 'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'Access denied; you need (at least one of) the SUPER privilege(s) for this operation'))).toBe(true);
    expect(isMysqlDenied(err(1141, 'ER_NONEXISTING_GRANT', "There is no such grant defined for user 'x' on host 'y'"))).toBe(false);
    expect(isMysqlDenied(err(1146, 'ER_NO_SUCH_TABLE', "Table 'mysql.global_priv' doesn't exist"))).toBe(false);
    expect(isMysqlDenied(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(false);
  });

  it('names the schema-level SELECT SHOW GRANTS needs, and global_priv only where it exists', () => {
    expect(names(evaluateMysqlRights({ mysqlUser: true, globalPriv: true, showGrants: true }))).toEqual(['SELECT ON mysql.user', 'SELECT ON mysql.global_priv', 'SELECT ON mysql.*']);
    expect(names(evaluateMysqlRights({ mysqlUser: true, globalPriv: null, showGrants: true }))).toEqual(['SELECT ON mysql.user', 'SELECT ON mysql.*']);
    expect(names(missingRequired(evaluateMysqlRights({ mysqlUser: true, globalPriv: true, showGrants: false })))).toEqual(['SELECT ON mysql.*']);
    expect(evaluateMysqlRights({ mysqlUser: false, globalPriv: false, showGrants: false }).every((r) => r.required && !r.granted)).toBe(true);
  });
});

describe('SQL Server rights (fn_my_permissions and HAS_DBACCESS rows)', () => {
  /** Rows as `SELECT * FROM fn_my_permissions(NULL, 'SERVER')` returns them. */
  const perms = (...p: string[]) => p.map((permission_name) => ({ entity_name: 'server', subentity_name: '', permission_name }));
  const PUBLIC_LOGIN = perms('CONNECT SQL', 'VIEW ANY DATABASE');
  const SCRIPT_LOGIN = perms('CONNECT SQL', 'VIEW ANY DATABASE', 'VIEW ANY DEFINITION', 'CONNECT ANY DATABASE');

  it("grants everything to the script's login, whatever databases exist", () => {
    const rights = evaluateSqlServerRights(SCRIPT_LOGIN, [{ name: 'shop', has_access: 1 }, { name: 'crm', has_access: 1 }]);
    expect(names(rights)).toEqual(['VIEW ANY DEFINITION', 'VIEW ANY DATABASE', 'CONNECT ANY DATABASE']);
    expect(missingRequired(rights)).toEqual([]);
  });

  it('names what a plain login lacks, including each database it cannot enter', () => {
    const rights = evaluateSqlServerRights(PUBLIC_LOGIN, [{ name: 'shop', has_access: 0 }, { name: 'crm', has_access: 1 }, { name: 'we]ird', has_access: null }]);
    expect(names(missingRequired(rights))).toEqual(['VIEW ANY DEFINITION', 'CONNECT ANY DATABASE（或在 [shop], [we]]ird] 中创建用户）']);
  });

  it('accepts users in every database instead of CONNECT ANY DATABASE, and 2022’s VIEW ANY SECURITY DEFINITION', () => {
    const rights = evaluateSqlServerRights(perms('CONNECT SQL', 'VIEW ANY DATABASE', 'VIEW ANY SECURITY DEFINITION'), [{ name: 'shop', has_access: true }]);
    expect(missingRequired(rights)).toEqual([]);
  });

  it('names VIEW ANY DATABASE when revoked from public, and counts many blocked databases', () => {
    const dbs = Array.from({ length: 12 }, (_, i) => ({ name: `db${i}`, has_access: 0 }));
    const missing = names(missingRequired(evaluateSqlServerRights(perms('CONNECT SQL', 'VIEW ANY DEFINITION'), dbs)));
    expect(missing[0]).toBe('VIEW ANY DATABASE');
    expect(missing[1]).toMatch(/^CONNECT ANY DATABASE（或在 \[db0\], .*\[db9\] 等 12 个库 中创建用户）$/);
  });
});

describe('Oracle rights (probe outcomes, oracledb errors)', () => {
  it('tells a denial from other errors, on oracledb thin error shapes', () => {
    const err = (errorNum: number, message: string) => Object.assign(new Error(message), { errorNum, code: message.slice(0, 9) });
    expect(isOracleDenied(err(942, 'ORA-00942: table or view does not exist'))).toBe(true);
    expect(isOracleDenied(err(942, 'ORA-00942: table or view "SYS"."DBA_USERS" does not exist\nHelp: https://docs.oracle.com/error-help/db/ora-00942/'))).toBe(true);
    expect(isOracleDenied(err(1031, 'ORA-01031: insufficient privileges'))).toBe(true);
    expect(isOracleDenied(err(3113, 'ORA-03113: end-of-file on communication channel'))).toBe(false);
    expect(isOracleDenied(Object.assign(new Error('NJS-500: connection to the Oracle Database was broken'), { code: 'NJS-500' }))).toBe(false);
  });

  it('requires the four DBA_ views; V$VERSION is optional', () => {
    const all = { DBA_USERS: true, DBA_ROLE_PRIVS: true, DBA_SYS_PRIVS: true, DBA_TS_QUOTAS: true, V$VERSION: true };
    expect(names(evaluateOracleRights(all))).toEqual(['SELECT ON SYS.DBA_USERS', 'SELECT ON SYS.DBA_ROLE_PRIVS', 'SELECT ON SYS.DBA_SYS_PRIVS', 'SELECT ON SYS.DBA_TS_QUOTAS', 'SELECT ON SYS.V_$VERSION']);
    const partial = evaluateOracleRights({ ...all, DBA_TS_QUOTAS: false, V$VERSION: false });
    expect(names(missingRequired(partial))).toEqual(['SELECT ON SYS.DBA_TS_QUOTAS']);
    expect(names(missingOptional(partial))).toEqual(['SELECT ON SYS.V_$VERSION']);
  });
});

describe('documented scripts', () => {
  it('exist for every engine, with the placeholders the usage notes name', () => {
    for (const engine of ['postgresql', 'mysql', 'sqlserver', 'oracle'] as const) {
      const sql = collectorScript(engine, 'wf_check_account', 'Wf-Check-Pass-1');
      expect(sql, engine).toContain('wf_check_account');
      expect(sql, engine).not.toMatch(/whalefall_monitor|CHANGE_ME/);
    }
  });
});

// ---- live servers -------------------------------------------------------------------------------

function connFromUrl(url: string, dbType: 'sqlserver' | 'oracle'): ConnInfo {
  const u = new URL(url);
  return { dbType, host: u.hostname, port: Number(u.port), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) || null, options: { connectTimeoutMs: 10_000 } };
}

const MSSQL_URL = process.env.MSSQL_URL;
const ORACLE_URL = process.env.ORACLE_URL;
if (!MSSQL_URL) console.log('SQL Server collector-rights live tests skipped: MSSQL_URL is not set (no SQL Server can be installed on this machine)');
if (!ORACLE_URL) console.log('Oracle collector-rights live tests skipped: ORACLE_URL is not set (no Oracle server can be installed on this machine)');

const byName = (accounts: Array<{ username: string }>) => Object.fromEntries(accounts.map((a) => [a.username, a]));

describe.skipIf(!MSSQL_URL)('SQL Server collector rights live (MSSQL_URL, a sysadmin login)', () => {
  it("the script's login syncs what the administrator sees; a plain login is named and refused", async () => {
    const adminConn = connFromUrl(MSSQL_URL!, 'sqlserver');
    const monitor = `wf${randomBytes(3).toString('hex')}_monitor`;
    const bare = `wf${randomBytes(3).toString('hex')}_bare`;
    const password = 'Wf-Least-Priv-9x!';
    const pool = await new mssql.ConnectionPool(sqlserverConfig(adminConn)).connect();
    try {
      expect(missingRequired((await sqlserverAdapter.testConnection(adminConn)).rights)).toEqual([]);
      // The documented script, batch by batch as sqlcmd runs it (GO separates batches).
      for (const batch of collectorScript('sqlserver', monitor, password).split(/^\s*GO\s*$/im)) if (batch.trim()) await pool.request().batch(batch);
      await pool.request().batch(`CREATE LOGIN ${bare} WITH PASSWORD = N'${password}'`);
      const monConn = { ...adminConn, username: monitor, password };
      const check = await sqlserverAdapter.testConnection(monConn);
      expect(missingRequired(check.rights)).toEqual([]);
      const asAdmin = await sqlserverAdapter.fetchAccounts(adminConn, DEFAULT_ACCOUNT_FILTERS.sqlserver);
      const asMonitor = await sqlserverAdapter.fetchAccounts(monConn, DEFAULT_ACCOUNT_FILTERS.sqlserver);
      expect(byName(asMonitor.accounts)).toEqual(byName(asAdmin.accounts));
      const bareConn = { ...adminConn, username: bare, password };
      expect(names(missingRequired((await sqlserverAdapter.testConnection(bareConn)).rights))).toContain('VIEW ANY DEFINITION');
      await expect(sqlserverAdapter.fetchAccounts(bareConn, DEFAULT_ACCOUNT_FILTERS.sqlserver)).rejects.toBeInstanceOf(MissingRightsError);
    } finally {
      for (const login of [monitor, bare]) await pool.request().batch(`IF SUSER_ID(N'${login}') IS NOT NULL DROP LOGIN ${login}`).catch(() => {});
      await pool.close();
    }
  });
});

describe.skipIf(!ORACLE_URL)('Oracle collector rights live (ORACLE_URL, a DBA user)', () => {
  it('an account with CREATE SESSION only is named and refused; the administrator passes', async () => {
    const adminConn = connFromUrl(ORACLE_URL!, 'oracle');
    const bare = `WF${randomBytes(3).toString('hex').toUpperCase()}_BARE`;
    const password = 'WfLeastPriv9x';
    const c = await oracledb.getConnection({ user: adminConn.username, password: adminConn.password, connectString: oracleConnectString(adminConn) });
    try {
      expect(missingRequired((await oracleAdapter.testConnection(adminConn)).rights)).toEqual([]);
      await c.execute(`CREATE USER ${bare} IDENTIFIED BY "${password}"`);
      await c.execute(`GRANT CREATE SESSION TO ${bare}`);
      const bareConn = { ...adminConn, username: bare, password };
      expect(names(missingRequired((await oracleAdapter.testConnection(bareConn)).rights))).toEqual([
        'SELECT ON SYS.DBA_USERS', 'SELECT ON SYS.DBA_ROLE_PRIVS', 'SELECT ON SYS.DBA_SYS_PRIVS', 'SELECT ON SYS.DBA_TS_QUOTAS',
      ]);
      await expect(oracleAdapter.fetchAccounts(bareConn, DEFAULT_ACCOUNT_FILTERS.oracle)).rejects.toBeInstanceOf(MissingRightsError);
    } finally {
      await c.execute(`DROP USER ${bare} CASCADE`).catch(() => {});
      await c.close();
    }
  });

  it("the script's account syncs what the administrator sees (needs a user that may grant on SYS views)", async (ctx) => {
    const adminConn = connFromUrl(ORACLE_URL!, 'oracle');
    const monitor = `WF${randomBytes(3).toString('hex').toUpperCase()}_MONITOR`;
    const password = 'WfLeastPriv9x';
    const c = await oracledb.getConnection({ user: adminConn.username, password: adminConn.password, connectString: oracleConnectString(adminConn) });
    try {
      // The documented script as SQL*Plus runs it: comments and the WHENEVER directive dropped, one statement per ';'.
      const statements = collectorScript('oracle', monitor, password)
        .split('\n').filter((l) => !/^\s*(--|WHENEVER\b)/i.test(l)).join('\n')
        .split(';').map((s) => s.trim()).filter(Boolean);
      for (const s of statements) {
        try {
          await c.execute(s);
        } catch (err) {
          if (isOracleDenied(err) && /^GRANT SELECT ON SYS\./i.test(s)) {
            console.log(`Oracle script test skipped: ${adminConn.username} may not grant on SYS views (run the script as SYS): ${(err as Error).message.split('\n')[0]}`);
            ctx.skip();
          }
          throw err;
        }
      }
      const monConn = { ...adminConn, username: monitor, password };
      const check = await oracleAdapter.testConnection(monConn);
      expect(check.rights.filter((r) => !r.granted)).toEqual([]);
      const asAdmin = await oracleAdapter.fetchAccounts(adminConn, DEFAULT_ACCOUNT_FILTERS.oracle);
      const asMonitor = await oracleAdapter.fetchAccounts(monConn, DEFAULT_ACCOUNT_FILTERS.oracle);
      expect(byName(asMonitor.accounts)).toEqual(byName(asAdmin.accounts));
    } finally {
      await c.execute(`DROP USER ${monitor} CASCADE`).catch(() => {});
      await c.close();
    }
  });
});
