/**
 * PostgreSQL adapter (pg). Reads roles and their attributes, memberships, table privileges of the
 * connected database and database-level privileges of every database (aclexplode), and tablespace
 * CREATE rights — a fixed number of catalog queries whatever the number of roles.
 */
import pg from 'pg';
import { classifyFailure, withTimeout } from './failures.js';
import { compileFilter } from './filters.js';
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
      typeSpecific: {
        role_oid: Number(r.oid),
        has_password: cat.passwords ? (cat.passwords.get(r.rolname) ?? false) : null,
        valid_until: r.valid_until ? r.valid_until.toISOString() : null,
        can_login: r.rolcanlogin,
      },
    };
  });
}

export const postgresAdapter: DbAdapter = {
  dbType: 'postgresql',

  testConnection: (conn) =>
    withClient(conn, async (c) => parseVersion('postgresql', (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v)),

  fetchAccounts: (conn, filter: AccountFilter) =>
    withClient(conn, async (c) => {
      const version = parseVersion('postgresql', (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v);
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
      // pg_authid is readable by superusers only; without it has_password stays null (unknown).
      let passwords: Map<string, boolean> | null = null;
      try {
        const p = await c.query<{ rolname: string; has: boolean }>('SELECT rolname, rolpassword IS NOT NULL AS has FROM pg_authid');
        passwords = new Map(p.rows.map((r) => [r.rolname, r.has]));
      } catch (err) {
        // Not a superuser: unknown. Anything else (the connection died) fails the sync: a partial
        // catalog must never be written as the instance's accounts.
        if ((err as { code?: string }).code !== '42501') throw err;
      }
      const accounts = normalizePostgres({
        roles: roles.rows,
        memberships: memberships.rows,
        tablePrivileges: tablePrivileges.rows,
        databasePrivileges: databasePrivileges.rows,
        tablespaces: tablespaces.rows,
        passwords,
        database: database.rows[0]!.db,
      });
      return { version, accounts };
    }),
};
