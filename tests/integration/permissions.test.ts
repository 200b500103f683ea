import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, eventually, gql, login, userWithRole } from '../helpers/http.js';
import { hasPermission, PERMISSIONS, type Permission, type Role } from '../../src/auth/permissions.js';

let t: TestApp;
const tokens: Record<'admin' | 'user' | 'viewer', string> = { admin: '', user: '', viewer: '' };
let targetId: number;

beforeAll(async () => {
  t = await startTestApp();
  tokens.admin = (await login(t.url)).access_token;
  tokens.user = (await userWithRole(t.url, tokens.admin, 'user')).token;
  tokens.viewer = (await userWithRole(t.url, tokens.admin, 'viewer')).token;
  targetId = (await userWithRole(t.url, tokens.admin, 'user')).id;
});
afterAll(async () => {
  await t?.close();
});

describe('role → permission table (SPEC §3.2)', () => {
  const expected: Record<Role, Permission[]> = {
    admin: [...PERMISSIONS],
    user: ['view', 'scheduler_view'],
    viewer: [],
  };
  it.each(Object.entries(expected))('%s has exactly %j', (role, perms) => {
    for (const p of PERMISSIONS) expect(hasPermission({ id: 1, username: 'x', role: role as Role }, p), `${role}/${p}`).toBe(perms.includes(p));
  });
});

/** REST routes with the permission they require; later issues extend this table. */
const ROUTES: Array<{ method: string; path: () => string; perm: Permission; body?: unknown }> = [
  { method: 'GET', path: () => '/api/users', perm: 'view' },
  { method: 'GET', path: () => '/user-management/api/users', perm: 'view' },
  { method: 'GET', path: () => `/api/users/${targetId}`, perm: 'view' },
  { method: 'GET', path: () => '/api/users/stats', perm: 'view' },
  { method: 'POST', path: () => '/api/users', perm: 'create', body: { username: 'denied_user', password: 'Str0ngPass', role: 'user' } },
  { method: 'PUT', path: () => `/api/users/${targetId}`, perm: 'update', body: { role: 'viewer' } },
  { method: 'POST', path: () => `/api/users/${targetId}/toggle-status`, perm: 'update' },
  { method: 'DELETE', path: () => `/api/users/${targetId}`, perm: 'delete' },
  { method: 'DELETE', path: () => `/user-management/api/users/${targetId}`, perm: 'delete' },
  // Baselines, drift and the grant export (authorization comes before the instance lookup).
  { method: 'GET', path: () => '/api/instances/1/baseline', perm: 'view' },
  { method: 'GET', path: () => '/api/instances/1/drift', perm: 'view' },
  { method: 'GET', path: () => '/api/instances/1/drift.csv', perm: 'view' },
  { method: 'GET', path: () => '/api/instances/1/grants.txt', perm: 'view' },
  { method: 'GET', path: () => '/api/instances/1/grants?format=csv', perm: 'view' },
  { method: 'POST', path: () => '/api/instances/1/baseline', perm: 'update' },
  { method: 'POST', path: () => '/api/baselines', perm: 'update', body: { tag: 'prod' } },
  { method: 'POST', path: () => '/api/instances/1/drift/accept', perm: 'update', body: { items: [{ kind: 'extra_account', account: 'x' }] } },
];

describe('REST guards', () => {
  it.each(ROUTES.map((r) => [r.method, r.path.toString(), r] as const))('%s %s: anonymous 401, roles without the permission 403', async (_m, _p, r) => {
    const anon = await call(t.url, r.method, r.path(), { json: r.body });
    expect(anon.status).toBe(401);
    expect(anon.body).toMatchObject({ status: 'error', error: 'AuthenticationError', code: 401 });
    for (const role of ['user', 'viewer'] as const) {
      if (hasPermission({ id: 0, username: '', role }, r.perm)) continue;
      const denied = await call(t.url, r.method, r.path(), { token: tokens[role], json: r.body });
      expect(denied.status, `${role} ${r.method} ${r.path()}`).toBe(403);
      expect(denied.body).toMatchObject({ status: 'error', error: 'AuthorizationError', code: 403, details: { required_permission: r.perm } });
    }
  });

  it('lets a user with the permission through (view as user)', async () => {
    expect((await call(t.url, 'GET', '/api/users', { token: tokens.user })).status).toBe(200);
  });

  it('writes each denial to the unified log (WARNING, module decorators) with the reason', async () => {
    await call(t.url, 'DELETE', `/api/users/${targetId}`, { token: tokens.viewer });
    const row = await eventually(() =>
      t.app.deps.prisma.unifiedLog.findFirst({
        where: {
          module: 'decorators',
          level: 'WARNING',
          AND: [
            { context: { path: ['failure_reason'], equals: 'insufficient_permissions' } },
            { context: { path: ['permission_type'], equals: 'delete' } },
            { context: { path: ['user_role'], equals: 'viewer' } },
          ],
        },
      }),
    );
    expect(row.context).toMatchObject({ method: 'DELETE', path: `/api/users/${targetId}` });
  });
});

describe('GraphQL scopes', () => {
  const cases: Array<[string, string, Permission]> = [
    ['users', '{ users { totalCount } }', 'view'],
    ['userStats', '{ userStats { total } }', 'view'],
    ['createUser', 'mutation { createUser(input: { username: "gql_denied", password: "Str0ngPass" }) { id } }', 'create'],
    ['updateUser', `mutation { updateUser(id: "TARGET", input: { role: viewer }) { id } }`, 'update'],
    ['toggleUserStatus', `mutation { toggleUserStatus(id: "TARGET") { id } }`, 'update'],
    ['deleteUser', `mutation { deleteUser(id: "TARGET") }`, 'delete'],
  ];
  it.each(cases)('%s: anonymous UNAUTHENTICATED, roles without %s FORBIDDEN', async (_name, query, perm) => {
    const q = query.replace('TARGET', String(targetId));
    const anon = await gql(t.url, q);
    expect(anon.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    for (const role of ['user', 'viewer'] as const) {
      if (hasPermission({ id: 0, username: '', role }, perm)) continue;
      const res = await gql(t.url, q, {}, tokens[role]);
      expect(res.body.errors?.[0]?.extensions, `${role}`).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    }
  });

  it('me works for every signed-in role, even one without permissions', async () => {
    const res = await gql(t.url, '{ me { username role permissions } }', {}, tokens.viewer);
    expect(res.body.data.me).toMatchObject({ role: 'viewer', permissions: [] });
  });
});

/**
 * Object-level checks: every endpoint that takes an id answers 403 to a role without its permission
 * (before looking the object up, so even a nonexistent id is a 403: no existence oracle) and 404 to
 * a caller with the permission when the id does not exist.
 */
const MISSING = '999999';
const MISSING_UUID = '00000000-0000-4000-8000-000000000000';
const AC = '/account-classification';
const ID_ROUTES: Array<{ method: string; path: string; perm: Permission; body?: unknown }> = [
  { method: 'GET', path: `/api/users/${MISSING}`, perm: 'view' },
  { method: 'GET', path: `/user-management/api/users/${MISSING}`, perm: 'view' },
  { method: 'PUT', path: `/api/users/${MISSING}`, perm: 'update', body: { email: 'x@example.com' } },
  { method: 'DELETE', path: `/api/users/${MISSING}`, perm: 'delete' },
  { method: 'POST', path: `/api/users/${MISSING}/toggle-status`, perm: 'update' },
  { method: 'GET', path: `/api/credentials/${MISSING}`, perm: 'view' },
  { method: 'PUT', path: `/api/credentials/${MISSING}`, perm: 'update', body: { description: 'x' } },
  { method: 'POST', path: `/credentials/${MISSING}/edit`, perm: 'update', body: { description: 'x' } },
  { method: 'DELETE', path: `/api/credentials/${MISSING}`, perm: 'delete' },
  { method: 'POST', path: `/credentials/${MISSING}/delete`, perm: 'delete' },
  { method: 'POST', path: `/api/credentials/${MISSING}/toggle`, perm: 'update' },
  { method: 'GET', path: `/api/instances/${MISSING}`, perm: 'view' },
  { method: 'PUT', path: `/api/instances/${MISSING}`, perm: 'update', body: { description: 'x' } },
  { method: 'POST', path: `/instances/${MISSING}/edit`, perm: 'update', body: { description: 'x' } },
  { method: 'DELETE', path: `/api/instances/${MISSING}`, perm: 'delete' },
  { method: 'POST', path: `/instances/${MISSING}/delete`, perm: 'delete' },
  { method: 'POST', path: `/api/instances/${MISSING}/test`, perm: 'view' },
  { method: 'GET', path: `/instances/api/instances/${MISSING}/test`, perm: 'view' },
  { method: 'POST', path: `/api/instances/${MISSING}/sync`, perm: 'update' },
  { method: 'POST', path: `/account-list/sync/${MISSING}`, perm: 'update' },
  { method: 'GET', path: `/api/instances/${MISSING}/accounts`, perm: 'view' },
  { method: 'GET', path: `/api/accounts/${MISSING}`, perm: 'view' },
  { method: 'GET', path: `/api/accounts/${MISSING}/changes`, perm: 'view' },
  { method: 'GET', path: `/api/sessions/${MISSING_UUID}`, perm: 'view' },
  { method: 'POST', path: `/api/sessions/${MISSING_UUID}/cancel`, perm: 'update' },
  { method: 'GET', path: `/api/sessions/${MISSING_UUID}/error-logs`, perm: 'view' },
  { method: 'GET', path: '/api/jobs/no_such_job', perm: 'scheduler_view' },
  { method: 'PUT', path: '/api/jobs/no_such_job', perm: 'scheduler_manage', body: { name: 'x' } },
  { method: 'DELETE', path: '/api/jobs/no_such_job', perm: 'scheduler_manage' },
  { method: 'POST', path: '/api/jobs/no_such_job/enable', perm: 'scheduler_manage' },
  { method: 'POST', path: '/api/jobs/no_such_job/disable', perm: 'scheduler_manage' },
  { method: 'POST', path: '/api/jobs/no_such_job/pause', perm: 'scheduler_manage' },
  { method: 'POST', path: '/api/jobs/no_such_job/resume', perm: 'scheduler_manage' },
  { method: 'POST', path: '/api/jobs/no_such_job/run', perm: 'scheduler_manage' },
  { method: 'GET', path: '/api/jobs/no_such_job/runs', perm: 'scheduler_view' },
  { method: 'GET', path: `/api/detail/${MISSING}`, perm: 'view' },
  { method: 'GET', path: `${AC}/classifications/${MISSING}`, perm: 'view' },
  { method: 'PUT', path: `${AC}/classifications/${MISSING}`, perm: 'update', body: { description: 'x' } },
  { method: 'DELETE', path: `${AC}/classifications/${MISSING}`, perm: 'delete' },
  { method: 'GET', path: `${AC}/rules/${MISSING}`, perm: 'view' },
  { method: 'PUT', path: `${AC}/rules/${MISSING}`, perm: 'update', body: { rule_name: 'x' } },
  { method: 'DELETE', path: `${AC}/rules/${MISSING}`, perm: 'delete' },
  { method: 'GET', path: `${AC}/rules/${MISSING}/matched-accounts`, perm: 'view' },
  { method: 'DELETE', path: `${AC}/assignments/${MISSING}`, perm: 'delete' },
  { method: 'GET', path: `/api/batches/${MISSING_UUID}`, perm: 'view' },
  { method: 'GET', path: `/api/batches/${MISSING_UUID}/matches`, perm: 'view' },
  { method: 'GET', path: `${AC}/batches/${MISSING_UUID}/stats`, perm: 'view' },
];

describe('object-level checks on every id-taking REST endpoint', () => {
  it.each(ID_ROUTES.map((r) => [r.method, r.path, r] as const))('%s %s: 403 without the permission, 404 for a missing id', async (_m, _p, r) => {
    for (const role of ['user', 'viewer'] as const) {
      if (hasPermission({ id: 0, username: '', role }, r.perm)) continue;
      const denied = await call(t.url, r.method, r.path, { token: tokens[role], json: r.body });
      expect(denied.status, `${role}`).toBe(403);
      expect(denied.body).toMatchObject({ status: 'error', error: 'AuthorizationError', code: 403 });
    }
    const missing = await call(t.url, r.method, r.path, { token: tokens.admin, json: r.body });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 'error', error: 'ResourceNotFoundError', code: 404 });
  });
});

describe('object-level checks on every id-taking GraphQL field', () => {
  const U = '{ id }';
  const cases: Array<[string, Permission]> = [
    [`{ user(id: "${MISSING}") ${U} }`, 'view'],
    [`mutation { updateUser(id: "${MISSING}", input: { email: "x@example.com" }) ${U} }`, 'update'],
    [`mutation { deleteUser(id: "${MISSING}") }`, 'delete'],
    [`mutation { toggleUserStatus(id: "${MISSING}") ${U} }`, 'update'],
    [`{ credential(id: "${MISSING}") ${U} }`, 'view'],
    [`mutation { updateCredential(id: "${MISSING}", input: { description: "x" }) ${U} }`, 'update'],
    [`mutation { deleteCredential(id: "${MISSING}") }`, 'delete'],
    [`mutation { toggleCredential(id: "${MISSING}") ${U} }`, 'update'],
    [`{ instance(id: "${MISSING}") ${U} }`, 'view'],
    [`mutation { updateInstance(id: "${MISSING}", input: { description: "x" }) ${U} }`, 'update'],
    [`mutation { deleteInstance(id: "${MISSING}") }`, 'delete'],
    [`mutation { testInstanceConnection(id: "${MISSING}") { success } }`, 'view'],
    [`mutation { syncInstanceAccounts(instanceId: "${MISSING}") ${U} }`, 'update'],
    [`{ account(id: "${MISSING}") ${U} }`, 'view'],
    [`{ syncSession(id: "${MISSING_UUID}") ${U} }`, 'view'],
    [`mutation { cancelSyncSession(id: "${MISSING_UUID}") ${U} }`, 'update'],
    [`{ job(id: "no_such_job") ${U} }`, 'scheduler_view'],
    [`mutation { updateJob(id: "no_such_job", input: { name: "x" }) ${U} }`, 'scheduler_manage'],
    [`mutation { deleteJob(id: "no_such_job") }`, 'scheduler_manage'],
    [`mutation { runJob(id: "no_such_job") ${U} }`, 'scheduler_manage'],
    [`{ log(id: "${MISSING}") ${U} }`, 'view'],
    [`{ classification(id: "${MISSING}") ${U} }`, 'view'],
    [`mutation { deleteClassification(id: "${MISSING}") { deletedRules } }`, 'delete'],
    [`mutation { updateClassificationRule(id: "${MISSING}", ruleName: "x") ${U} }`, 'update'],
    [`mutation { deleteClassificationRule(id: "${MISSING}") }`, 'delete'],
    [`mutation { removeClassificationAssignment(id: "${MISSING}") }`, 'delete'],
    [`{ classificationBatch(id: "${MISSING_UUID}") ${U} }`, 'view'],
  ];
  it.each(cases)('%s: FORBIDDEN without %s, NOT_FOUND for a missing id', async (query, perm) => {
    for (const role of ['user', 'viewer'] as const) {
      if (hasPermission({ id: 0, username: '', role }, perm)) continue;
      const denied = await gql(t.url, query, {}, tokens[role]);
      expect(denied.body.errors?.[0]?.extensions, role).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    }
    const missing = await gql(t.url, query, {}, tokens.admin);
    expect(missing.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });
});

describe('mass assignment', () => {
  it('a non-admin cannot change its own or anyone’s role or status through any user endpoint', async () => {
    const self = await userWithRole(t.url, tokens.admin, 'user');
    const attempts = [
      () => call(t.url, 'PUT', `/api/users/${self.id}`, { token: self.token, json: { role: 'admin', is_active: true, status: 'active' } }),
      () => call(t.url, 'PUT', `/user-management/api/users/${targetId}`, { token: self.token, json: { is_active: false } }),
      () => call(t.url, 'POST', `/api/users/${targetId}/toggle-status`, { token: self.token }),
      () => call(t.url, 'POST', '/api/users', { token: self.token, json: { username: 'sneaky_admin', password: 'Str0ngPass', role: 'admin' } }),
      () => gql(t.url, `mutation { updateUser(id: "${self.id}", input: { role: admin }) { id } }`, {}, self.token),
      () => gql(t.url, `mutation { updateUser(id: "${targetId}", input: { isActive: false }) { id } }`, {}, self.token),
      () => gql(t.url, 'mutation { createUser(input: { username: "sneaky_gql", password: "Str0ngPass", role: admin }) { id } }', {}, self.token),
    ];
    for (const attempt of attempts) {
      const res = await attempt();
      if (res.body.errors) expect(res.body.errors[0].extensions.code).toBe('FORBIDDEN');
      else expect(res.status).toBe(403);
    }
    // Role and status fields sent to endpoints that do not take them are ignored.
    const relogin = await call(t.url, 'POST', '/auth/login', { json: { username: self.username, password: self.password, role: 'admin', is_active: true } });
    expect(relogin.body.data.user.role).toBe('user');
    const after = await call(t.url, 'GET', `/api/users/${self.id}`, { token: tokens.admin });
    expect(after.body.data).toMatchObject({ role: 'user', is_active: true });
    expect((await call(t.url, 'GET', `/api/users/${targetId}`, { token: tokens.admin })).body.data.is_active).toBe(true);
    expect(await t.app.deps.prisma.user.count({ where: { username: { in: ['sneaky_admin', 'sneaky_gql'] } } })).toBe(0);
  });

  it('fields outside the documented input (token_version, id, password hash, timestamps) are ignored, even from an admin', async () => {
    const u = await userWithRole(t.url, tokens.admin, 'viewer');
    const before = await t.app.deps.prisma.user.findUniqueOrThrow({ where: { id: u.id } });
    const res = await call(t.url, 'PUT', `/api/users/${u.id}`, {
      token: tokens.admin,
      json: { email: 'new@example.com', id: 1, token_version: 99, tokenVersion: 99, created_at: '2000-01-01T00:00:00Z', last_login: '2000-01-01T00:00:00Z' },
    });
    expect(res.status).toBe(200);
    const after = await t.app.deps.prisma.user.findUniqueOrThrow({ where: { id: u.id } });
    expect(after).toMatchObject({ id: u.id, email: 'new@example.com', tokenVersion: before.tokenVersion, password: before.password, createdAt: before.createdAt });
    expect((await call(t.url, 'GET', '/api/me', { token: u.token })).status).toBe(200); // tokens still valid
    // GraphQL inputs have no such fields at all: the document is refused.
    const gqlRes = await gql(t.url, `mutation { updateUser(id: "${u.id}", input: { tokenVersion: 5 }) { id } }`, {}, tokens.admin);
    expect(gqlRes.body.errors[0].message).toMatch(/tokenVersion/);
  });
});
