/**
 * Point in time: the accounts of an instance as they were at a past moment, with the filters of the
 * live account list plus privilege, role and rule-expression questions ("who could write to database
 * shop on 1 March", "who was superuser", "who had role app_writer").
 *
 * Answers come from account_versions (one row per account state and period, written by the account
 * writer in the transaction of each change), never from folding the change log: the version of each
 * account of the instance valid at D is one index probe on (account_id, valid_from), so a query costs
 * the same whether the instance has ten changes or ten million.
 */
import type { AppDeps } from '../../deps.js';
import type { DbType } from '../../adapters/types.js';
import { BusinessRuleError, ResourceNotFoundError } from '../../lib/errors.js';
import { pageOf, windowOf, type Page } from '../../lib/pagination.js';
import { likeLiteral } from '../../lib/like.js';
import { columnsFor, compileRule, factsOf, fieldsOf, normalizeRule } from '../classification/rule-expression.js';
import { CATALOGUE } from '../classification/catalogue.js';

export interface AccountsAtQuery {
  instanceId: number;
  at: Date;
  page: number;
  perPage: number;
  first?: number;
  after?: number;
  sort: string;
  order: 'asc' | 'desc';
  search?: string;
  dbType?: string;
  isSuperuser?: boolean;
  isLocked?: boolean;
  isActive?: boolean;
  includeDeleted?: boolean;
  /** A privilege name (INSERT, SELECT, …): accounts that could use it (see privilegeSql). */
  privilege?: string;
  /** With privilege: on this database (MySQL/PostgreSQL/SQL Server); with role: SQL Server database roles there. */
  database?: string;
  /** A role name: accounts that were members of it. */
  role?: string;
  /** A classification rule expression (either form of rule-expression.ts), validated for the instance's type. */
  rule?: unknown;
}

export interface AccountVersionRow {
  versionId: string;
  id: number;
  instanceId: number;
  dbType: string;
  username: string;
  host: string | null;
  isSuperuser: boolean;
  isActive: boolean;
  isLocked: boolean;
  isDeleted: boolean;
  changeType: string;
  validFrom: Date;
  validTo: Date | null;
  globalPrivileges: unknown;
  databasePrivileges: unknown;
  predefinedRoles: unknown;
  roleAttributes: unknown;
  databasePrivilegesPg: unknown;
  tablespacePrivileges: unknown;
  serverRoles: unknown;
  serverPermissions: unknown;
  databaseRoles: unknown;
  databasePermissions: unknown;
  oracleRoles: unknown;
  systemPrivileges: unknown;
  tablespacePrivilegesOracle: unknown;
  typeSpecific: unknown;
  instance: { id: number; name: string; dbType: string; host: string };
}

export interface AccountsAtPage extends Page<AccountVersionRow> {
  at: Date;
  historySince: Date;
}

const JSON_COLUMNS = [
  'global_privileges', 'database_privileges', 'predefined_roles', 'role_attributes', 'database_privileges_pg', 'tablespace_privileges', 'server_roles',
  'server_permissions', 'database_roles', 'database_permissions', 'oracle_roles', 'system_privileges', 'tablespace_privileges_oracle', 'type_specific',
];
const camel = (c: string) => c.replace(/_(\w)/g, (_m, ch: string) => ch.toUpperCase());

const ROW_COLUMNS = `v.id::text AS "versionId", v.account_id AS id, v.instance_id AS "instanceId", v.db_type AS "dbType", v.username, v.host,
  v.is_superuser AS "isSuperuser", v.is_active AS "isActive", v.is_locked AS "isLocked", v.is_deleted AS "isDeleted", v.change_type AS "changeType",
  v.valid_from AS "validFrom", v.valid_to AS "validTo", ${JSON_COLUMNS.map((c) => `v.${c} AS "${camel(c)}"`).join(', ')}`;

/**
 * The versions valid at $2 of the accounts of instance $1: for each account row of the instance
 * (rows are never removed, deletion is a state), its last version that started at or before $2,
 * kept when it had not ended by then. A deleted account's period is a version with is_deleted.
 */
const VERSIONS_AT = `
  SELECT v.* FROM current_account_sync_data a
  CROSS JOIN LATERAL (SELECT * FROM account_versions v WHERE v.account_id = a.id AND v.valid_from <= $2::timestamptz
                       ORDER BY v.valid_from DESC, v.id DESC LIMIT 1) v
  WHERE a.instance_id = $1 AND (v.valid_to IS NULL OR v.valid_to > $2::timestamptz)`;

/** Privileges a fixed database role of SQL Server carries (db_owner carries all). */
const SQLSERVER_WRITE = ['INSERT', 'UPDATE', 'DELETE'];

/** SQL `jsonb_col ? name` for a list, or "any/one scope of a map has it". */
const inList = (col: string, p: string) => `COALESCE(v.${col} ? ${p}, false)`;
const inScope = (col: string, p: string, db: string | null) =>
  db ? `COALESCE(v.${col} -> ${db} ? ${p}, false)` : `EXISTS (SELECT 1 FROM jsonb_each(CASE WHEN jsonb_typeof(v.${col}) = 'object' THEN v.${col} END) e WHERE e.value ? ${p})`;
const roleIn = (col: string, r: string, path = '') =>
  `EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(v.${col}${path}) = 'array' THEN v.${col}${path} END) x WHERE lower(x) = lower(${r}))`;

/**
 * "Could use privilege P (on database X)" as far as the stored model tells, per engine:
 *  - MySQL/MariaDB: P granted globally, on database X, or on a table of X (any database when X is
 *    absent); ALL PRIVILEGES implies every privilege but GRANT OPTION. Wildcard database grants
 *    (`shop\_%`.*) are matched by their literal name only;
 *  - PostgreSQL: superusers, and P in the database's privileges (the connected database's entry also
 *    holds the table-level grants of its tables, as the adapter stores them). Privileges inherited
 *    through role membership are not expanded: ask with `role`;
 *  - SQL Server: sysadmin (superuser), CONTROL SERVER, P in the database's permissions, db_owner there,
 *    db_datawriter for INSERT/UPDATE/DELETE, db_datareader for SELECT;
 *  - Oracle (one database per instance, `database` is not used): DBA/SYS (superuser), P or "P ANY TABLE"
 *    as a system privilege.
 */
function privilegeSql(dbType: string, p: string, db: string | null): string {
  switch (dbType) {
    case 'mysql': {
      const all = `'ALL PRIVILEGES'`;
      const has = (fn: (name: string) => string) => `(${fn(p)} OR (${p} <> 'GRANT OPTION' AND ${fn(all)}))`;
      const tables = `EXISTS (SELECT 1 FROM jsonb_each(CASE WHEN jsonb_typeof(v.type_specific -> 'table_privileges') = 'object' THEN v.type_specific -> 'table_privileges' END) t
                      WHERE ${db ? `split_part(t.key, '.', 1) = ${db} AND ` : ''}(t.value ? ${p} OR (${p} <> 'GRANT OPTION' AND t.value ? ${all})))`;
      return `(${has((n) => inList('global_privileges', n))} OR ${has((n) => inScope('database_privileges', n, db))} OR ${tables})`;
    }
    case 'postgresql':
      return `(v.is_superuser OR ${inScope('database_privileges_pg', p, db)})`;
    case 'sqlserver': {
      const roles = (names: string[]) => names.map((n) => inScope('database_roles', `'${n}'`, db)).join(' OR ');
      return `(v.is_superuser OR ${inList('server_permissions', `'CONTROL SERVER'`)} OR ${inScope('database_permissions', p, db)} OR ${roles(['db_owner'])}
               OR (${p} IN (${SQLSERVER_WRITE.map((w) => `'${w}'`).join(', ')}) AND (${roles(['db_datawriter'])}))
               OR (${p} = 'SELECT' AND (${roles(['db_datareader'])})))`;
    }
    case 'oracle':
      return `(v.is_superuser OR ${inList('system_privileges', p)} OR ${inList('system_privileges', `${p} || ' ANY TABLE'`)})`;
    default:
      return 'false';
  }
}

/** "Was a member of role R": MySQL granted roles (name or name@host), PostgreSQL memberships, SQL Server server or database roles, Oracle roles. */
function roleSql(dbType: string, r: string, db: string | null): string {
  switch (dbType) {
    case 'mysql':
      return `EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(v.type_specific -> 'roles') = 'array' THEN v.type_specific -> 'roles' END) x
                       WHERE lower(x) = lower(${r}) OR lower(split_part(x, '@', 1)) = lower(${r}))`;
    case 'postgresql':
      return roleIn('predefined_roles', r);
    case 'sqlserver':
      return `(${roleIn('server_roles', r)} OR ${
        db
          ? roleIn('database_roles', r, ` -> ${db}`)
          : `EXISTS (SELECT 1 FROM jsonb_each(CASE WHEN jsonb_typeof(v.database_roles) = 'object' THEN v.database_roles END) e, jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value END) x WHERE lower(x) = lower(${r}))`
      })`;
    case 'oracle':
      return roleIn('oracle_roles', r);
    default:
      return 'false';
  }
}

const SORT_COLUMNS: Record<string, string> = { username: 'v.username', id: 'v.account_id', validFrom: 'v.valid_from' };

export async function listAccountsAt(deps: AppDeps, q: AccountsAtQuery): Promise<AccountsAtPage> {
  const inst = await deps.pool.query<{ id: number; name: string; dbType: string; host: string; historySince: Date | null; deletedAt: Date | null }>(
    `SELECT id, name, db_type AS "dbType", host, history_since AS "historySince", deleted_at AS "deletedAt" FROM instances WHERE id = $1`,
    [q.instanceId],
  );
  const instance = inst.rows[0];
  if (!instance || instance.deletedAt) throw new ResourceNotFoundError('实例不存在', { instance_id: q.instanceId });
  if (!instance.historySince) {
    throw new BusinessRuleError('该实例尚无账户历史 (还没有写入过账户的同步)', { instance_id: q.instanceId, at: q.at.toISOString() });
  }
  if (q.at < instance.historySince) {
    throw new BusinessRuleError(`该实例的账户历史从 ${instance.historySince.toISOString()} 开始，更早的时刻无法回答`, {
      errors: [{ field: 'at', message: `早于账户历史的开始 (${instance.historySince.toISOString()})` }],
      history_since: instance.historySince.toISOString(),
    });
  }
  // The rule is validated against the instance's type before anything else is read.
  const tree = q.rule !== undefined ? normalizeRule(instance.dbType as DbType, q.rule, 'rule') : undefined;
  const predicate = tree && compileRule(instance.dbType as DbType, tree);
  const ruleFields = tree && fieldsOf(tree);

  const params: unknown[] = [q.instanceId, q.at];
  const param = (v: unknown) => `$${params.push(v)}`;
  const where: string[] = [];
  if (!q.includeDeleted) where.push('NOT v.is_deleted');
  if (q.dbType) where.push(`v.db_type = ${param(q.dbType)}`);
  if (q.search) where.push(`v.username ILIKE ${param(`%${likeLiteral(q.search)}%`)}`);
  if (q.isSuperuser !== undefined) where.push(`v.is_superuser = ${param(q.isSuperuser)}`);
  if (q.isLocked !== undefined) where.push(`v.is_locked = ${param(q.isLocked)}`);
  if (q.isActive !== undefined) where.push(`v.is_active = ${param(q.isActive)}`);
  const db = q.database !== undefined ? param(q.database) : null;
  if (q.privilege) where.push(privilegeSql(instance.dbType, `${param(q.privilege)}::text`, db));
  if (q.role) where.push(roleSql(instance.dbType, `${param(q.role)}::text`, db));
  const filtered = `FROM (${VERSIONS_AT}) v ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
  const order = `ORDER BY ${SORT_COLUMNS[q.sort] ?? 'v.username'} ${q.order === 'desc' ? 'DESC' : 'ASC'}, v.account_id ${q.order === 'desc' ? 'DESC' : 'ASC'}`;
  const w = windowOf(q);

  // Phase 1 finds the page's version ids with only the columns the filters and the order need (a
  // narrow sort: carrying every JSON column through the sort of 10,000 rows was most of the time,
  // bench/history); phase 2 reads those ≤ 100 rows whole.
  let ids: string[];
  let total: number;
  if (predicate && ruleFields) {
    // A rule is evaluated by the classification engine itself (same semantics as the rules), over
    // the columns it looks at (JSON keys only, where a field is one key of a column).
    const specs = CATALOGUE[instance.dbType as DbType].filter((f) => ruleFields.has(f.name));
    const cols = columnsFor(instance.dbType as DbType, ruleFields).map((c) => {
      const keys = specs.filter((f) => f.column === c && f.key).map((f) => f.key!);
      return keys.length && !specs.some((f) => f.column === c && !f.key)
        ? `jsonb_build_object(${keys.map((k) => `'${k}', v.${c} -> '${k}'`).join(', ')}) AS ${c}`
        : `v.${c}`;
    });
    const candidates = await deps.pool.query<Record<string, unknown>>(`SELECT v.id::text AS vid, ${cols.join(', ')} ${filtered} ${order}`, params);
    const matching = candidates.rows.filter((r) => predicate(factsOf(instance.dbType as DbType, r, ruleFields))).map((r) => r.vid as string);
    total = matching.length;
    ids = matching.slice(w.offset, w.offset + w.limit);
  } else {
    const res = await deps.pool.query<{ vid: string; total: string }>(
      `SELECT v.id::text AS vid, count(*) OVER () AS total ${filtered} ${order} LIMIT ${param(w.limit)} OFFSET ${param(w.offset)}`,
      params,
    );
    ids = res.rows.map((r) => r.vid);
    total = res.rows.length ? Number(res.rows[0]!.total) : 0;
    if (!res.rows.length && w.offset > 0) {
      total = Number((await deps.pool.query(`SELECT count(*) AS n ${filtered}`, params.slice(0, -2))).rows[0].n);
    }
  }
  const page = ids.length ? (await deps.pool.query(`SELECT ${ROW_COLUMNS} FROM account_versions v WHERE v.id = ANY($1::bigint[])`, [ids])).rows : [];
  const byId = new Map(page.map((r) => [r.versionId as string, r as Omit<AccountVersionRow, 'instance'>]));
  // (A version never disappears but with its instance; then the page is just shorter.)
  const rows = ids.flatMap((id) => byId.get(id) ?? []);
  const { historySince, deletedAt: _d, ...instanceRef } = instance;
  const items = rows.map((r) => ({ ...r, instance: instanceRef }) as AccountVersionRow);
  return { ...pageOf(items, total, w), at: q.at, historySince };
}
