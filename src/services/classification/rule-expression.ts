/**
 * Classification rule expressions: parsing, validation against the per-type catalogue, and
 * compilation into one predicate per rule (compiled once per batch, then run over every account).
 *
 * Two forms are accepted and stored as given:
 *  - SPEC §2.8's per-type form: {"type":"mysql_permissions","global_privileges":["SUPER"],
 *    "exclude_privileges":[…],"operator":"OR"}: each non-empty criterion list is one condition
 *    (all of its names for AND, any for OR), conditions combine with the same operator, exclusions
 *    apply last; an expression with no criteria is invalid (upstream matched every account);
 *  - a general tree: {"operator":"AND"|"OR","conditions":[node…]}, {"not":node}, and conditions
 *    {"field":"global_privileges","op":"has","value":"SUPER"} with op has | has_any | has_all |
 *    has_none (names), is (booleans), equals | matches (strings; matches takes * wildcards),
 *    older_than_days | within_days (dates: a whole number of days, or "STALE_ACCOUNT_DAYS" for the
 *    configured age, read when the rule is compiled) and is_set (dates: known or not). A date the
 *    engine does not report is neither older nor newer than any age.
 * Legacy strings ("server_roles.sysadmin") are read as {field, op:"has", value}.
 * Names compare case-insensitively. A MySQL account holding ALL PRIVILEGES has every privilege but
 * GRANT OPTION, as in MySQL itself.
 */
import type { DbType } from '../../adapters/types.js';
import { ValidationError } from '../../lib/errors.js';
import { CATALOGUE, ROLE_NAME, fieldOf, type FieldSpec } from './catalogue.js';

/** The symbolic age of date conditions: the configured STALE_ACCOUNT_DAYS, resolved at compile time. */
export const STALE_DAYS = 'STALE_ACCOUNT_DAYS';
export const DEFAULT_STALE_DAYS = 90;
const MAX_DAYS = 36_500;
const DAY_MS = 86_400_000;

export type Condition =
  | { field: string; op: 'has'; value: string }
  | { field: string; op: 'has_any' | 'has_all' | 'has_none'; value: string[] }
  | { field: string; op: 'is'; value: boolean }
  | { field: string; op: 'equals' | 'matches'; value: string }
  | { field: string; op: 'older_than_days' | 'within_days'; value: number | typeof STALE_DAYS }
  | { field: string; op: 'is_set'; value: boolean };
export type RuleNode = { operator: 'AND' | 'OR'; conditions: RuleNode[] } | { not: RuleNode } | Condition;

/**
 * An account as the predicates see it: every field of its type, parsed once. Dates are epoch
 * milliseconds, or null when the engine did not report them.
 */
export type AccountFacts = Map<string, Set<string> | boolean | string | number | null>;
export type Predicate = (a: AccountFacts) => boolean;

/** What evaluation depends on besides the account: the time ("now") and the configured stale age. */
export interface EvalOptions {
  /** Epoch ms; default Date.now() at compile/facts time. */
  now?: number;
  /** STALE_ACCOUNT_DAYS; default DEFAULT_STALE_DAYS. */
  staleDays?: number;
}

const MAX_DEPTH = 6;
const MAX_NODES = 200;

const SPEC_TYPES: Record<DbType, { type: string; criteria: Record<string, string>; exclude?: Record<string, string> }> = {
  mysql: { type: 'mysql_permissions', criteria: { global_privileges: 'global_privileges', database_privileges: 'database_privileges' }, exclude: { exclude_privileges: 'global_privileges' } },
  postgresql: {
    type: 'postgresql_permissions',
    criteria: { predefined_roles: 'predefined_roles', role_attributes: 'role_attributes', database_privileges: 'database_privileges', tablespace_privileges: 'tablespace_privileges' },
  },
  sqlserver: {
    type: 'sqlserver_permissions',
    criteria: { server_roles: 'server_roles', server_permissions: 'server_permissions', database_roles: 'database_roles', database_privileges: 'database_privileges' },
  },
  oracle: { type: 'oracle_permissions', criteria: { roles: 'roles', system_privileges: 'system_privileges', tablespace_privileges: 'tablespace_privileges', tablespace_quotas: 'tablespace_privileges' } },
};

class RuleError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates an expression for a database type and returns it in tree form. Throws a ValidationError
 * whose message and details name the offending part (e.g. `rule_expression.conditions[1].value`).
 */
export function normalizeRule(dbType: DbType, expr: unknown, root = 'rule_expression'): RuleNode {
  try {
    const counter = { nodes: 0 };
    if (typeof expr === 'string') {
      const trimmed = expr.trim();
      if (trimmed.startsWith('{')) {
        try {
          return normalizeRule(dbType, JSON.parse(trimmed), root);
        } catch (e) {
          if (e instanceof ValidationError) throw e;
          throw new RuleError(root, '不是有效的 JSON');
        }
      }
      return legacy(dbType, trimmed, root);
    }
    if (isObject(expr) && 'type' in expr) return fromSpecForm(dbType, expr, root);
    return node(dbType, expr, root, 0, counter);
  } catch (e) {
    if (e instanceof RuleError) throw new ValidationError(`${e.path}: ${e.message}`, { errors: [{ field: e.path, message: e.message }] });
    throw e;
  }
}

function legacy(dbType: DbType, s: string, path: string): RuleNode {
  const dot = s.indexOf('.');
  if (dot < 1) throw new RuleError(path, `无法识别的规则 "${s}" (应为 JSON 表达式或 字段.名称)`);
  const c = { field: s.slice(0, dot), op: 'has', value: s.slice(dot + 1) };
  return condition(dbType, c, path);
}

function fromSpecForm(dbType: DbType, e: Record<string, unknown>, path: string): RuleNode {
  const spec = SPEC_TYPES[dbType];
  if (e.type !== spec.type) throw new RuleError(`${path}.type`, `${dbType} 规则的 type 应为 "${spec.type}"，而不是 ${JSON.stringify(e.type)}`);
  const operator = e.operator === undefined ? 'OR' : e.operator;
  if (operator !== 'AND' && operator !== 'OR') throw new RuleError(`${path}.operator`, 'operator 只能是 "AND" 或 "OR"');
  const known = new Set(['type', 'operator', ...Object.keys(spec.criteria), ...Object.keys(spec.exclude ?? {})]);
  for (const k of Object.keys(e)) if (!known.has(k)) throw new RuleError(`${path}.${k}`, `${spec.type} 不支持的条件 "${k}"`);
  const conditions: RuleNode[] = [];
  for (const [key, field] of Object.entries(spec.criteria)) {
    const names = e[key];
    if (names === undefined || (Array.isArray(names) && names.length === 0)) continue;
    conditions.push(condition(dbType, { field, op: operator === 'AND' ? 'has_all' : 'has_any', value: names }, `${path}.${key}`));
  }
  if (conditions.length === 0) throw new RuleError(path, '规则没有任何条件 (至少需要一个非空的权限/角色列表)');
  let tree: RuleNode = conditions.length === 1 ? conditions[0]! : { operator, conditions };
  for (const [key, field] of Object.entries(spec.exclude ?? {})) {
    const names = e[key];
    if (names === undefined || (Array.isArray(names) && names.length === 0)) continue;
    tree = { operator: 'AND', conditions: [tree, condition(dbType, { field, op: 'has_none', value: names }, `${path}.${key}`)] };
  }
  return tree;
}

function node(dbType: DbType, n: unknown, path: string, depth: number, counter: { nodes: number }): RuleNode {
  if (++counter.nodes > MAX_NODES) throw new RuleError(path, `规则过大 (最多 ${MAX_NODES} 个节点)`);
  if (depth > MAX_DEPTH) throw new RuleError(path, `嵌套过深 (最多 ${MAX_DEPTH} 层)`);
  if (!isObject(n)) throw new RuleError(path, '应为对象: 条件组 {operator, conditions}、{not} 或条件 {field, op, value}');
  if ('conditions' in n || 'operator' in n) {
    const extra = Object.keys(n).filter((k) => k !== 'operator' && k !== 'conditions');
    if (extra.length) throw new RuleError(`${path}.${extra[0]}`, `条件组不支持的字段 "${extra[0]}"`);
    if (n.operator !== 'AND' && n.operator !== 'OR') throw new RuleError(`${path}.operator`, 'operator 只能是 "AND" 或 "OR"');
    if (!Array.isArray(n.conditions) || n.conditions.length === 0) throw new RuleError(`${path}.conditions`, 'conditions 应为非空数组');
    return { operator: n.operator, conditions: n.conditions.map((c, i) => node(dbType, c, `${path}.conditions[${i}]`, depth + 1, counter)) };
  }
  if ('not' in n) {
    if (Object.keys(n).length !== 1) throw new RuleError(path, '{not} 节点只能有 not 一个字段');
    return { not: node(dbType, n.not, `${path}.not`, depth + 1, counter) };
  }
  return condition(dbType, n, path);
}

const NAME_OPS = ['has', 'has_any', 'has_all', 'has_none'] as const;

function condition(dbType: DbType, c: Record<string, unknown>, path: string): Condition {
  const extra = Object.keys(c).filter((k) => !['field', 'op', 'value'].includes(k));
  if (extra.length) throw new RuleError(`${path}.${extra[0]}`, `条件不支持的字段 "${extra[0]}"`);
  if (typeof c.field !== 'string') throw new RuleError(`${path}.field`, '缺少 field');
  const spec = fieldOf(dbType, c.field);
  if (!spec) throw new RuleError(`${path}.field`, `${dbType} 账户没有字段 "${c.field}" (可用: ${CATALOGUE[dbType].map((f) => f.name).join(', ')})`);
  const op = c.op;
  switch (spec.kind) {
    case 'boolean':
      if (op !== 'is') throw new RuleError(`${path}.op`, `字段 ${spec.name} 只支持 op "is"`);
      if (typeof c.value !== 'boolean') throw new RuleError(`${path}.value`, `字段 ${spec.name} 的 value 应为 true 或 false`);
      return { field: spec.name, op, value: c.value };
    case 'string':
      if (op !== 'equals' && op !== 'matches') throw new RuleError(`${path}.op`, `字段 ${spec.name} 只支持 op "equals" 或 "matches"`);
      if (typeof c.value !== 'string' || c.value.length === 0 || c.value.length > 255) throw new RuleError(`${path}.value`, 'value 应为 1–255 个字符的字符串');
      return { field: spec.name, op, value: c.value };
    case 'date':
      if (op === 'is_set') {
        if (typeof c.value !== 'boolean') throw new RuleError(`${path}.value`, `op is_set 的 value 应为 true 或 false`);
        return { field: spec.name, op, value: c.value };
      }
      if (op !== 'older_than_days' && op !== 'within_days') throw new RuleError(`${path}.op`, `字段 ${spec.name} 支持的 op: older_than_days, within_days, is_set`);
      if (c.value !== STALE_DAYS && !(typeof c.value === 'number' && Number.isInteger(c.value) && c.value >= 0 && c.value <= MAX_DAYS)) {
        throw new RuleError(`${path}.value`, `value 应为 0–${MAX_DAYS} 的整数天数，或 "${STALE_DAYS}" (配置的陈旧天数)`);
      }
      return { field: spec.name, op, value: c.value };
    default: {
      if (!NAME_OPS.includes(op as (typeof NAME_OPS)[number])) throw new RuleError(`${path}.op`, `字段 ${spec.name} 支持的 op: ${NAME_OPS.join(', ')}`);
      if (op === 'has') {
        checkName(spec, dbType, c.value, `${path}.value`);
        return { field: spec.name, op, value: c.value as string };
      }
      if (!Array.isArray(c.value) || c.value.length === 0 || c.value.length > 100) throw new RuleError(`${path}.value`, `op ${String(op)} 的 value 应为 1–100 个名称的数组`);
      c.value.forEach((v, i) => checkName(spec, dbType, v, `${path}.value[${i}]`));
      return { field: spec.name, op: op as 'has_any' | 'has_all' | 'has_none', value: c.value as string[] };
    }
  }
}

function checkName(spec: FieldSpec, dbType: DbType, v: unknown, path: string): void {
  if (typeof v !== 'string' || v.length === 0) throw new RuleError(path, '应为非空字符串');
  if (spec.values?.some((k) => k.toUpperCase() === v.toUpperCase())) return;
  if (spec.open && ROLE_NAME.test(v)) return;
  throw new RuleError(path, `未知的 ${dbType} ${spec.name} 名称 "${v}"`);
}

// ---- compilation -------------------------------------------------------------------------------

const ALL_PRIVILEGES = 'ALL PRIVILEGES';

function namesOf(set: Set<string>, name: string, mysqlPrivileges: boolean): boolean {
  if (set.has(name)) return true;
  return mysqlPrivileges && name !== 'GRANT OPTION' && set.has(ALL_PRIVILEGES);
}

function wildcard(pattern: string): RegExp {
  const esc = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${esc}$`, 'i');
}

/** The age in days a date condition stands for (its number, or the configured stale age). */
export function daysOf(value: number | typeof STALE_DAYS, opts: EvalOptions = {}): number {
  return value === STALE_DAYS ? (opts.staleDays ?? DEFAULT_STALE_DAYS) : value;
}

/**
 * Compiles a validated tree into a predicate over AccountFacts. Date conditions compare with
 * `opts.now` (default: now) and resolve "STALE_ACCOUNT_DAYS" to `opts.staleDays`, once.
 */
export function compileRule(dbType: DbType, tree: RuleNode, opts: EvalOptions = {}): Predicate {
  const now = opts.now ?? Date.now();
  return compileNode(dbType, tree, { ...opts, now });
}

function compileNode(dbType: DbType, tree: RuleNode, opts: EvalOptions & { now: number }): Predicate {
  if ('operator' in tree) {
    const parts = tree.conditions.map((c) => compileNode(dbType, c, opts));
    return tree.operator === 'AND' ? (a) => parts.every((p) => p(a)) : (a) => parts.some((p) => p(a));
  }
  if ('not' in tree) {
    const inner = compileNode(dbType, tree.not, opts);
    return (a) => !inner(a);
  }
  const c = tree;
  const mysqlPrivileges = dbType === 'mysql' && (c.field === 'global_privileges' || c.field === 'database_privileges');
  switch (c.op) {
    case 'is_set':
      return (a) => (typeof a.get(c.field) === 'number') === c.value;
    case 'older_than_days':
    case 'within_days': {
      // Strictly older than N days; within N days includes the boundary, so the two never overlap.
      const cutoff = opts.now - daysOf(c.value, opts) * DAY_MS;
      const older = c.op === 'older_than_days';
      return (a) => {
        const t = a.get(c.field);
        return typeof t === 'number' && (older ? t < cutoff : t >= cutoff);
      };
    }
    case 'is':
      return (a) => a.get(c.field) === c.value;
    case 'equals': {
      const v = c.value.toLowerCase();
      return (a) => String(a.get(c.field) ?? '').toLowerCase() === v;
    }
    case 'matches': {
      const re = wildcard(c.value);
      return (a) => re.test(String(a.get(c.field) ?? ''));
    }
    default: {
      const wanted = (Array.isArray(c.value) ? c.value : [c.value]).map((v) => v.toUpperCase());
      const names = (a: AccountFacts) => (a.get(c.field) as Set<string> | undefined) ?? EMPTY;
      const any = (set: Set<string>) => wanted.some((n) => namesOf(set, n, mysqlPrivileges));
      if (c.op === 'has' || c.op === 'has_any') return (a) => any(names(a));
      if (c.op === 'has_all') return (a) => {
        const set = names(a);
        return wanted.every((n) => namesOf(set, n, mysqlPrivileges));
      };
      return (a) => !any(names(a));
    }
  }
}

const EMPTY = new Set<string>();

/** The names a field holds, upper-cased: lists as is, maps across all keys, flags where true. */
function namesIn(kind: FieldSpec['kind'], raw: unknown): Set<string> {
  const out = new Set<string>();
  if (kind === 'list' && Array.isArray(raw)) for (const v of raw) out.add(String(v).toUpperCase());
  else if (kind === 'map' && isObject(raw)) {
    for (const list of Object.values(raw)) if (Array.isArray(list)) for (const v of list) out.add(String(v).toUpperCase());
  } else if (kind === 'flags' && isObject(raw)) {
    for (const [k, v] of Object.entries(raw)) if (v === true) out.add(k.toUpperCase());
  }
  return out;
}

/** The fields a rule tree looks at. */
export function fieldsOf(tree: RuleNode, out = new Set<string>()): Set<string> {
  if ('operator' in tree) for (const c of tree.conditions) fieldsOf(c, out);
  else if ('not' in tree) fieldsOf(tree.not, out);
  else out.add(tree.field);
  return out;
}

/** A date column whose comparison with "now minus `days`" a rule makes (see clockWindows). */
export interface ClockWindow {
  column: string;
  days: number;
}

/**
 * Where a rule's outcome can change with the clock alone, the account unchanged: each age condition
 * (older_than_days / within_days: the column crosses now − N days) and the derived password_expired
 * (password_expires_at crosses now). An unchanged account needs evaluating again only when one of
 * these columns crossed its threshold between two batches.
 */
export function clockWindows(dbType: DbType, tree: RuleNode, opts: EvalOptions = {}, out: ClockWindow[] = []): ClockWindow[] {
  if ('operator' in tree) for (const c of tree.conditions) clockWindows(dbType, c, opts, out);
  else if ('not' in tree) clockWindows(dbType, tree.not, opts, out);
  else if (tree.op === 'older_than_days' || tree.op === 'within_days') out.push({ column: fieldOf(dbType, tree.field)!.column, days: daysOf(tree.value, opts) });
  else if (CATALOGUE[dbType].some((f) => f.name === tree.field && f.derive === 'password_expired')) out.push({ column: 'password_expires_at', days: 0 });
  return out;
}

/**
 * Builds the facts of one account row (columns as read from current_account_sync_data), for every
 * field of its type or only `fields` (a batch reads and parses just what its rules look at).
 */
export function factsOf(dbType: DbType, row: Record<string, unknown>, fields?: ReadonlySet<string>, opts: EvalOptions = {}): AccountFacts {
  return factsReader(dbType, fields, opts)(row);
}

/**
 * factsOf for many rows of one type: the fields to build are picked once, not per row (a batch
 * builds the facts of every account in scope).
 */
export function factsReader(dbType: DbType, fields?: ReadonlySet<string>, opts: EvalOptions = {}): (row: Record<string, unknown>) => AccountFacts {
  const specs = CATALOGUE[dbType].filter((f) => !fields || fields.has(f.name));
  return (row) => {
    const facts: AccountFacts = new Map();
    for (const f of specs) {
      const raw = f.key ? (row[f.column] as Record<string, unknown> | null)?.[f.key] : row[f.column];
      if (f.derive === 'password_expired') facts.set(f.name, passwordExpired(row, opts.now ?? Date.now()));
      else if (f.kind === 'boolean') facts.set(f.name, raw === true);
      else if (f.kind === 'string') facts.set(f.name, typeof raw === 'string' ? raw : '');
      else if (f.kind === 'date') facts.set(f.name, timeOf(raw));
      else facts.set(f.name, namesIn(f.kind, raw));
    }
    return facts;
  };
}

/** A stored moment (Date from the driver, ISO string from JSON) as epoch ms; null when unknown. */
export function timeOf(raw: unknown): number | null {
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? null : raw.getTime();
  if (typeof raw === 'string' && raw) {
    const t = Date.parse(raw);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** Expired: the expiry moment has passed, or the engine says so itself (type_specific.password_expired). */
function passwordExpired(row: Record<string, unknown>, now: number): boolean {
  const at = timeOf(row.password_expires_at);
  if (at !== null && at <= now) return true;
  return (row.type_specific as Record<string, unknown> | null | undefined)?.password_expired === true;
}

/** The columns factsOf reads for a database type (all its fields, or only `fields`). */
export function columnsFor(dbType: DbType, fields?: ReadonlySet<string>): string[] {
  return [
    ...new Set(
      CATALOGUE[dbType]
        .filter((f) => !fields || fields.has(f.name))
        .flatMap((f) => (f.derive === 'password_expired' ? ['password_expires_at', 'type_specific'] : [f.column])),
    ),
  ];
}
