/**
 * Explanations: why a rule matches (or not) one account, in terms of the concrete privileges and
 * attributes it holds. The verdict of every condition comes from the same compiled predicate as
 * auto-classification (compileRule), so an explanation never disagrees with a classification; the
 * combination follows the tree:
 *
 *  - AND that holds: the reasons of all its children; AND that fails: those of the first failing child;
 *  - OR that holds: the reasons of every child that holds; OR that fails: those of all its children;
 *  - NOT: the reasons of its child, marked negated (NOT over a failing AND is explained by the
 *    child that failed, as De Morgan has it).
 *
 * So when a rule matches, every reason is a leaf whose verdict (holds) differs from its negation
 * (negated): each one is a true statement about the account.
 */
import type { DbType } from '../../adapters/types.js';
import { fieldOf } from './catalogue.js';
import { compileRule, daysOf, factsOf, STALE_DAYS, type AccountFacts, type Condition, type EvalOptions, type RuleNode } from './rule-expression.js';

export interface RuleReason {
  /** The rule field (e.g. global_privileges, role_attributes, password_changed_at). */
  field: string;
  op: Condition['op'];
  /** The value the rule asks for; a date condition's age resolved to days. */
  expected: unknown;
  /**
   * What the account has: the asked-for names it holds (name conditions), its boolean or string
   * value, or the date (ISO, null when the engine does not report it).
   */
  actual: unknown;
  /** The condition's own verdict on the account. */
  holds: boolean;
  /** Under an odd number of NOTs: the reason says the condition does NOT hold. */
  negated: boolean;
  /** One line a DBA reads, e.g. `global_privileges has SUPER: has SUPER`. */
  text: string;
}

export interface Explanation {
  matched: boolean;
  reasons: RuleReason[];
}

const DAY_MS = 86_400_000;
const ALL_PRIVILEGES = 'ALL PRIVILEGES';

/**
 * Explains `tree` on one account row (columns as read from current_account_sync_data, snake_case).
 * `opts` must be those auto-classification uses (same now and stale age) for the same verdicts.
 */
export function explainRule(dbType: DbType, tree: RuleNode, row: Record<string, unknown>, opts: EvalOptions = {}): Explanation {
  const o = { ...opts, now: opts.now ?? Date.now() };
  const facts = factsOf(dbType, row, undefined, o);
  return explainNode(dbType, tree, facts, row, o, false);
}

function explainNode(dbType: DbType, tree: RuleNode, facts: AccountFacts, row: Record<string, unknown>, opts: EvalOptions & { now: number }, negated: boolean): Explanation {
  if ('operator' in tree) {
    const parts = tree.conditions.map((c) => explainNode(dbType, c, facts, row, opts, negated));
    if (tree.operator === 'AND') {
      const failed = parts.find((p) => !p.matched);
      return failed ? { matched: false, reasons: failed.reasons } : { matched: true, reasons: parts.flatMap((p) => p.reasons) };
    }
    const held = parts.filter((p) => p.matched);
    return held.length ? { matched: true, reasons: held.flatMap((p) => p.reasons) } : { matched: false, reasons: parts.flatMap((p) => p.reasons) };
  }
  if ('not' in tree) {
    const inner = explainNode(dbType, tree.not, facts, row, opts, !negated);
    return { matched: !inner.matched, reasons: inner.reasons };
  }
  const holds = compileRule(dbType, tree, opts)(facts);
  return { matched: holds, reasons: [leafReason(dbType, tree, facts, row, opts, holds, negated)] };
}

const list = (names: string[]) => names.join(', ');

function leafReason(dbType: DbType, c: Condition, facts: AccountFacts, row: Record<string, unknown>, opts: EvalOptions & { now: number }, holds: boolean, negated: boolean): RuleReason {
  let expected: unknown = c.value;
  let expectedText: string;
  let actual: unknown;
  let actualText: string;
  switch (c.op) {
    case 'is':
      expectedText = String(c.value);
      actual = facts.get(c.field) === true;
      actualText = `is ${String(actual)}`;
      break;
    case 'equals':
    case 'matches':
      expectedText = JSON.stringify(c.value);
      actual = facts.get(c.field) ?? '';
      actualText = `is ${JSON.stringify(actual)}`;
      break;
    case 'is_set':
    case 'older_than_days':
    case 'within_days': {
      const t = facts.get(c.field);
      actual = typeof t === 'number' ? new Date(t).toISOString() : null;
      if (c.op === 'is_set') expectedText = String(c.value);
      else {
        expected = daysOf(c.value, opts);
        expectedText = `${String(expected)} days${c.value === STALE_DAYS ? ` (${STALE_DAYS})` : ''}`;
      }
      actualText = typeof t === 'number' ? `${String(actual)} (${Math.floor((opts.now - t) / DAY_MS)} days ago)` : 'unknown (not reported by the engine)';
      break;
    }
    default: {
      const wanted = Array.isArray(c.value) ? c.value : [c.value];
      expectedText = list(wanted);
      const found = wanted.map((n) => ({ n, where: whereHeld(dbType, c.field, row, n) })).filter((x) => x.where !== null);
      actual = found.map((x) => x.n);
      const heldText = found.map((x) => x.where).join('; ');
      if (c.op === 'has' || c.op === 'has_any') actualText = found.length ? `has ${heldText}` : wanted.length > 1 ? 'has none of them' : 'does not have it';
      else if (c.op === 'has_all') {
        const missing = wanted.filter((n) => !found.some((x) => x.n === n));
        actualText = missing.length ? `missing ${list(missing)}` : `has ${heldText}`;
      } else actualText = found.length ? `has ${heldText}` : 'has none of them';
    }
  }
  const condition = `${c.field} ${c.op} ${expectedText}`;
  return { field: c.field, op: c.op, expected, actual, holds, negated, text: `${negated ? `NOT (${condition})` : condition}: ${actualText}` };
}

/**
 * Where the account holds a name, read from the stored row (the facts only know whether): "SUPER",
 * "SUPER via ALL PRIVILEGES", "DROP on shop, crm", "can_super is true"; null when it does not.
 * Agrees with the predicates: case-insensitive, ALL PRIVILEGES counts for MySQL (not GRANT OPTION).
 */
function whereHeld(dbType: DbType, field: string, row: Record<string, unknown>, name: string): string | null {
  const spec = fieldOf(dbType, field);
  if (!spec) return null;
  const raw = spec.key ? (row[spec.column] as Record<string, unknown> | null)?.[spec.key] : row[spec.column];
  const N = name.toUpperCase();
  const mysqlAll = dbType === 'mysql' && (field === 'global_privileges' || field === 'database_privileges') && N !== 'GRANT OPTION';
  const inList = (v: unknown): 'direct' | 'all' | null => {
    if (!Array.isArray(v)) return null;
    const up = v.map((x) => String(x).toUpperCase());
    return up.includes(N) ? 'direct' : mysqlAll && up.includes(ALL_PRIVILEGES) ? 'all' : null;
  };
  if (spec.kind === 'list') {
    const how = inList(raw);
    return how === 'direct' ? name : how === 'all' ? `${name} via ${ALL_PRIVILEGES}` : null;
  }
  if (spec.kind === 'flags') {
    if (!raw || typeof raw !== 'object') return null;
    const key = Object.keys(raw).find((k) => k.toUpperCase() === N && (raw as Record<string, unknown>)[k] === true);
    return key ? `${key} is true` : null;
  }
  if (spec.kind === 'map') {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
    const direct: string[] = [];
    const viaAll: string[] = [];
    for (const [scope, v] of Object.entries(raw)) {
      const how = inList(v);
      if (how === 'direct') direct.push(scope);
      else if (how === 'all') viaAll.push(scope);
    }
    const parts = [direct.length ? `${name} on ${list(direct)}` : '', viaAll.length ? `${name} via ${ALL_PRIVILEGES} on ${list(viaAll)}` : ''].filter(Boolean);
    return parts.length ? parts.join('; ') : null;
  }
  return null;
}

