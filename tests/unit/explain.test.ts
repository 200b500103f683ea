/**
 * The explainer agrees with the rule compiler on every rule and account (property tests over every
 * operator, NOT/AND/OR nesting and random account rows of each database type), and its reasons name
 * the concrete privileges, attributes and dates that decided.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DB_TYPES, type DbType } from '../../src/adapters/types.js';
import { CATALOGUE, type FieldSpec } from '../../src/services/classification/catalogue.js';
import { explainRule } from '../../src/services/classification/explain.js';
import { compileRule, factsOf, normalizeRule, STALE_DAYS, type RuleNode } from '../../src/services/classification/rule-expression.js';

const NOW = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;
const OPTS = { now: NOW, staleDays: 30 };

/** A few names per field: catalogue ones (some upper, some lower case) plus ALL PRIVILEGES for MySQL. */
function namesFor(dbType: DbType, f: FieldSpec): string[] {
  const known = (f.values ?? []).slice(0, 4);
  const extra = f.open ? ['app_role', 'DBA'] : [];
  const mysqlAll = dbType === 'mysql' && (f.name === 'global_privileges' || f.name === 'database_privileges') ? ['ALL PRIVILEGES', 'GRANT OPTION', 'SUPER', 'DROP'] : [];
  const base = [...new Set([...known, ...extra, ...mysqlAll])].filter((n) => (f.values ?? []).some((v) => v.toUpperCase() === n.toUpperCase()) || f.open);
  return base.length ? base : ['CREATE'];
}

const dateArb = fc.option(fc.integer({ min: -400, max: 400 }).map((d) => new Date(NOW - d * DAY - 1000)), { nil: null });

/** A random account row of a type, shaped as current_account_sync_data columns. */
function rowArb(dbType: DbType): fc.Arbitrary<Record<string, unknown>> {
  const fields = CATALOGUE[dbType];
  const parts: Record<string, fc.Arbitrary<unknown>> = {
    is_superuser: fc.boolean(),
    is_locked: fc.boolean(),
    is_active: fc.boolean(),
    username: fc.constantFrom('app', 'APP_ro', 'svc-10', ''),
    host: fc.constantFrom('%', '10.%', 'localhost'),
    last_login_at: dateArb,
    password_changed_at: dateArb,
    password_expires_at: dateArb,
  };
  const typeSpecific: Record<string, fc.Arbitrary<unknown>> = { password_expired: fc.boolean() };
  for (const f of fields) {
    const names = namesFor(dbType, f).flatMap((n) => [n, n.toLowerCase()]);
    const listArb = fc.subarray(names);
    let arb: fc.Arbitrary<unknown> | undefined;
    if (f.kind === 'list') arb = fc.option(listArb, { nil: null });
    else if (f.kind === 'map') arb = fc.option(fc.dictionary(fc.constantFrom('shop', 'crm', 'USERS'), listArb, { maxKeys: 3 }), { nil: null });
    else if (f.kind === 'flags') arb = fc.record(Object.fromEntries(namesFor(dbType, f).map((n) => [n, fc.boolean()])));
    if (!arb) continue;
    if (f.key) typeSpecific[f.key] = arb;
    else parts[f.column] = arb;
  }
  parts.type_specific = fc.record(typeSpecific);
  return fc.record(parts);
}

/** A random valid rule tree of a type: every operator, nested AND/OR/NOT up to depth 4. */
function ruleArb(dbType: DbType): fc.Arbitrary<RuleNode> {
  const fields = CATALOGUE[dbType];
  const leaf: fc.Arbitrary<RuleNode> = fc.constantFrom(...fields).chain((f): fc.Arbitrary<RuleNode> => {
    switch (f.kind) {
      case 'boolean':
        return fc.boolean().map((value) => ({ field: f.name, op: 'is', value }));
      case 'string':
        return fc.tuple(fc.constantFrom('equals', 'matches'), fc.constantFrom('app', 'APP*', '*-10', '10.%', '10.*', '*', 'localhost')).map(([op, value]) => ({ field: f.name, op, value }) as RuleNode);
      case 'date':
        return fc.oneof(
          fc.tuple(fc.constantFrom('older_than_days', 'within_days'), fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(STALE_DAYS))).map(([op, value]) => ({ field: f.name, op, value }) as RuleNode),
          fc.boolean().map((value) => ({ field: f.name, op: 'is_set', value }) as RuleNode),
        );
      default: {
        const names = namesFor(dbType, f);
        return fc.oneof(
          fc.constantFrom(...names).map((value) => ({ field: f.name, op: 'has', value }) as RuleNode),
          fc.tuple(fc.constantFrom('has_any', 'has_all', 'has_none'), fc.subarray(names, { minLength: 1 })).map(([op, value]) => ({ field: f.name, op, value }) as RuleNode),
        );
      }
    }
  });
  const { tree } = fc.letrec<{ tree: RuleNode }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ operator: fc.constantFrom('AND' as const, 'OR' as const), conditions: fc.array(tie('tree'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ not: tie('tree') }),
    ),
  }));
  return tree;
}

describe('explainRule agrees with compileRule', () => {
  for (const dbType of DB_TYPES) {
    it(`${dbType}: same verdict on random rules and accounts, and a match is explained by true statements only`, () => {
      fc.assert(
        fc.property(ruleArb(dbType), rowArb(dbType), (rawTree, row) => {
          const tree = normalizeRule(dbType, rawTree); // the generated trees are valid rules
          const verdict = compileRule(dbType, tree, OPTS)(factsOf(dbType, row, undefined, OPTS));
          const e = explainRule(dbType, tree, row, OPTS);
          expect(e.matched).toBe(verdict);
          expect(e.reasons.length).toBeGreaterThan(0);
          if (e.matched) for (const r of e.reasons) expect(r.holds, r.text).not.toBe(r.negated);
          // A failed rule is explained by statements that are false about the account.
          if (!e.matched && !('not' in tree) && !('operator' in tree)) expect(e.reasons[0]!.holds).toBe(false);
          for (const r of e.reasons) {
            // "has"/"has_any" hold exactly when the account holds one of the names it lists.
            if (r.op === 'has' || r.op === 'has_any') expect((r.actual as string[]).length > 0).toBe(r.holds);
            if (r.op === 'has_none') expect((r.actual as string[]).length === 0).toBe(r.holds);
          }
        }),
        { numRuns: 400, seed: 20261201 },
      );
    });
  }
});

describe('explanations name the concrete privileges and attributes', () => {
  it('PostgreSQL superuser: the role attribute', () => {
    const tree = normalizeRule('postgresql', { type: 'postgresql_permissions', role_attributes: ['can_super'], operator: 'OR' });
    const e = explainRule('postgresql', tree, { role_attributes: { can_super: true, can_login: true } });
    expect(e.matched).toBe(true);
    expect(e.reasons).toEqual([
      { field: 'role_attributes', op: 'has_any', expected: ['can_super'], actual: ['can_super'], holds: true, negated: false, text: 'role_attributes has_any can_super: has can_super is true' },
    ]);
  });

  it('MySQL: SUPER directly, through ALL PRIVILEGES, and per database', () => {
    const has = (v: string, field = 'global_privileges') => normalizeRule('mysql', { field, op: 'has', value: v });
    expect(explainRule('mysql', has('SUPER'), { global_privileges: ['SELECT', 'SUPER'] }).reasons[0]!.text).toBe('global_privileges has SUPER: has SUPER');
    expect(explainRule('mysql', has('super'), { global_privileges: ['ALL PRIVILEGES'] }).reasons[0]!.text).toBe('global_privileges has super: has super via ALL PRIVILEGES');
    expect(explainRule('mysql', has('GRANT OPTION'), { global_privileges: ['ALL PRIVILEGES'] })).toMatchObject({ matched: false, reasons: [{ text: 'global_privileges has GRANT OPTION: does not have it' }] });
    const drop = explainRule('mysql', has('DROP', 'database_privileges'), { database_privileges: { shop: ['SELECT', 'DROP'], crm: ['DROP'], logs: ['ALL PRIVILEGES'] } });
    expect(drop.reasons[0]!.text).toBe('database_privileges has DROP: has DROP on shop, crm; DROP via ALL PRIVILEGES on logs');
  });

  it('AND gives every reason; OR the children that hold; NOT says what is absent', () => {
    const tree = normalizeRule('mysql', {
      operator: 'AND',
      conditions: [
        { operator: 'OR', conditions: [{ field: 'global_privileges', op: 'has', value: 'SELECT' }, { field: 'database_privileges', op: 'has', value: 'SELECT' }] },
        { not: { field: 'is_locked', op: 'is', value: true } },
        { field: 'global_privileges', op: 'has_none', value: ['INSERT', 'SUPER'] },
      ],
    });
    const e = explainRule('mysql', tree, { global_privileges: ['SELECT'], database_privileges: {}, is_locked: false });
    expect(e.matched).toBe(true);
    expect(e.reasons.map((r) => r.text)).toEqual([
      'global_privileges has SELECT: has SELECT',
      'NOT (is_locked is true): is false',
      'global_privileges has_none INSERT, SUPER: has none of them',
    ]);
    // Failing AND: the first failing condition explains it.
    const f = explainRule('mysql', tree, { global_privileges: ['SELECT', 'SUPER'], is_locked: false });
    expect(f).toMatchObject({ matched: false, reasons: [{ text: 'global_privileges has_none INSERT, SUPER: has SUPER', holds: false }] });
  });

  it('dates: age against the configured stale days, unknown dates never match', () => {
    const tree = normalizeRule('oracle', { field: 'last_login_at', op: 'older_than_days', value: STALE_DAYS });
    const old = explainRule('oracle', tree, { last_login_at: new Date(NOW - 45 * DAY) }, OPTS);
    expect(old).toMatchObject({ matched: true, reasons: [{ expected: 30, actual: new Date(NOW - 45 * DAY).toISOString() }] });
    expect(old.reasons[0]!.text).toBe(`last_login_at older_than_days 30 days (STALE_ACCOUNT_DAYS): ${new Date(NOW - 45 * DAY).toISOString()} (45 days ago)`);
    expect(explainRule('oracle', tree, { last_login_at: new Date(NOW - 10 * DAY) }, OPTS).matched).toBe(false);
    expect(explainRule('oracle', tree, { last_login_at: new Date(NOW - 45 * DAY) }, { now: NOW, staleDays: 60 }).matched).toBe(false);
    expect(explainRule('oracle', tree, { last_login_at: null }, OPTS)).toMatchObject({ matched: false, reasons: [{ actual: null, text: expect.stringContaining('unknown') }] });
    const notRecent = normalizeRule('oracle', { not: { field: 'last_login_at', op: 'within_days', value: 7 } });
    expect(explainRule('oracle', notRecent, { last_login_at: null }, OPTS).matched).toBe(true);
  });

  it('password_expired: from the expiry date or the engine flag', () => {
    const tree = normalizeRule('postgresql', { field: 'password_expired', op: 'is', value: true });
    const facts = (row: Record<string, unknown>) => compileRule('postgresql', tree, OPTS)(factsOf('postgresql', row, undefined, OPTS));
    expect(facts({ password_expires_at: new Date(NOW - 1000) })).toBe(true);
    expect(facts({ password_expires_at: new Date(NOW + DAY) })).toBe(false);
    expect(facts({ password_expires_at: null, type_specific: { password_expired: true } })).toBe(true);
    expect(facts({ password_expires_at: null })).toBe(false);
  });
});

describe('date conditions are validated', () => {
  it.each([
    [{ field: 'last_login_at', op: 'older_than_days', value: 90 }, 'mysql', 'rule_expression.field'],
    [{ field: 'password_changed_at', op: 'has', value: 'x' }, 'oracle', 'rule_expression.op'],
    [{ field: 'password_changed_at', op: 'older_than_days', value: -1 }, 'oracle', 'rule_expression.value'],
    [{ field: 'password_changed_at', op: 'older_than_days', value: 1.5 }, 'oracle', 'rule_expression.value'],
    [{ field: 'password_changed_at', op: 'older_than_days', value: 'NINETY' }, 'oracle', 'rule_expression.value'],
    [{ field: 'password_expires_at', op: 'is_set', value: 'yes' }, 'postgresql', 'rule_expression.value'],
  ])('rejects %j on %s at %s', (expr, dbType, field) => {
    expect(() => normalizeRule(dbType as DbType, expr)).toThrow(expect.objectContaining({ details: { errors: [expect.objectContaining({ field })] } }));
  });
});
