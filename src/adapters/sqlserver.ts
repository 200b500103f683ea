/**
 * SQL Server adapter (mssql/tedious). Logins, server roles and permissions, and database users,
 * roles and permissions across up to MAX_DATABASES online databases the login can access. Database
 * names are bracket-quoted (never interpolated raw); account names are bound as parameters.
 *
 * SQL Server never refuses these catalog views: metadata visibility hides the rows a login may not
 * see (without VIEW ANY DEFINITION a login sees itself and the fixed roles only, and databases it
 * cannot enter are skipped). So the rights are checked from the login's effective permissions
 * (fn_my_permissions) and HAS_DBACCESS, never inferred from what the views return.
 */
import mssql from 'mssql';
import { classifyFailure, withTimeout } from './failures.js';
import { compileFilter } from './filters.js';
import { assertRequiredRights, type CollectorRight } from './rights.js';
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
  /** LOGINPROPERTY(name, 'PasswordLastSetTime'): SQL logins only (NULL for Windows logins and groups). */
  password_last_set_time?: Date | null;
  /** LOGINPROPERTY(name, 'IsExpired'): 1 when the password expired under CHECK_EXPIRATION; NULL off SQL logins. */
  is_expired?: number | boolean | null;
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
    const changed = l.password_last_set_time ? new Date(l.password_last_set_time) : null;
    const expired = Number(l.is_expired) === 1;
    return {
      username: l.name,
      host: null,
      isSuperuser: isSysadmin,
      isActive: !l.is_disabled,
      isLocked: !!l.is_disabled,
      // SQL Server keeps no last successful login in its catalogs (only login auditing or the
      // volatile sys.dm_exec_sessions show logins), and no expiry date (the Windows policy decides).
      passwordChangedAt: changed && !Number.isNaN(changed.getTime()) ? changed : null,
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
        // Only when set, so that rows synced before this key existed do not all differ at once.
        ...(expired ? { password_expired: true } : {}),
      },
    };
  });
}

/** User databases the adapter reads (system databases hold no application accounts). */
const USER_DATABASES = `state = 0 AND name NOT IN ('master','tempdb','model','msdb')`;
/** Inaccessible databases named in the diagnostic before it says "and N more". */
const NAMED_DATABASES = 10;

/** Pure: effective server permissions (fn_my_permissions(NULL, 'SERVER') rows) and the online user
 * databases with HAS_DBACCESS → the collector's rights (unit-tested). */
export function evaluateSqlServerRights(
  serverPermissions: Array<{ permission_name: string }>,
  databases: Array<{ name: string; has_access: number | boolean | null }>,
): CollectorRight[] {
  const perms = new Set(serverPermissions.map((p) => p.permission_name.toUpperCase()));
  const blocked = databases.filter((d) => Number(d.has_access) !== 1).map((d) => d.name);
  const named = blocked.slice(0, NAMED_DATABASES).map(quoteName).join(', ') + (blocked.length > NAMED_DATABASES ? ` 等 ${blocked.length} 个库` : '');
  return [
    {
      right: 'VIEW ANY DEFINITION',
      required: true,
      // SQL Server 2022's narrower VIEW ANY SECURITY DEFINITION covers the security catalog views read here.
      granted: perms.has('VIEW ANY DEFINITION') || perms.has('VIEW ANY SECURITY DEFINITION'),
      purpose: '看到所有登录名、服务器角色成员、服务器权限及各库的用户、角色和权限（否则只看到自己）',
    },
    { right: 'VIEW ANY DATABASE', required: true, granted: perms.has('VIEW ANY DATABASE'), purpose: '列出所有数据库 (sys.databases)' },
    {
      right: blocked.length ? `CONNECT ANY DATABASE（或在 ${named} 中创建用户）` : 'CONNECT ANY DATABASE',
      required: true,
      granted: perms.has('CONNECT ANY DATABASE') || blocked.length === 0,
      purpose: '进入每个用户库读取库级角色和权限（无权进入的库会被跳过）',
    },
  ];
}

async function readRights(p: mssql.ConnectionPool): Promise<CollectorRight[]> {
  const perms = (await p.request().query<{ permission_name: string }>(`SELECT permission_name FROM fn_my_permissions(NULL, 'SERVER')`)).recordset;
  const dbs = (await p.request().query<{ name: string; has_access: number | null }>(`SELECT name, HAS_DBACCESS(name) AS has_access FROM sys.databases WHERE ${USER_DATABASES} ORDER BY name`)).recordset;
  return evaluateSqlServerRights(perms, dbs);
}

const readVersion = async (p: mssql.ConnectionPool) => parseVersion('sqlserver', String((await p.request().query('SELECT @@VERSION AS v')).recordset[0]?.v ?? ''));

export const sqlserverAdapter: DbAdapter = {
  dbType: 'sqlserver',

  testConnection: (conn) => withPool(conn, async (p) => ({ version: await readVersion(p), rights: await readRights(p) })),

  fetchAccounts: (conn, filter: AccountFilter) =>
    withPool(conn, async (p) => {
      const version = await readVersion(p);
      const rights = assertRequiredRights('sqlserver', await readRights(p));
      const f = compileFilter('sp.name', filter, (i) => `@f${i}`);
      const req = p.request();
      f.params.forEach((v, i) => req.input(`f${i + 1}`, mssql.NVarChar, v));
      const logins = (
        await req.query<LoginRow>(`SELECT sp.name, sp.principal_id, sp.type_desc, sp.is_disabled, sp.default_database_name,
                  sp.default_language_name, sl.is_expiration_checked, sl.is_policy_checked,
                  CASE WHEN sp.type = 'S' THEN CAST(LOGINPROPERTY(sp.name, 'PasswordLastSetTime') AS datetime) END AS password_last_set_time,
                  CASE WHEN sp.type = 'S' THEN CAST(LOGINPROPERTY(sp.name, 'IsExpired') AS int) END AS is_expired
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
              WHERE ${USER_DATABASES} AND HAS_DBACCESS(name) = 1 ORDER BY name`)
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
      return { version, rights, accounts: normalizeSqlServer({ logins, serverRoles, serverPermissions, dbRoles, dbPermissions, databases }) };
    }),
};
