/**
 * Oracle adapter (oracledb in thin mode: no Instant Client). Users from dba_users with roles,
 * system privileges and tablespace quotas, each read in one query with named binds. The collector
 * needs SELECT on exactly those four DBA_ views plus V$VERSION (docs/collector/oracle.sql); each is
 * probed with a statement that reads no row, since a grant may come directly, through a role or
 * from SELECT ANY DICTIONARY and only the server knows the outcome.
 */
import oracledb from 'oracledb';
import { classifyFailure, withTimeout } from './failures.js';
import { compileFilter } from './filters.js';
import { assertRequiredRights, probe, type CollectorRight } from './rights.js';
import { parseVersion } from './version.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type AccountFilter, type ConnInfo, type DbAdapter, type UnifiedAccount } from './types.js';

/** Pure: the connect string for a service name (default) or a SID (unit-tested). */
export function oracleConnectString(conn: ConnInfo): string {
  const target = conn.database || 'ORCL';
  if (conn.options?.oracleConnectAs === 'sid') {
    return `(DESCRIPTION=(ADDRESS=(PROTOCOL=${conn.options?.tls ? 'TCPS' : 'TCP'})(HOST=${conn.host})(PORT=${conn.port}))(CONNECT_DATA=(SID=${target})))`;
  }
  return `${conn.options?.tls ? 'tcps://' : ''}${conn.host}:${conn.port}/${target}`;
}

async function withConnection<T>(conn: ConnInfo, fn: (c: oracledb.Connection) => Promise<T>): Promise<T> {
  const timeout = conn.options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let c: oracledb.Connection;
  try {
    c = await withTimeout(
      oracledb.getConnection({
        user: conn.username,
        password: conn.password,
        connectString: oracleConnectString(conn),
        connectTimeout: Math.ceil(timeout / 1000),
        transportConnectTimeout: Math.ceil(timeout / 1000),
      }),
      timeout + 1000,
      conn,
    );
  } catch (err) {
    throw classifyFailure(err, conn);
  }
  try {
    return await fn(c);
  } catch (err) {
    throw classifyFailure(err, conn);
  } finally {
    await c.close().catch(() => {});
  }
}

interface UserRow {
  USERNAME: string;
  USER_ID: number;
  ACCOUNT_STATUS: string;
  CREATED: Date | null;
  EXPIRY_DATE: Date | null;
  DEFAULT_TABLESPACE: string | null;
  TEMPORARY_TABLESPACE: string | null;
  PROFILE: string | null;
  /** 12c+: the last successful login (TIMESTAMP WITH TIME ZONE); absent/NULL on 11g. */
  LAST_LOGIN?: Date | null;
  /** Newer releases only (see oracleUserColumns): when the password was last changed. */
  PASSWORD_CHANGE_DATE?: Date | null;
  LOCK_DATE?: Date | null;
}

/** The optional DBA_USERS columns the adapter reads when the server has them. */
export const ORACLE_OPTIONAL_USER_COLUMNS = ['LAST_LOGIN', 'PASSWORD_CHANGE_DATE', 'LOCK_DATE'] as const;

/**
 * Pure: the DBA_USERS select list for the columns this server's DBA_USERS has (LAST_LOGIN since 12c,
 * PASSWORD_CHANGE_DATE only in recent releases; SYS.USER$.PTIME would need more than the collector's
 * rights, so it is not used). Missing ones are selected as NULL.
 */
export function oracleUserColumns(available: readonly string[]): string {
  const has = new Set(available.map((c) => c.toUpperCase()));
  const optional = ORACLE_OPTIONAL_USER_COLUMNS.map((c) => (has.has(c) ? c.toLowerCase() : `NULL AS ${c.toLowerCase()}`));
  return ['username', 'user_id', 'account_status', 'created', 'expiry_date', 'default_tablespace', 'temporary_tablespace', 'profile', ...optional].join(', ');
}

const dateOrNull = (d: Date | null | undefined): Date | null => {
  if (!d) return null;
  const t = new Date(d);
  return Number.isNaN(t.getTime()) ? null : t;
};

export interface OracleCatalog {
  users: UserRow[];
  roles: Array<{ GRANTEE: string; GRANTED_ROLE: string }>;
  sysPrivs: Array<{ GRANTEE: string; PRIVILEGE: string }>;
  quotas: Array<{ USERNAME: string; TABLESPACE_NAME: string; MAX_BYTES: number }>;
}

/** Pure: dba_* rows → unified accounts. */
export function normalizeOracle(cat: OracleCatalog): UnifiedAccount[] {
  return cat.users.map((u) => {
    const roles = [...new Set(cat.roles.filter((r) => r.GRANTEE === u.USERNAME).map((r) => r.GRANTED_ROLE))].sort();
    const privs = [...new Set(cat.sysPrivs.filter((p) => p.GRANTEE === u.USERNAME).map((p) => p.PRIVILEGE))].sort();
    const ts: Record<string, string[]> = {};
    if (privs.includes('UNLIMITED TABLESPACE')) ts.ALL_TABLESPACES = ['UNLIMITED'];
    for (const q of cat.quotas.filter((x) => x.USERNAME === u.USERNAME)) ts[q.TABLESPACE_NAME] = [Number(q.MAX_BYTES) === -1 ? 'UNLIMITED' : 'QUOTA'];
    const open = u.ACCOUNT_STATUS === 'OPEN';
    // EXPIRED, EXPIRED(GRACE), EXPIRED & LOCKED, … (ACCOUNT_STATUS is compared already; the key
    // feeds the password_expired rule fact).
    const expired = /EXPIRED/.test(u.ACCOUNT_STATUS) && !/GRACE/.test(u.ACCOUNT_STATUS);
    return {
      username: u.USERNAME,
      host: null,
      isSuperuser: ['SYS', 'SYSTEM'].includes(u.USERNAME) || roles.includes('DBA'),
      isActive: open,
      isLocked: !open,
      oracleRoles: roles,
      systemPrivileges: privs,
      tablespacePrivilegesOracle: ts,
      typeSpecific: {
        user_id: u.USER_ID,
        account_status: u.ACCOUNT_STATUS,
        default_tablespace: u.DEFAULT_TABLESPACE,
        temporary_tablespace: u.TEMPORARY_TABLESPACE,
        profile: u.PROFILE,
        created: u.CREATED ? new Date(u.CREATED).toISOString() : null,
        expiry_date: u.EXPIRY_DATE ? new Date(u.EXPIRY_DATE).toISOString() : null,
        is_active: open,
        // Only when set, so that rows synced before these keys existed do not all differ at once.
        // LAST_LOGIN never goes here: it moves with every login (typed column only, not compared).
        ...(u.LOCK_DATE ? { lock_date: new Date(u.LOCK_DATE).toISOString() } : {}),
        ...(expired ? { password_expired: true } : {}),
      },
      lastLoginAt: dateOrNull(u.LAST_LOGIN),
      passwordChangedAt: dateOrNull(u.PASSWORD_CHANGE_DATE),
      passwordExpiresAt: dateOrNull(u.EXPIRY_DATE),
    };
  });
}

const OBJ = { outFormat: oracledb.OUT_FORMAT_OBJECT };

/** The views the adapter reads, in the order the diagnostic lists them. V$VERSION only gives the version. */
const ORACLE_VIEWS = [
  { view: 'DBA_USERS', grant: 'SYS.DBA_USERS', required: true, purpose: '读取用户、状态、默认表空间和 profile' },
  { view: 'DBA_ROLE_PRIVS', grant: 'SYS.DBA_ROLE_PRIVS', required: true, purpose: '读取授予用户的角色' },
  { view: 'DBA_SYS_PRIVS', grant: 'SYS.DBA_SYS_PRIVS', required: true, purpose: '读取授予用户的系统权限' },
  { view: 'DBA_TS_QUOTAS', grant: 'SYS.DBA_TS_QUOTAS', required: true, purpose: '读取表空间配额' },
  { view: 'V$VERSION', grant: 'SYS.V_$VERSION', required: false, purpose: '读取数据库版本，缺少时版本为未知' },
] as const;
export type OracleView = (typeof ORACLE_VIEWS)[number]['view'];

/** ORA-00942 (what Oracle answers for a view you may not read) and ORA-01031 (insufficient privileges). */
export function isOracleDenied(err: unknown): boolean {
  const e = err as { errorNum?: number; message?: string };
  return e?.errorNum === 942 || e?.errorNum === 1031 || /^ORA-0(0942|1031)\b/.test(String(e?.message ?? ''));
}

/** Pure: which views could be read → the collector's rights (unit-tested). */
export function evaluateOracleRights(readable: Record<OracleView, boolean>): CollectorRight[] {
  return ORACLE_VIEWS.map((v) => ({ right: `SELECT ON ${v.grant}`, required: v.required, granted: readable[v.view], purpose: v.purpose }));
}

async function readRights(c: oracledb.Connection): Promise<CollectorRight[]> {
  const readable = {} as Record<OracleView, boolean>;
  for (const v of ORACLE_VIEWS) readable[v.view] = await probe(() => c.execute(`SELECT 1 FROM ${v.view} WHERE 1 = 0`), isOracleDenied);
  return evaluateOracleRights(readable);
}

/** The version banner, or 未知 when V$VERSION may not be read (the rights say so). */
async function readVersion(c: oracledb.Connection, rights: CollectorRight[]) {
  if (!rights.find((r) => r.right === 'SELECT ON SYS.V_$VERSION')?.granted) return parseVersion('oracle', '');
  const r = await c.execute<{ BANNER: string }>('SELECT banner FROM v$version WHERE rownum = 1', [], OBJ);
  return parseVersion('oracle', r.rows?.[0]?.BANNER ?? '');
}

export const oracleAdapter: DbAdapter = {
  dbType: 'oracle',
  testConnection: (conn) =>
    withConnection(conn, async (c) => {
      const rights = await readRights(c);
      return { version: await readVersion(c, rights), rights };
    }),
  fetchAccounts: (conn, filter: AccountFilter) =>
    withConnection(conn, async (c) => {
      const rights = assertRequiredRights('oracle', await readRights(c));
      const version = await readVersion(c, rights);
      const f = compileFilter('username', filter, (i) => `:f${i}`);
      const binds = Object.fromEntries(f.params.map((v, i) => [`f${i + 1}`, v]));
      const where = `WHERE ${f.sql}`;
      // Which optional columns this release's DBA_USERS has (ALL_TAB_COLUMNS lists the columns of
      // views the collector may read, so no extra right is needed).
      const columns = (await c.execute<{ COLUMN_NAME: string }>(
        `SELECT column_name FROM all_tab_columns WHERE owner = 'SYS' AND table_name = 'DBA_USERS'`, [], OBJ)).rows ?? [];
      const users = (await c.execute<UserRow>(
        `SELECT ${oracleUserColumns(columns.map((r) => r.COLUMN_NAME))} FROM dba_users ${where} ORDER BY username`, binds, OBJ)).rows ?? [];
      const inUsers = `grantee IN (SELECT username FROM dba_users ${where})`;
      const roles = (await c.execute<OracleCatalog['roles'][number]>(`SELECT grantee, granted_role FROM dba_role_privs WHERE ${inUsers}`, binds, OBJ)).rows ?? [];
      const sysPrivs = (await c.execute<OracleCatalog['sysPrivs'][number]>(`SELECT grantee, privilege FROM dba_sys_privs WHERE ${inUsers}`, binds, OBJ)).rows ?? [];
      const quotas = (await c.execute<OracleCatalog['quotas'][number]>(
        `SELECT username, tablespace_name, max_bytes FROM dba_ts_quotas WHERE username IN (SELECT username FROM dba_users ${where})`, binds, OBJ)).rows ?? [];
      return { version, rights, accounts: normalizeOracle({ users, roles, sysPrivs, quotas }) };
    }),
};
