/**
 * PostgreSQL adapter (pg). Reads roles and their attributes, memberships, table privileges of the
 * connected database and database-level privileges of every database (aclexplode), and tablespace
 * CREATE rights — a fixed number of catalog queries whatever the number of roles. Everything it
 * reads is readable by PUBLIC by default except pg_authid (whether a role has a password), which
 * a non-superuser reads through the function of docs/collector/postgresql.sql.
 */
import pg from 'pg';
import { classifyFailure, withTimeout } from './failures.js';
import { compileFilter } from './filters.js';
import { assertRequiredRights, type CollectorRight } from './rights.js';
import { parseVersion } from './version.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type AccountFilter, type ConnInfo, type DbAdapter, type UnifiedAccount } from './types.js';

/** Catalog queries are small; a stuck server must not hold a sync forever. */
const STATEMENT_TIMEOUT_MS = 60_000;

function clientFor(conn: ConnInfo): pg.Client {
  const timeout = conn.options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new pg.Client({
    host: conn.host,
    port: conn.port,
    user: conn.username,
    password: conn.password,
    database: conn.database || 'postgres',
    connectionTimeoutMillis: timeout,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'whalefall',
    ssl: conn.options?.tls ? { rejectUnauthorized: conn.options.tlsRejectUnauthorized ?? false } : false,
  });
}

async function withClient<T>(conn: ConnInfo, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = clientFor(conn);
  client.on('error', () => {}); // a dropped connection surfaces through the pending query instead
  const timeout = conn.options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    // pg's own timer does not cover every stage of the handshake (e.g. a silent TLS peer).
    await withTimeout(client.connect(), timeout + 500, conn);
  } catch (err) {
    void client.end().catch(() => {});
    throw classifyFailure(err, conn);
  }
  try {
    return await fn(client);
  } catch (err) {
    throw classifyFailure(err, conn);
  } finally {
    await client.end().catch(() => {});
  }
}

interface RoleRow {
  rolname: string;
  oid: number;
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolcanlogin: boolean;
  rolinherit: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  rolconnlimit: number;
  valid_until: Date | null;
}

export interface PostgresCatalog {
  roles: RoleRow[];
  memberships: Array<{ member: string; role: string }>;
  tablePrivileges: Array<{ grantee: string; privilege_type: string }>;
  databasePrivileges: Array<{ datname: string; grantee: string; privilege_type: string }>;
  tablespaces: Array<{ rolname: string; spcname: string }>;
  passwords: Map<string, boolean> | null;
  database: string;
}

/** Pure: catalog rows → unified accounts (unit-tested from fixture rows). */
export function normalizePostgres(cat: PostgresCatalog): UnifiedAccount[] {
  const group = <T, K extends string>(rows: T[], key: (r: T) => string, val: (r: T) => K) => {
    const m = new Map<string, Set<K>>();
    for (const r of rows) {
      const k = key(r);
      if (!m.has(k)) m.set(k, new Set());
      m.get(k)!.add(val(r));
    }
    return m;
  };
  const memberOf = group(cat.memberships, (r) => r.member, (r) => r.role);
  const tablePrivs = group(cat.tablePrivileges, (r) => r.grantee, (r) => r.privilege_type);
  const spaces = group(cat.tablespaces, (r) => r.rolname, (r) => r.spcname);
  const dbPrivs = new Map<string, Record<string, Set<string>>>();
  for (const r of cat.databasePrivileges) {
    const byDb = dbPrivs.get(r.grantee) ?? {};
    (byDb[r.datname] ??= new Set()).add(r.privilege_type);
    dbPrivs.set(r.grantee, byDb);
  }
  return cat.roles.map((r) => {
    const databases: Record<string, string[]> = {};
    for (const [db, set] of Object.entries(dbPrivs.get(r.rolname) ?? {})) databases[db] = [...set].sort();
    const tp = tablePrivs.get(r.rolname);
    if (tp?.size) databases[cat.database] = [...new Set([...(databases[cat.database] ?? []), ...tp])].sort();
    const tablespace: Record<string, string[]> = {};
    for (const s of spaces.get(r.rolname) ?? []) tablespace[s] = ['CREATE'];
    return {
      username: r.rolname,
      host: null,
      isSuperuser: r.rolsuper,
      isActive: r.rolcanlogin,
      isLocked: !r.rolcanlogin,
      predefinedRoles: [...(memberOf.get(r.rolname) ?? [])].sort(),
      roleAttributes: {
        can_super: r.rolsuper,
        can_create_role: r.rolcreaterole,
        can_create_db: r.rolcreatedb,
        can_login: r.rolcanlogin,
        can_inherit: r.rolinherit,
        can_replicate: r.rolreplication,
        can_bypass_rls: r.rolbypassrls,
        connection_limit: r.rolconnlimit,
      },
      databasePrivilegesPg: databases,
      tablespacePrivileges: tablespace,
      systemPrivileges: [],
      // PostgreSQL records no login or password-change time; VALID UNTIL is the password's expiry.
      passwordExpiresAt: r.valid_until ? new Date(r.valid_until) : null,
      typeSpecific: {
        role_oid: Number(r.oid),
        has_password: cat.passwords ? (cat.passwords.get(r.rolname) ?? false) : null,
        valid_until: r.valid_until ? r.valid_until.toISOString() : null,
        can_login: r.rolcanlogin,
      },
    };
  });
}

/**
 * One row of booleans: which of the catalogs and functions the adapter reads the connected role may
 * use (superusers pass every has_*_privilege check). No FROM clause, so a revoked catalog shows up
 * as false instead of aborting the check; the password function is looked up only where its schema
 * is usable, because to_regprocedure raises on a schema without USAGE.
 */
const RIGHTS_SQL = `SELECT has_table_privilege('pg_catalog.pg_roles', 'SELECT') AS pg_roles,
  has_table_privilege('pg_catalog.pg_auth_members', 'SELECT') AS pg_auth_members,
  has_table_privilege('pg_catalog.pg_class', 'SELECT') AS pg_class,
  has_table_privilege('pg_catalog.pg_namespace', 'SELECT') AS pg_namespace,
  has_table_privilege('pg_catalog.pg_database', 'SELECT') AS pg_database,
  has_table_privilege('pg_catalog.pg_tablespace', 'SELECT') AS pg_tablespace,
  has_function_privilege('pg_catalog.aclexplode(aclitem[])', 'EXECUTE') AS aclexplode,
  has_function_privilege('pg_catalog.has_tablespace_privilege(oid, oid, text)', 'EXECUTE') AS has_tablespace_privilege,
  has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS pg_authid,
  CASE WHEN has_schema_privilege(to_regnamespace('whalefall'), 'USAGE')
       THEN COALESCE(has_function_privilege(to_regprocedure('whalefall.role_has_password()'), 'EXECUTE'), false)
       ELSE false END AS password_function`;

/** The function docs/collector/postgresql.sql creates so a non-superuser learns has_password (never a hash). */
export const PASSWORD_FUNCTION = 'whalefall.role_has_password()';

export interface PostgresRightsRow {
  pg_roles: boolean;
  pg_auth_members: boolean;
  pg_class: boolean;
  pg_namespace: boolean;
  pg_database: boolean;
  pg_tablespace: boolean;
  aclexplode: boolean;
  has_tablespace_privilege: boolean;
  pg_authid: boolean;
  password_function: boolean;
}

/** Pure: the rights row → the collector's rights (unit-tested). */
export function evaluatePostgresRights(row: PostgresRightsRow): CollectorRight[] {
  const req = (right: string, granted: boolean, purpose: string): CollectorRight => ({ right, required: true, granted, purpose });
  return [
    req('SELECT ON pg_catalog.pg_roles', row.pg_roles, '读取角色及其属性'),
    req('SELECT ON pg_catalog.pg_auth_members', row.pg_auth_members, '读取角色成员关系'),
    req('SELECT ON pg_catalog.pg_class', row.pg_class, '读取当前库的表权限 (relacl)'),
    req('SELECT ON pg_catalog.pg_namespace', row.pg_namespace, '排除系统 schema 的表'),
    req('SELECT ON pg_catalog.pg_database', row.pg_database, '读取库级权限 (datacl)'),
    req('SELECT ON pg_catalog.pg_tablespace', row.pg_tablespace, '读取表空间 CREATE 权限'),
    req('EXECUTE ON FUNCTION pg_catalog.aclexplode(aclitem[])', row.aclexplode, '展开表和库的 ACL'),
    req('EXECUTE ON FUNCTION pg_catalog.has_tablespace_privilege(oid, oid, text)', row.has_tablespace_privilege, '判断表空间 CREATE 权限'),
    {
      right: `EXECUTE ON FUNCTION ${PASSWORD_FUNCTION}（或 SELECT ON pg_catalog.pg_authid）`,
      required: false,
      granted: row.pg_authid || row.password_function,
      purpose: '账户是否设置了密码 (has_password)，缺少时为未知',
    },
  ];
}

async function readRights(c: pg.Client): Promise<{ row: PostgresRightsRow; rights: CollectorRight[] }> {
  const row = (await c.query<PostgresRightsRow>(RIGHTS_SQL)).rows[0]!;
  return { row, rights: evaluatePostgresRights(row) };
}

/** Whether each role has a password, from the best source the rights allow; null = unknown. */
async function readPasswords(c: pg.Client, row: PostgresRightsRow): Promise<Map<string, boolean> | null> {
  const sql = row.pg_authid
    ? 'SELECT rolname, rolpassword IS NOT NULL AS has FROM pg_catalog.pg_authid'
    : row.password_function
      ? `SELECT rolname, has_password AS has FROM ${PASSWORD_FUNCTION}`
      : null;
  if (!sql) return null;
  const p = await c.query<{ rolname: string; has: boolean }>(sql);
  return new Map(p.rows.map((r) => [r.rolname, r.has]));
}

export const postgresAdapter: DbAdapter = {
  dbType: 'postgresql',

  testConnection: (conn) =>
    withClient(conn, async (c) => {
      const version = parseVersion('postgresql', (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v);
      return { version, rights: (await readRights(c)).rights };
    }),

  fetchAccounts: (conn, filter: AccountFilter) =>
    withClient(conn, async (c) => {
      const version = parseVersion('postgresql', (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v);
      const { row: granted, rights } = await readRights(c);
      assertRequiredRights('postgresql', rights);
      const f = compileFilter('r.rolname', filter, (i) => `$${i}`, 1, ['postgres']);
      const roles = await c.query<RoleRow>(
        `SELECT r.rolname, r.oid::int AS oid, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolinherit,
                r.rolreplication, r.rolbypassrls, r.rolconnlimit,
                CASE WHEN r.rolvaliduntil IS NOT NULL AND isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END AS valid_until
           FROM pg_roles r WHERE ${f.sql} ORDER BY r.rolname`,
        f.params,
      );
      // One connection runs one query at a time anyway (pg queues them, and pg@9 refuses overlapping
      // calls), so they are awaited in turn.
      const memberships = await c.query(`SELECT mr.rolname AS member, gr.rolname AS role FROM pg_auth_members m
                   JOIN pg_roles mr ON mr.oid = m.member JOIN pg_roles gr ON gr.oid = m.roleid`);
      const tablePrivileges = await c.query(`SELECT DISTINCT g.rolname AS grantee, acl.privilege_type
                   FROM pg_class cl CROSS JOIN LATERAL aclexplode(cl.relacl) acl JOIN pg_roles g ON g.oid = acl.grantee
                  WHERE cl.relkind IN ('r','v','m','p','f')
                    AND cl.relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog','information_schema'))`);
      const databasePrivileges = await c.query(`SELECT DISTINCT d.datname, g.rolname AS grantee, acl.privilege_type
                   FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) acl JOIN pg_roles g ON g.oid = acl.grantee`);
      const tablespaces = await c.query(`SELECT r.rolname, t.spcname FROM pg_roles r CROSS JOIN pg_tablespace t
                  WHERE t.spcname <> 'pg_global' AND has_tablespace_privilege(r.oid, t.oid, 'CREATE')`);
      const database = await c.query<{ db: string }>('SELECT current_database() AS db');
      // pg_authid is readable by superusers (and pg_read_all_data) only; others go through the
      // script's function, and without it has_password stays null (unknown), as the check said.
      const passwords = await readPasswords(c, granted);
      const accounts = normalizePostgres({
        roles: roles.rows,
        memberships: memberships.rows,
        tablePrivileges: tablePrivileges.rows,
        databasePrivileges: databasePrivileges.rows,
        tablespaces: tablespaces.rows,
        passwords,
        database: database.rows[0]!.db,
      });
      return { version, accounts, rights };
    }),
};
