/**
 * Canonical privilege lines: every privilege an account holds, per engine, as one short line of text
 * (`global:SUPER`, `database:shop:INSERT`, `role:pg_read_all_data`, `attribute:superuser`). The grant
 * export prints them and baselines freeze them, so a drift item and an export line are the same
 * string. Pure: no I/O, and the same input gives the same sorted output whatever order the engine
 * (or the JSON columns) listed things in.
 *
 * Lines per engine (`<scope>` and `<name>` are the engine's own spelling, control characters escaped):
 *
 * | engine | source column | line |
 * |---|---|---|
 * | postgresql | role_attributes | `attribute:superuser`, `attribute:createrole`, `attribute:createdb`, `attribute:login`, `attribute:inherit`, `attribute:replication`, `attribute:bypassrls` (when true), `attribute:connection_limit=<n>` (when not -1) |
 * | postgresql | predefined_roles (memberships) | `role:<role>` |
 * | postgresql | database_privileges_pg (database ACLs and table privileges of the connected database) | `database:<db>:<PRIV>` |
 * | postgresql | tablespace_privileges | `tablespace:<tablespace>:<PRIV>` |
 * | postgresql | system_privileges | `system:<priv>` |
 * | mysql | global_privileges (USAGE, meaning "no privilege", is left out) | `global:<PRIV>` |
 * | mysql | database_privileges | `database:<db>:<PRIV>` |
 * | mysql | type_specific.table_privileges | `table:<db>.<table>:<PRIV>` |
 * | mysql | type_specific.roles | `role:<role>` |
 * | sqlserver | server_roles | `server_role:<role>` |
 * | sqlserver | server_permissions | `server:<PERMISSION>` |
 * | sqlserver | database_roles | `database_role:<db>:<role>` |
 * | sqlserver | database_permissions | `database:<db>:<PERMISSION>` |
 * | oracle | oracle_roles | `role:<ROLE>` |
 * | oracle | system_privileges | `system:<PRIVILEGE>` |
 * | oracle | tablespace_privileges_oracle (quotas) | `tablespace:<TABLESPACE>:UNLIMITED` or `tablespace:<TABLESPACE>:QUOTA` |
 *
 * `is_superuser` is derived from these (SPEC §2.5) and gets no line of its own. Raw grant statements
 * (MySQL `grant_statements`) are never used: they are engine text, not privileges, and may carry
 * authentication data.
 */

/** The privilege columns of an account, as stored (JSON columns possibly null) or as an adapter returns them. */
export interface PrivilegeSource {
  globalPrivileges?: unknown;
  databasePrivileges?: unknown;
  predefinedRoles?: unknown;
  roleAttributes?: unknown;
  databasePrivilegesPg?: unknown;
  tablespacePrivileges?: unknown;
  serverRoles?: unknown;
  serverPermissions?: unknown;
  databaseRoles?: unknown;
  databasePermissions?: unknown;
  oracleRoles?: unknown;
  systemPrivileges?: unknown;
  tablespacePrivilegesOracle?: unknown;
  typeSpecific?: unknown;
}

/** Code-point order: the same on every machine and locale (localeCompare is not). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Names come from the engine: keep each line one line (and one TSV cell) whatever they contain. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => x !== null && x !== undefined).map(String) : []);
const record = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** PostgreSQL role attribute keys (pg_roles columns) → the keyword of CREATE ROLE. */
const PG_ATTRIBUTES: Record<string, string> = {
  can_super: 'superuser',
  can_create_role: 'createrole',
  can_create_db: 'createdb',
  can_login: 'login',
  can_inherit: 'inherit',
  can_replicate: 'replication',
  can_bypass_rls: 'bypassrls',
};

/**
 * One privilege line with its parts: `kind` is the line's prefix (`global`, `database`, `role`,
 * `attribute`…), `scope` the database/table/tablespace of scoped kinds, `name` the privilege, role or
 * attribute as the engine spells it. `line` is the canonical (escaped) text; the parts are not escaped.
 */
export interface PrivilegeEntry {
  line: string;
  kind: string;
  scope?: string;
  name: string;
}

type Out = PrivilegeEntry[];

const entry = (kind: string, name: string, scope?: string): PrivilegeEntry =>
  scope === undefined ? { line: `${kind}:${name}`, kind, name } : { line: `${kind}:${scope}:${name}`, kind, scope, name };

function postgresLines(a: PrivilegeSource, out: Out): void {
  for (const [key, value] of Object.entries(record(a.roleAttributes))) {
    if (key === 'connection_limit') {
      if (value !== null && value !== undefined && Number(value) !== -1) out.push(entry('attribute', `connection_limit=${String(value)}`));
    } else if (value === true) out.push(entry('attribute', PG_ATTRIBUTES[key] ?? key));
    else if (value !== false && value !== null && value !== undefined) out.push(entry('attribute', `${PG_ATTRIBUTES[key] ?? key}=${typeof value === 'string' ? value : JSON.stringify(value)}`));
  }
  for (const r of list(a.predefinedRoles)) out.push(entry('role', r));
  scoped(out, 'database', a.databasePrivilegesPg);
  scoped(out, 'tablespace', a.tablespacePrivileges);
  for (const p of list(a.systemPrivileges)) out.push(entry('system', p));
}

function mysqlLines(a: PrivilegeSource, out: Out): void {
  // USAGE is what SHOW GRANTS prints for "no global privilege": a line for it would turn every
  // first global grant into a "USAGE missing" drift.
  for (const p of list(a.globalPrivileges)) if (p.toUpperCase() !== 'USAGE') out.push(entry('global', p));
  scoped(out, 'database', a.databasePrivileges);
  const ts = record(a.typeSpecific);
  scoped(out, 'table', ts.table_privileges);
  for (const r of list(ts.roles)) out.push(entry('role', r));
}

function sqlserverLines(a: PrivilegeSource, out: Out): void {
  for (const r of list(a.serverRoles)) out.push(entry('server_role', r));
  for (const p of list(a.serverPermissions)) out.push(entry('server', p));
  scoped(out, 'database_role', a.databaseRoles);
  scoped(out, 'database', a.databasePermissions);
}

function oracleLines(a: PrivilegeSource, out: Out): void {
  for (const r of list(a.oracleRoles)) out.push(entry('role', r));
  for (const p of list(a.systemPrivileges)) out.push(entry('system', p));
  scoped(out, 'tablespace', a.tablespacePrivilegesOracle);
}

function scoped(out: Out, kind: string, v: unknown): void {
  for (const [scope, privs] of Object.entries(record(v))) for (const p of list(privs)) out.push(entry(kind, p, scope));
}

/**
 * The canonical privilege lines of one account of the given engine, with their parts: sorted by line
 * (code points), one entry per line. An unknown engine gets the lines of every column that is set.
 */
export function privilegeEntries(dbType: string, a: PrivilegeSource): PrivilegeEntry[] {
  const out: Out = [];
  switch (dbType) {
    case 'postgresql':
      postgresLines(a, out);
      break;
    case 'mysql':
      mysqlLines(a, out);
      break;
    case 'sqlserver':
      sqlserverLines(a, out);
      break;
    case 'oracle':
      oracleLines(a, out);
      break;
    default:
      postgresLines(a, out);
      mysqlLines(a, out);
      sqlserverLines(a, out);
      oracleLines(a, out);
  }
  const byLine = new Map<string, PrivilegeEntry>();
  for (const e of out) {
    const line = oneLine(e.line);
    if (!byLine.has(line)) byLine.set(line, { ...e, line });
  }
  return [...byLine.values()].sort((x, y) => compareText(x.line, y.line));
}

/**
 * The canonical privilege lines of one account of the given engine: sorted (code points), without
 * duplicates, each one line. An unknown engine gets the lines of every column that is set.
 */
export function privilegeLines(dbType: string, a: PrivilegeSource): string[] {
  return privilegeEntries(dbType, a).map((e) => e.line);
}

/** Marker line of an account that holds no privilege at all (so it still shows in an export). */
export const NO_PRIVILEGES = '(none)';

/**
 * The grant export of accounts as text: one `account<TAB>line` per privilege, sorted by account then
 * line, `account<TAB>(none)` for an account without privileges, `\n` after every line. No header,
 * timestamps or other volatile data: identical state gives identical bytes.
 */
export function grantText(accounts: Array<{ account: string; lines: string[] }>): string {
  return grantRows(accounts)
    .map(([account, line]) => `${account}\t${line}\n`)
    .join('');
}

/** [account, line] pairs in export order (shared by the text and CSV forms). */
export function grantRows(accounts: Array<{ account: string; lines: string[] }>): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  const sorted = [...accounts].map((a) => ({ account: oneLine(a.account), lines: [...new Set(a.lines)].sort(compareText) })).sort((x, y) => compareText(x.account, y.account));
  for (const a of sorted) {
    if (a.lines.length === 0) rows.push([a.account, NO_PRIVILEGES]);
    for (const l of a.lines) rows.push([a.account, l]);
  }
  return rows;
}
