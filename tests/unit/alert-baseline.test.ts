/** privilege_outside_baseline, the pure part: the lines a change added, and those a baseline does not allow. */
import { describe, expect, it } from 'vitest';
import { linesAddedByDiff, outsideBaseline } from '../../src/services/alerts/baseline.js';
import { evaluateRule, type AlertChange, type InstanceFacts } from '../../src/services/alerts/rules.js';
import { privilegeEntries } from '../../src/services/accounts/privilege-lines.js';

const lines = (es: Array<{ line: string }>) => es.map((e) => e.line);

describe('lines a change added', () => {
  it('PostgreSQL: list, scoped and attribute grants become canonical lines; revocations and switched-off attributes do not', () => {
    const diff = {
      is_superuser: { old: false, new: true },
      predefined_roles: { added: ['pg_read_all_data'], removed: ['pg_monitor'] },
      database_privileges_pg: { added: { shop: ['INSERT'] }, removed: { shop: ['DELETE'] } },
      role_attributes: {
        added: { can_super: true, can_login: false, connection_limit: 5 },
        removed: { can_super: false, can_login: true, connection_limit: 3 },
      },
    };
    expect(lines(linesAddedByDiff('postgresql', diff, {}))).toEqual([
      'attribute:connection_limit=5',
      'attribute:superuser',
      'database:shop:INSERT',
      'role:pg_read_all_data',
    ]);
    expect(linesAddedByDiff('postgresql', { predefined_roles: { added: [], removed: ['x'] } }, null)).toEqual([]);
  });

  it('MySQL: table privileges and roles changed in type_specific give only the new lines', () => {
    const other = {
      type_specific: {
        added: { table_privileges: { 'shop.orders': ['SELECT', 'INSERT'] }, roles: ['r1', 'r2'], plugin: 'x' },
        removed: { table_privileges: { 'shop.orders': ['SELECT'] }, roles: ['r1'], plugin: 'y' },
      },
    };
    expect(lines(linesAddedByDiff('mysql', { global_privileges: { added: ['USAGE', 'PROCESS'], removed: [] } }, other))).toEqual([
      'global:PROCESS',
      'role:r2',
      'table:shop.orders:INSERT',
    ]);
  });
});

describe('outside the baseline', () => {
  const added = privilegeEntries('postgresql', { predefinedRoles: ['readers'], databasePrivilegesPg: { shop: ['INSERT'] } });

  it('reports the added lines the account baseline lacks, with their parts', () => {
    expect(outsideBaseline(added, ['attribute:login', 'role:readers'])).toEqual([{ field: 'database', scope: 'shop', privilege: 'INSERT', line: 'database:shop:INSERT' }]);
    expect(outsideBaseline(added, ['role:readers', 'database:shop:INSERT'])).toEqual([]);
  });

  it('an account absent from the baseline allows nothing', () => {
    expect(outsideBaseline(added, undefined).map((g) => g.line)).toEqual(['database:shop:INSERT', 'role:readers']);
  });

  it('the rule names the lines in its message and details, and filters by name or line', () => {
    const inst: InstanceFacts = { id: 1, name: 'pg', dbType: 'postgresql', environment: 'production', tags: [] };
    const change: AlertChange = { id: 3, accountId: 4, username: 'app', changeType: 'modify_privilege', privilegeDiff: {} };
    const rule = (conditions: object = {}) => ({ id: 1, name: 'r', kind: 'privilege_outside_baseline', severity: 'warning', conditions });
    const grants = outsideBaseline(added, []);
    const m = evaluateRule(rule(), change, inst, grants);
    expect(m?.message).toBe('账户被授予基线之外的权限: app: database:shop:INSERT, role:readers（实例 pg）');
    expect(m?.details).toEqual({ lines: ['database:shop:INSERT', 'role:readers'], grants });
    expect(evaluateRule(rule({ privileges: ['insert'] }), change, inst, grants)?.details.lines).toEqual(['database:shop:INSERT']);
    expect(evaluateRule(rule({ privileges: ['ROLE:READERS'] }), change, inst, grants)?.details.lines).toEqual(['role:readers']);
    expect(evaluateRule(rule(), change, inst, [])).toBeNull();
  });
});
