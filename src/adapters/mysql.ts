/**
 * MySQL / MariaDB adapter (mysql2). Accounts from mysql.user (roles excluded), privileges from SHOW
 * GRANTS parsed with a proper regex ([FIX] SPEC §3.4: privileges containing "ON" survive, WITH GRANT
 * OPTION becomes GRANT OPTION, table-level and role grants are kept). SHOW GRANTS FOR another
 * account needs a database-level SELECT on the mysql schema (both engines), which is therefore the
 * collector's one real right (docs/collector/mysql.sql).
 */
import mysql from 'mysql2/promise';
import { classifyFailure, withTimeout } from './failures.js';
import { compileFilter } from './filters.js';
import { assertRequiredRights, probe, type CollectorRight } from './rights.js';
import { parseVersion } from './version.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type AccountFilter, type ConnInfo, type DbAdapter, type UnifiedAccount } from './types.js';

/** SHOW GRANTS run on this many connections in parallel. */
const GRANT_READERS = 4;

export interface ParsedGrants {
  global: string[];
  databases: Record<string, string[]>;
  tables: Record<string, string[]>;
  roles: string[];
  canGrant: boolean;
}

/** Splits "SELECT, INSERT (a, b), UPDATE" on top-level commas. */
function splitPrivileges(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out.map((p) => p.replace(/\s+/g, ' ').toUpperCase());
}

const unquote = (s: string) => s.replace(/^`|`$/g, '').replace(/``/g, '`');

/**
 * SHOW GRANTS on MariaDB (and MySQL 5.7) prints the account's password hash
 * (`IDENTIFIED BY PASSWORD '*…'`, `IDENTIFIED VIA plugin USING '…'`). A mysql_native_password hash
 * is as good as the password for logging in, so it never leaves the adapter.
 */
export function redactGrantLine(line: string): string {
  return line
    .replace(/(IDENTIFIED\s+BY\s+(?:PASSWORD\s+)?)'(?:[^'\\]|\\.|'')*'/gi, "$1'<redacted>'")
    .replace(/(\bUSING\s+(?:PASSWORD\s*\(\s*)?)'(?:[^'\\]|\\.|'')*'/gi, "$1'<redacted>'");
}

/** Pure: SHOW GRANTS lines → privileges by scope. */
export function parseGrants(lines: string[]): ParsedGrants {
  const g: ParsedGrants = { global: [], databases: {}, tables: {}, roles: [], canGrant: false };
  const add = (list: string[], privs: string[]) => {
    for (const p of privs) if (!list.includes(p)) list.push(p);
  };
  for (const raw of lines) {
    const line = raw.trim();
    const m = /^GRANT (.+?) ON (?:(?:TABLE|FUNCTION|PROCEDURE) )?(\S+) TO (.+)$/i.exec(line);
    if (m) {
      const privs = splitPrivileges(m[1]!);
      if (/WITH GRANT OPTION/i.test(m[3]!)) privs.push('GRANT OPTION');
      if (privs.includes('PROXY')) continue; // proxy grants say who may impersonate, not privileges
      const [dbPart, objPart] = m[2]!.split(/\.(?=(?:[^`]*`[^`]*`)*[^`]*$)/);
      if (dbPart === '*' && objPart === '*') add(g.global, privs);
      else if (objPart === '*') add((g.databases[unquote(dbPart!)] ??= []), privs);
      else add((g.tables[`${unquote(dbPart!)}.${unquote(objPart ?? '')}`] ??= []), privs);
      continue;
    }
    const role = /^GRANT (.+?) TO (.+)$/i.exec(line);
    if (role) for (const r of role[1]!.split(',')) g.roles.push(r.trim().replace(/`/g, ''));
  }
  g.canGrant = g.global.includes('GRANT OPTION');
  return g;
}

interface UserRow {
  User: string;
  Host: string;
  Super_priv?: string;
  Grant_priv?: string;
  account_locked?: string;
  plugin?: string;
  password_last_changed?: Date | null;
  is_role?: string;
}

export function normalizeMysql(u: UserRow, grantLines: string[], locked: boolean): UnifiedAccount {
  const g = parseGrants(grantLines);
  const superuser = u.Super_priv === 'Y' || g.global.includes('ALL PRIVILEGES') || g.global.includes('SUPER');
  return {
    username: `${u.User}@${u.Host}`,
    host: u.Host,
    isSuperuser: superuser,
    isActive: !locked,
    isLocked: locked,
    globalPrivileges: g.global.sort(),
    databasePrivileges: Object.fromEntries(Object.entries(g.databases).map(([k, v]) => [k, v.sort()])),
    typeSpecific: {
      host: u.Host,
      original_username: u.User,
      grant_statements: grantLines,
      can_grant: u.Grant_priv === 'Y' || g.canGrant,
      is_locked: locked,
      plugin: u.plugin ?? null,
      password_last_changed: u.password_last_changed ? new Date(u.password_last_changed).toISOString() : null,
      is_active: !locked,
      roles: g.roles.sort(),
      table_privileges: g.tables,
    },
  };
}

async function connect(conn: ConnInfo): Promise<mysql.Connection> {
  const timeout = conn.options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    return await withTimeout(
      mysql.createConnection({
        host: conn.host,
        port: conn.port,
        user: conn.username,
        password: conn.password,
        database: conn.database || undefined,
        connectTimeout: timeout,
        charset: 'utf8mb4',
        dateStrings: false,
        ssl: conn.options?.tls ? { rejectUnauthorized: conn.options.tlsRejectUnauthorized ?? false } : undefined,
      }),
      timeout + 500,
      conn,
    );
  } catch (err) {
    throw classifyFailure(err, conn);
  }
}

async function version(c: mysql.Connection) {
  const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
  return parseVersion('mysql', String(rows[0]?.v ?? ''));
}

/** MariaDB ≥ 10.4 keeps accounts and their lock flag in mysql.global_priv (mysql.user is a view over it). */
export function usesGlobalPriv(versionRaw: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(versionRaw.trim());
  if (!m || !/mariadb/i.test(versionRaw)) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 10 || (major === 10 && minor >= 4);
}

/** Errors meaning "you lack the privilege" (database, table, column, or a global privilege). */
const DENIED_ERRNOS = new Set([1044, 1142, 1143, 1227]);
export const isMysqlDenied = (err: unknown) => DENIED_ERRNOS.has(Number((err as { errno?: unknown })?.errno));
/** ER_NONEXISTING_GRANT: SHOW GRANTS was allowed and found no such account. */
const ER_NONEXISTING_GRANT = 1141;

/** An account that cannot exist (.invalid is a reserved domain): SHOW GRANTS FOR it proves the right without reading anyone's grants. */
const PROBE_ACCOUNT = ['whalefall-rights-probe', 'whalefall.invalid'];

export interface MysqlProbes {
  mysqlUser: boolean;
  /** null when the server has no mysql.global_priv to read (MySQL, MariaDB < 10.4). */
  globalPriv: boolean | null;
  showGrants: boolean;
}

/** Pure: probe outcomes → the collector's rights (unit-tested). */
export function evaluateMysqlRights(p: MysqlProbes): CollectorRight[] {
  const rights: CollectorRight[] = [
    { right: 'SELECT ON mysql.user', required: true, granted: p.mysqlUser, purpose: '读取账户列表、Super_priv/Grant_priv、认证插件、密码修改时间和锁定状态' },
  ];
  if (p.globalPriv !== null) rights.push({ right: 'SELECT ON mysql.global_priv', required: true, granted: p.globalPriv, purpose: '读取账户锁定状态 (MariaDB 10.4+)' });
  rights.push({ right: 'SELECT ON mysql.*', required: true, granted: p.showGrants, purpose: 'SHOW GRANTS FOR 其他账户（库级 SELECT 权限，表级授权不够）' });
  return rights;
}

async function readRights(c: mysql.Connection, versionRaw: string): Promise<CollectorRight[]> {
  const mysqlUser = await probe(() => c.query('SELECT 1 FROM mysql.user LIMIT 0'), isMysqlDenied);
  const globalPriv = usesGlobalPriv(versionRaw) ? await probe(() => c.query('SELECT 1 FROM mysql.global_priv LIMIT 0'), isMysqlDenied) : null;
  const showGrants = await probe(async () => {
    try {
      await c.query('SHOW GRANTS FOR ?@?', PROBE_ACCOUNT);
    } catch (err) {
      if (Number((err as { errno?: unknown }).errno) !== ER_NONEXISTING_GRANT) throw err;
    }
  }, isMysqlDenied);
  return evaluateMysqlRights({ mysqlUser, globalPriv, showGrants });
}

export const mysqlAdapter: DbAdapter = {
  dbType: 'mysql',

  async testConnection(conn) {
    const c = await connect(conn);
    try {
      const v = await version(c);
      return { version: v, rights: await readRights(c, v.raw) };
    } catch (err) {
      throw classifyFailure(err, conn);
    } finally {
      await c.end().catch(() => c.destroy());
    }
  },

  async fetchAccounts(conn, filter: AccountFilter) {
    const first = await connect(conn);
    const extra: mysql.Connection[] = [];
    try {
      const v = await version(first);
      const rights = assertRequiredRights('mysql', await readRights(first, v.raw));
      const f = compileFilter('User', filter, () => '?');
      const [users] = await first.query<mysql.RowDataPacket[]>(`SELECT * FROM mysql.user WHERE User <> '' AND ${f.sql} ORDER BY User, Host`, f.params);
      const accounts = (users as UserRow[]).filter((u) => u.is_role !== 'Y');
      // MariaDB keeps the lock flag in mysql.global_priv (JSON); MySQL has mysql.user.account_locked.
      // The rights check made sure global_priv is readable, so an error here is a real failure.
      const lockedMaria = new Set<string>();
      if (accounts.length && usesGlobalPriv(v.raw)) {
        const [rows] = await first.query<mysql.RowDataPacket[]>(
          `SELECT User, Host FROM mysql.global_priv WHERE JSON_VALUE(Priv, '$.account_locked') IN ('true', '1')`,
        );
        for (const r of rows) lockedMaria.add(`${r.User}@${r.Host}`);
      }
      for (let i = 1; i < Math.min(GRANT_READERS, accounts.length); i++) extra.push(await connect(conn));
      const readers = [first, ...extra];
      const grants = new Map<string, string[]>();
      let next = 0;
      await Promise.all(
        readers.map(async (c) => {
          for (let i = next++; i < accounts.length; i = next++) {
            const u = accounts[i]!;
            const [rows] = await c.query<mysql.RowDataPacket[]>('SHOW GRANTS FOR ?@?', [u.User, u.Host]);
            grants.set(`${u.User}@${u.Host}`, rows.map((r) => redactGrantLine(String(Object.values(r)[0]))));
          }
        }),
      );
      return {
        version: v,
        rights,
        accounts: accounts.map((u) => {
          const key = `${u.User}@${u.Host}`;
          const locked = u.account_locked === 'Y' || lockedMaria.has(key);
          return normalizeMysql(u, grants.get(key) ?? [], locked);
        }),
      };
    } catch (err) {
      throw classifyFailure(err, conn);
    } finally {
      for (const c of [first, ...extra]) await c.end().catch(() => c.destroy());
    }
  },
};
