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

/** SHOW GRANTS run on this many connections in parallel… */
const GRANT_READERS = 4;
/** …this many accounts per round trip (one multi-statement query): one statement per round trip made
 * the wire, not the server, the cost of reading 10,000 accounts (bench/sync). */
const GRANT_BATCH = 50;
/** Catalog queries are small; a server that stops answering must not hold a sync for ever (mysql2
 * destroys the connection when a query passes its `timeout`). */
const STATEMENT_TIMEOUT_MS = 60_000;

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
  /** MySQL 5.7+: days, NULL = the global default_password_lifetime, 0 = never expires. */
  password_lifetime?: number | null;
  /** 'Y' after ALTER USER … PASSWORD EXPIRE (MySQL; MariaDB's mysql.user view derives it too). */
  password_expired?: string;
  is_role?: string;
}

/** The mysql.user columns UserRow reads; which of them exist depends on the engine and its version. */
const USER_COLUMNS = ['User', 'Host', 'Super_priv', 'Grant_priv', 'account_locked', 'plugin', 'password_last_changed', 'password_lifetime', 'password_expired', 'is_role'];

/** The select list of USER_COLUMNS that this server's mysql.user has: `SELECT *` made the driver
 * decode ~45 unused columns of every account (a third of the catalog read of 10,000 accounts). */
async function userColumns(c: mysql.Connection): Promise<string> {
  const [, fields] = await c.query({ sql: 'SELECT * FROM mysql.user LIMIT 0', timeout: STATEMENT_TIMEOUT_MS });
  const present = new Set((fields ?? []).map((f) => f.name));
  return USER_COLUMNS.filter((col) => present.has(col)).map((col) => `\`${col}\``).join(', ');
}

/**
 * MariaDB ≥ 10.4 keeps password aging in mysql.global_priv's JSON only (its mysql.user view has no
 * password_last_changed): password_last_changed in Unix seconds (0 = expired by PASSWORD EXPIRE),
 * password_lifetime in days (-1 or absent = the global default, 0 = never), account_locked.
 */
export interface MariaPriv {
  password_last_changed?: number | null;
  password_lifetime?: number | null;
  account_locked?: boolean | null;
}

export interface PasswordAging {
  changedAt: Date | null;
  expiresAt: Date | null;
  /** Expired by the engine's own flag (PASSWORD EXPIRE), whatever the dates say. */
  expired: boolean;
  /** The lifetime that applies, in days (0 = never expires); null when unknown. */
  lifetimeDays: number | null;
}

const DAY_MS = 86_400_000;

/**
 * Pure: when the password was last changed and when it expires (change + lifetime, the account's
 * own or else the server's default_password_lifetime), from MySQL's mysql.user columns or MariaDB's
 * global_priv JSON (unit-tested on rows shaped as both return them).
 */
export function mysqlPasswordAging(u: UserRow, maria: MariaPriv | undefined, defaultLifetime: number | null): PasswordAging {
  let changedAt: Date | null = null;
  let own: number | null | undefined;
  if (maria) {
    const plc = maria.password_last_changed;
    if (typeof plc === 'number' && plc > 0) changedAt = new Date(plc * 1000);
    own = typeof maria.password_lifetime === 'number' && maria.password_lifetime >= 0 ? maria.password_lifetime : null;
  } else {
    changedAt = u.password_last_changed ? new Date(u.password_last_changed) : null;
    own = u.password_lifetime === undefined || u.password_lifetime === null ? null : Number(u.password_lifetime);
  }
  if (changedAt && Number.isNaN(changedAt.getTime())) changedAt = null;
  const lifetimeDays = own ?? defaultLifetime;
  const expired = u.password_expired === 'Y' || maria?.password_last_changed === 0;
  const expiresAt = changedAt && lifetimeDays ? new Date(changedAt.getTime() + lifetimeDays * DAY_MS) : null;
  return { changedAt, expiresAt, expired, lifetimeDays };
}

export function normalizeMysql(u: UserRow, grantLines: string[], locked: boolean, aging?: PasswordAging): UnifiedAccount {
  const g = parseGrants(grantLines);
  const a = aging ?? mysqlPasswordAging(u, undefined, null);
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
      // As read from mysql.user (MySQL); MariaDB's view has no such column, so this stays null there
      // as it always has (reading global_priv here would rewrite every MariaDB account's history
      // once); the typed password_changed_at column carries both.
      password_last_changed: u.password_last_changed ? new Date(u.password_last_changed).toISOString() : null,
      is_active: !locked,
      roles: g.roles.sort(),
      table_privileges: g.tables,
      // Only when set, so that rows synced before this key existed do not all differ at once.
      ...(a.expired ? { password_expired: true } : {}),
    },
    // MySQL/MariaDB keep no last-login time (only audit plugins do).
    passwordChangedAt: a.changedAt,
    passwordExpiresAt: a.expiresAt,
  };
}

/** The server's default_password_lifetime (MySQL 5.7.4+, MariaDB 10.4.3+); null where it has none. */
async function defaultPasswordLifetime(c: mysql.Connection): Promise<number | null> {
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: 'SELECT @@global.default_password_lifetime AS d', timeout: STATEMENT_TIMEOUT_MS });
    const d = rows[0]?.d;
    return d === null || d === undefined ? null : Number(d);
  } catch {
    return null; // older servers: no password lifetime at all
  }
}

/** `multipleStatements` only for the catalog read, which batches SHOW GRANTS (every value in its
 * statements is an escaped placeholder). */
async function connect(conn: ConnInfo, multipleStatements = false): Promise<mysql.Connection> {
  const timeout = conn.options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    const c = await withTimeout(
      mysql.createConnection({
        host: conn.host,
        port: conn.port,
        user: conn.username,
        password: conn.password,
        database: conn.database || undefined,
        connectTimeout: timeout,
        charset: 'utf8mb4',
        dateStrings: false,
        multipleStatements,
        ssl: conn.options?.tls ? { rejectUnauthorized: conn.options.tlsRejectUnauthorized ?? false } : undefined,
      }),
      timeout + 500,
      conn,
    );
    // mysql2 escapes quotes with backslashes, which a server in NO_BACKSLASH_ESCAPES mode reads
    // literally: where several statements go in one request, escaping must mean what it says.
    if (multipleStatements) await c.query({ sql: "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')", timeout: STATEMENT_TIMEOUT_MS });
    return c;
  } catch (err) {
    throw classifyFailure(err, conn);
  }
}

async function version(c: mysql.Connection) {
  const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: 'SELECT VERSION() AS v', timeout: STATEMENT_TIMEOUT_MS });
  return parseVersion('mysql', String(rows[0]?.v ?? ''));
}

/** SHOW GRANTS of each account, in one round trip (a connection opened with multipleStatements). */
async function showGrants(c: mysql.Connection, users: UserRow[]): Promise<mysql.RowDataPacket[][]> {
  const sql = users.map(() => 'SHOW GRANTS FOR ?@?').join('; ');
  // Each answer's one column is named after its account ("Grants for a@%"), so mysql2 would generate
  // and compile a row parser per account (its parser cache is keyed by column names): most of the
  // CPU of a 10,000-account read. disableEval reads the rows with its generic parser instead.
  const [results] = await c.query<mysql.RowDataPacket[][] | mysql.RowDataPacket[]>(
    { sql, timeout: STATEMENT_TIMEOUT_MS, disableEval: true } as mysql.QueryOptions,
    users.flatMap((u) => [u.User, u.Host]),
  );
  // mysql2 answers a single statement with its rows, several with one row list each.
  return users.length === 1 ? [results as mysql.RowDataPacket[]] : (results as mysql.RowDataPacket[][]);
}

/** Pure: a row of the global_priv query (JSON_VALUE answers strings or NULL) → MariaPriv. */
export function mariaPrivOf(r: Record<string, unknown>): MariaPriv {
  const num = (x: unknown) => (x === null || x === undefined || x === '' || Number.isNaN(Number(x)) ? null : Number(x));
  return {
    account_locked: r.account_locked === 'true' || r.account_locked === '1' || r.account_locked === true,
    password_last_changed: num(r.password_last_changed),
    password_lifetime: num(r.password_lifetime),
  };
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
  if (p.globalPriv !== null) rights.push({ right: 'SELECT ON mysql.global_priv', required: true, granted: p.globalPriv, purpose: '读取账户锁定状态、密码修改时间和有效期 (MariaDB 10.4+)' });
  rights.push({ right: 'SELECT ON mysql.*', required: true, granted: p.showGrants, purpose: 'SHOW GRANTS FOR 其他账户（库级 SELECT 权限，表级授权不够）' });
  return rights;
}

async function readRights(c: mysql.Connection, versionRaw: string): Promise<CollectorRight[]> {
  const mysqlUser = await probe(() => c.query({ sql: 'SELECT 1 FROM mysql.user LIMIT 0', timeout: STATEMENT_TIMEOUT_MS }), isMysqlDenied);
  const globalPriv = usesGlobalPriv(versionRaw) ? await probe(() => c.query({ sql: 'SELECT 1 FROM mysql.global_priv LIMIT 0', timeout: STATEMENT_TIMEOUT_MS }), isMysqlDenied) : null;
  const showGrants = await probe(async () => {
    try {
      await c.query({ sql: 'SHOW GRANTS FOR ?@?', timeout: STATEMENT_TIMEOUT_MS }, PROBE_ACCOUNT);
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

  async fetchAccounts(conn, filter: AccountFilter, onAccounts?: (part: UnifiedAccount[]) => void) {
    const first = await connect(conn, true);
    const extra: mysql.Connection[] = [];
    try {
      const v = await version(first);
      const rights = assertRequiredRights('mysql', await readRights(first, v.raw));
      const f = compileFilter('User', filter, () => '?');
      const [users] = await first.query<mysql.RowDataPacket[]>(
        { sql: `SELECT ${await userColumns(first)} FROM mysql.user WHERE User <> '' AND ${f.sql} ORDER BY User, Host`, timeout: STATEMENT_TIMEOUT_MS },
        f.params,
      );
      const accounts = (users as UserRow[]).filter((u) => u.is_role !== 'Y');
      // MariaDB keeps the lock flag and password aging in mysql.global_priv (JSON); MySQL has them in
      // mysql.user. The rights check made sure global_priv is readable, so an error here is a real failure.
      const maria = new Map<string, MariaPriv>();
      if (accounts.length && usesGlobalPriv(v.raw)) {
        const [rows] = await first.query<mysql.RowDataPacket[]>({
          sql: `SELECT User, Host, JSON_VALUE(Priv, '$.account_locked') AS account_locked,
                  JSON_VALUE(Priv, '$.password_last_changed') AS password_last_changed,
                  JSON_VALUE(Priv, '$.password_lifetime') AS password_lifetime
             FROM mysql.global_priv`,
          timeout: STATEMENT_TIMEOUT_MS,
        });
        for (const r of rows) maria.set(`${r.User}@${r.Host}`, mariaPrivOf(r));
      }
      const defaultLifetime = await defaultPasswordLifetime(first);
      const batches = Math.ceil(accounts.length / GRANT_BATCH);
      for (let i = 1; i < Math.min(GRANT_READERS, batches); i++) extra.push(await connect(conn, true));
      // Each batch of accounts is complete once its grants are read: normalised and handed over then
      // (the sync writes it while the next batches are read), in the order the reads finish.
      const unified = new Map<UserRow, UnifiedAccount>();
      let next = 0;
      await Promise.all(
        [first, ...extra].map(async (c) => {
          for (let b = next++; b < batches; b = next++) {
            const batch = accounts.slice(b * GRANT_BATCH, (b + 1) * GRANT_BATCH);
            const results = await showGrants(c, batch);
            const part = batch.map((u, i) => {
              const m = maria.get(`${u.User}@${u.Host}`);
              const locked = u.account_locked === 'Y' || m?.account_locked === true;
              const grants = results[i]!.map((r) => redactGrantLine(String(Object.values(r)[0])));
              const account = normalizeMysql(u, grants, locked, mysqlPasswordAging(u, m, defaultLifetime));
              unified.set(u, account);
              return account;
            });
            onAccounts?.(part);
          }
        }),
      );
      return { version: v, rights, accounts: accounts.map((u) => unified.get(u)!) };
    } catch (err) {
      throw classifyFailure(err, conn);
    } finally {
      for (const c of [first, ...extra]) await c.end().catch(() => c.destroy());
    }
  },
};
