/**
 * SQL Server adapter (mssql/tedious). Logins, server roles and permissions, and database users,
 * roles and permissions across up to MAX_DATABASES online databases the login can access. Database
 * names are bracket-quoted (never interpolated raw); account names are bound as parameters.
 */
import mssql from 'mssql';
import { classifyFailure, withTimeout } from './failures.js';
import { compileFilter } from './filters.js';
import { parseVersion } from './version.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type AccountFilter, type ConnInfo, type DbAdapter, type UnifiedAccount } from './types.js';

const MAX_DATABASES = 50;
const REQUEST_TIMEOUT_MS = 300_000;

/** Pure: the mssql connection config for an instance (unit-tested). */
export function sqlserverConfig(conn: ConnInfo): mssql.config {
  const timeout = conn.options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return {
    server: conn.host,
    port: conn.options?.sqlserverInstanceName ? undefined : conn.port,
    user: conn.username,
    password: conn.password,
    database: conn.database || 'master',
    connectionTimeout: timeout,
    requestTimeout: REQUEST_TIMEOUT_MS,
    pool: { max: 1, min: 0 },
    options: {
      encrypt: conn.options?.tls ?? false,
      trustServerCertificate: !(conn.options?.tlsRejectUnauthorized ?? false),
      instanceName: conn.options?.sqlserverInstanceName || undefined,
      appName: 'whalefall',
    },
  };
}

/** `[name]` with `]` doubled, the T-SQL QUOTENAME rule. */
export const quoteName = (name: string) => `[${name.replace(/]/g, ']]')}]`;

async function withPool<T>(conn: ConnInfo, fn: (p: mssql.ConnectionPool) => Promise<T>): Promise<T> {
  const pool = new mssql.ConnectionPool(sqlserverConfig(conn));
  pool.on('error', () => {});
  try {
    await withTimeout(pool.connect(), (conn.options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS) + 1000, conn);
  } catch (err) {
    void pool.close().catch(() => {});
    throw classifyFailure(err, conn);
  }
  try {
    return await fn(pool);
  } catch (err) {
    throw classifyFailure(err, conn);
  } finally {
    await pool.close().catch(() => {});
  }
}

interface LoginRow {
  name: string;
  principal_id: number;
  type_desc: string;
  is_disabled: boolean;
  default_database_name: string | null;
  default_language_name: string | null;
  is_expiration_checked: boolean | null;
  is_policy_checked: boolean | null;
}

export interface SqlServerCatalog {
  logins: LoginRow[];
  serverRoles: Array<{ login: string; role: string }>;
  serverPermissions: Array<{ login: string; permission: string }>;
  dbRoles: Array<{ login: string; db: string; role: string }>;
  dbPermissions: Array<{ login: string; db: string; permission: string }>;
  databases: string[];
}

/** Pure: catalog rows (shaped as the sys views return them) → unified accounts. */
export function normalizeSqlServer(cat: SqlServerCatalog): UnifiedAccount[] {
  return cat.logins.map((l) => {
    const roles = [...new Set(cat.serverRoles.filter((r) => r.login === l.name).map((r) => r.role))].sort();
    const isSysadmin = roles.includes('sysadmin') || l.name.toLowerCase() === 'sa';
    const dbRoles: Record<string, string[]> = {};
    for (const r of cat.dbRoles.filter((x) => x.login === l.name)) (dbRoles[r.db] ??= []).includes(r.role) || dbRoles[r.db]!.push(r.role);
    if (isSysadmin) for (const db of cat.databases) (dbRoles[db] ??= []).includes('db_owner') || dbRoles[db]!.push('db_owner');
    const dbPerms: Record<string, string[]> = {};
    for (const p of cat.dbPermissions.filter((x) => x.login === l.name)) (dbPerms[p.db] ??= []).includes(p.permission) || dbPerms[p.db]!.push(p.permission);
    for (const v of [...Object.values(dbRoles), ...Object.values(dbPerms)]) v.sort();
    return {
      username: l.name,
      host: null,
      isSuperuser: isSysadmin,
      isActive: !l.is_disabled,
      isLocked: !!l.is_disabled,
      serverRoles: roles,
      serverPermissions: [...new Set(cat.serverPermissions.filter((p) => p.login === l.name).map((p) => p.permission))].sort(),
      databaseRoles: dbRoles,
      databasePermissions: dbPerms,
      typeSpecific: {
        principal_id: l.principal_id,
        is_locked: !!l.is_disabled,
        is_disabled: !!l.is_disabled,
        account_type: l.type_desc,
        default_database: l.default_database_name,
        default_language: l.default_language_name,
        is_expiration_checked: l.is_expiration_checked,
        is_policy_checked: l.is_policy_checked,
      },
    };
  });
}

export const sqlserverAdapter: DbAdapter = {
  dbType: 'sqlserver',

  testConnection: (conn) =>
    withPool(conn, async (p) => parseVersion('sqlserver', String((await p.request().query('SELECT @@VERSION AS v')).recordset[0]?.v ?? ''))),

  fetchAccounts: (conn, filter: AccountFilter) =>
    withPool(conn, async (p) => {
      const version = parseVersion('sqlserver', String((await p.request().query('SELECT @@VERSION AS v')).recordset[0]?.v ?? ''));
      const f = compileFilter('sp.name', filter, (i) => `@f${i}`);
      const req = p.request();
      f.params.forEach((v, i) => req.input(`f${i + 1}`, mssql.NVarChar, v));
      const logins = (
        await req.query<LoginRow>(`SELECT sp.name, sp.principal_id, sp.type_desc, sp.is_disabled, sp.default_database_name,
                  sp.default_language_name, sl.is_expiration_checked, sl.is_policy_checked
             FROM sys.server_principals sp LEFT JOIN sys.sql_logins sl ON sl.principal_id = sp.principal_id
            WHERE sp.type IN ('S','U','G') AND ${f.sql} ORDER BY sp.name`)
      ).recordset;
      const serverRoles = (
        await p.request().query(`SELECT m.name AS login, r.name AS role FROM sys.server_role_members rm
              JOIN sys.server_principals r ON r.principal_id = rm.role_principal_id
              JOIN sys.server_principals m ON m.principal_id = rm.member_principal_id`)
      ).recordset as SqlServerCatalog['serverRoles'];
      const serverPermissions = (
        await p.request().query(`SELECT sp.name AS login, perm.permission_name AS permission FROM sys.server_permissions perm
              JOIN sys.server_principals sp ON sp.principal_id = perm.grantee_principal_id WHERE perm.state IN ('G','W')`)
      ).recordset as SqlServerCatalog['serverPermissions'];
      const databases = (
        await p.request().query(`SELECT TOP ${MAX_DATABASES} name FROM sys.databases
              WHERE state = 0 AND HAS_DBACCESS(name) = 1 AND name NOT IN ('master','tempdb','model','msdb') ORDER BY name`)
      ).recordset.map((r: { name: string }) => r.name);
      const dbRoles: SqlServerCatalog['dbRoles'] = [];
      const dbPermissions: SqlServerCatalog['dbPermissions'] = [];
      for (const db of databases) {
        const q = quoteName(db);
        const lit = `N'${db.replace(/'/g, "''")}'`;
        // Database users map to logins by SID (renamed users keep working).
        const roles = await p.request().query(`SELECT sp.name AS login, ${lit} AS db, r.name AS role
              FROM ${q}.sys.database_role_members rm
              JOIN ${q}.sys.database_principals r ON r.principal_id = rm.role_principal_id
              JOIN ${q}.sys.database_principals u ON u.principal_id = rm.member_principal_id
              JOIN sys.server_principals sp ON sp.sid = u.sid`);
        dbRoles.push(...(roles.recordset as SqlServerCatalog['dbRoles']));
        const perms = await p.request().query(`SELECT sp.name AS login, ${lit} AS db, perm.permission_name AS permission
              FROM ${q}.sys.database_permissions perm
              JOIN ${q}.sys.database_principals u ON u.principal_id = perm.grantee_principal_id
              JOIN sys.server_principals sp ON sp.sid = u.sid WHERE perm.state IN ('G','W')`);
        dbPermissions.push(...(perms.recordset as SqlServerCatalog['dbPermissions']));
      }
      return { version, accounts: normalizeSqlServer({ logins, serverRoles, serverPermissions, dbRoles, dbPermissions, databases }) };
    }),
};
