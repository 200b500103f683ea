/**
 * MySQL / MariaDB adapter (mysql2). Accounts from mysql.user (roles excluded), privileges from SHOW
 * GRANTS parsed with a proper regex ([FIX] SPEC §3.4: privileges containing "ON" survive, WITH GRANT
 * OPTION becomes GRANT OPTION, table-level and role grants are kept).
 */
import mysql from 'mysql2/promise';
import { classifyFailure, withTimeout } from './failures.js';
import { compileFilter } from './filters.js';
import { parseVersion } from './version.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type AccountFilter, type ConnInfo, type DbAdapter, type UnifiedAccount } from './types.js';

/** SHOW GRANTS run on this many connections in parallel. */
const GRANT_READERS = 4;
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
  const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: 'SELECT VERSION() AS v', timeout: STATEMENT_TIMEOUT_MS });
  return parseVersion('mysql', String(rows[0]?.v ?? ''));
}

export const mysqlAdapter: DbAdapter = {
  dbType: 'mysql',

  async testConnection(conn) {
    const c = await connect(conn);
    try {
      return await version(c);
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
      const f = compileFilter('User', filter, () => '?');
      const [users] = await first.query<mysql.RowDataPacket[]>(
        { sql: `SELECT * FROM mysql.user WHERE User <> '' AND ${f.sql} ORDER BY User, Host`, timeout: STATEMENT_TIMEOUT_MS },
        f.params,
      );
      const accounts = (users as UserRow[]).filter((u) => u.is_role !== 'Y');
      // MariaDB keeps the lock flag in mysql.global_priv (JSON); MySQL has mysql.user.account_locked.
      const lockedMaria = new Set<string>();
      if (accounts.length && accounts[0]!.account_locked === undefined) {
        try {
          const [rows] = await first.query<mysql.RowDataPacket[]>({
            sql: `SELECT User, Host FROM mysql.global_priv WHERE JSON_VALUE(Priv, '$.account_locked') IN ('true', '1')`,
            timeout: STATEMENT_TIMEOUT_MS,
          });
          for (const r of rows) lockedMaria.add(`${r.User}@${r.Host}`);
        } catch (err) {
          // No global_priv: nothing is known to be locked. A lost connection fails the sync instead.
          if ((err as { fatal?: boolean }).fatal) throw err;
        }
      }
      for (let i = 1; i < Math.min(GRANT_READERS, accounts.length); i++) extra.push(await connect(conn));
      const readers = [first, ...extra];
      const grants = new Map<string, string[]>();
      let next = 0;
      await Promise.all(
        readers.map(async (c) => {
          for (let i = next++; i < accounts.length; i = next++) {
            const u = accounts[i]!;
            const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: 'SHOW GRANTS FOR ?@?', timeout: STATEMENT_TIMEOUT_MS }, [u.User, u.Host]);
            grants.set(`${u.User}@${u.Host}`, rows.map((r) => String(Object.values(r)[0])));
          }
        }),
      );
      return {
        version: v,
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
