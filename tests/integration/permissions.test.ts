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
