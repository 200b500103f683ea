/** Alert rule matching and the webhook URL guard, from fixtures (no I/O except one refused POST). */
import { describe, expect, it } from 'vitest';
import { evaluateRule, grantsOf, type AlertChange, type InstanceFacts } from '../../src/services/alerts/rules.js';
import { checkWebhookUrl, InternalAddressError, isInternalAddress } from '../../src/services/alerts/webhook-url.js';
import { postJson, retryDelayMs } from '../../src/services/alerts/webhook-worker.js';
import { endpointWants } from '../../src/services/alerts/webhook-service.js';

const prod: InstanceFacts = { id: 1, name: 'pg-prod', dbType: 'postgresql', environment: 'production', tags: ['Production', 'core'] };
const test: InstanceFacts = { id: 2, name: 'my-test', dbType: 'mysql', environment: 'testing', tags: [] };
const change = (changeType: string, privilegeDiff: unknown, username = 'alice'): AlertChange => ({ id: 10, accountId: 5, username, changeType, privilegeDiff });
const rule = (kind: string, conditions: object = {}) => ({ id: 7, name: kind, kind, severity: 'warning', conditions });

describe('alert rule matching', () => {
  it('new_superuser: added as superuser, or changed to superuser; not a superuser losing it', () => {
    expect(evaluateRule(rule('new_superuser'), change('add', { is_superuser: { old: null, new: true } }), prod)?.message).toContain('新增超级用户账户: alice');
    expect(evaluateRule(rule('new_superuser'), change('modify_privilege', { is_superuser: { old: false, new: true } }), prod)).not.toBeNull();
    expect(evaluateRule(rule('new_superuser'), change('modify_privilege', { is_superuser: { old: true, new: false } }), prod)).toBeNull();
    expect(evaluateRule(rule('new_superuser'), change('add', { global_privileges: { added: ['SELECT'], removed: [] } }), prod)).toBeNull();
    expect(evaluateRule(rule('new_superuser'), change('delete', {}), prod)).toBeNull();
  });

  it('privilege_granted: list, scoped and attribute grants, filtered by privilege name (case-insensitive)', () => {
    const diff = {
      global_privileges: { added: ['PROCESS'], removed: ['FILE'] },
      database_privileges: { added: { shop: ['INSERT', 'SELECT'] }, removed: {} },
      role_attributes: { added: { can_create_role: true, can_login: false, connection_limit: 3 }, removed: { can_create_role: false } },
    };
    expect(grantsOf(diff)).toEqual([
      { field: 'global_privileges', privilege: 'PROCESS' },
      { field: 'database_privileges', scope: 'shop', privilege: 'INSERT' },
      { field: 'database_privileges', scope: 'shop', privilege: 'SELECT' },
      { field: 'role_attributes', privilege: 'can_create_role' },
    ]);
    const m = evaluateRule(rule('privilege_granted', { privileges: ['insert'] }), change('modify_privilege', diff), prod);
    expect(m?.details).toEqual({ grants: [{ field: 'database_privileges', scope: 'shop', privilege: 'INSERT' }] });
    expect(evaluateRule(rule('privilege_granted', { privileges: ['DROP'] }), change('modify_privilege', diff), prod)).toBeNull();
    // Only revocations: nothing granted.
    expect(evaluateRule(rule('privilege_granted'), change('modify_privilege', { global_privileges: { added: [], removed: ['FILE'] } }), prod)).toBeNull();
    expect(evaluateRule(rule('privilege_granted'), change('modify_other', {}), prod)).toBeNull();
  });

  it('scopes rules by db type, instance tag (any, case-insensitive) and environment', () => {
    const add = change('add', {});
    expect(evaluateRule(rule('account_created', { instanceTags: ['production'] }), add, prod)).not.toBeNull();
    expect(evaluateRule(rule('account_created', { instanceTags: ['production'] }), add, test)).toBeNull();
    expect(evaluateRule(rule('account_created', { environments: ['production', 'testing'] }), add, test)).not.toBeNull();
    expect(evaluateRule(rule('account_created', { dbTypes: ['postgresql'] }), add, test)).toBeNull();
    expect(evaluateRule(rule('account_created', { dbTypes: ['postgresql'], environments: ['testing'] }), add, prod)).toBeNull();
    expect(evaluateRule(rule('account_created'), change('restore', {}), prod)?.details).toEqual({ restored: true });
    expect(evaluateRule(rule('account_created'), change('modify_other', {}), prod)).toBeNull();
    expect(evaluateRule(rule('account_deleted'), change('delete', {}), prod)).not.toBeNull();
    expect(evaluateRule(rule('account_deleted'), add, prod)).toBeNull();
  });

  it('privilege_outside_baseline fires only on what the baseline check reported', () => {
    const c = change('modify_privilege', { global_privileges: { added: ['SUPER'], removed: [] } });
    expect(evaluateRule(rule('privilege_outside_baseline'), c, prod)).toBeNull();
    expect(evaluateRule(rule('privilege_outside_baseline'), c, prod, [{ field: 'global_privileges', privilege: 'SUPER' }])?.message).toContain('SUPER');
  });

  it('routes alerts to endpoints by rule and minimum severity', () => {
    expect(endpointWants({ ruleIds: [], minSeverity: null }, { ruleId: 1, severity: 'info' })).toBe(true);
    expect(endpointWants({ ruleIds: [2], minSeverity: null }, { ruleId: 1, severity: 'info' })).toBe(false);
    expect(endpointWants({ ruleIds: [], minSeverity: 'warning' }, { ruleId: 1, severity: 'info' })).toBe(false);
    expect(endpointWants({ ruleIds: [1], minSeverity: 'warning' }, { ruleId: 1, severity: 'critical' })).toBe(true);
  });

  it('doubles the retry delay per attempt, up to one hour', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(1000, n))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(1_000_000, 10)).toBe(3_600_000);
  });
});

describe('webhook URL guard', () => {
  it('accepts http(s) URLs and refuses other schemes and credentials', () => {
    expect(checkWebhookUrl('https://hooks.example.com/whalefall', false)).toBe('https://hooks.example.com/whalefall');
    for (const bad of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://x', 'https://u:p@example.com/', 'nope']) {
      expect(() => checkWebhookUrl(bad, true), bad).toThrow(/url/);
    }
  });

  it('refuses internal addresses unless allowed', () => {
    for (const url of ['http://127.0.0.1:8080/', 'http://localhost/', 'http://10.1.2.3/', 'http://172.20.0.1/', 'http://192.168.1.1/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://[fd00::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/']) {
      expect(() => checkWebhookUrl(url, false), url).toThrow(/内网/);
      expect(checkWebhookUrl(url, true)).toBeTruthy();
    }
    expect(isInternalAddress('8.8.8.8')).toBe(false);
    expect(isInternalAddress('2606:4700::1111')).toBe(false);
  });

  it('refuses to POST to an internal address at delivery time too', async () => {
    await expect(postJson('http://127.0.0.1:9/x', '{}', {}, 1000, false)).rejects.toBeInstanceOf(InternalAddressError);
    await expect(postJson('http://localhost:9/x', '{}', {}, 1000, false)).rejects.toBeInstanceOf(InternalAddressError);
  });
});
