import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, userWithRole } from '../helpers/http.js';

let t: TestApp;
let admin: string;
let adminId: number;
beforeAll(async () => {
  t = await startTestApp();
  const l = await login(t.url);
  admin = l.access_token;
  adminId = l.user.id;
});
afterAll(async () => {
  await t?.close();
});

const PATHS = ['/api/users', '/user-management/api/users'];

function expectError(res: { status: number; body: any }, status: number, type: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ status: 'error', success: false, error: type, code: status });
  expect(res.body.details).toBeTypeOf('object');
}

describe('user CRUD over REST', () => {
  it('creates, reads, updates, toggles and deletes a user at the flat and the upstream paths', async () => {
    for (const base of PATHS) {
      const name = `crud_${base.length}_${Date.now() % 100000}`;
      const created = await call(t.url, 'POST', base, {
        token: admin,
        json: { username: name, password: 'Str0ngPass', role: 'user', email: 'dba@example.com' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ status: 'success', message: '用户创建成功', data: { username: name, role: 'user', is_active: true, email: 'dba@example.com' } });
      expect(created.body.data).not.toHaveProperty('password');
      const id = created.body.data.id;

      const got = await call(t.url, 'GET', `${base}/${id}`, { token: admin });
      expect(got.body.data.username).toBe(name);

      const updated = await call(t.url, 'PUT', `${base}/${id}`, { token: admin, json: { role: 'viewer', username: `${name}_x` } });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ message: '用户更新成功', data: { role: 'viewer', username: `${name}_x` } });

      const toggled = await call(t.url, 'POST', `${base}/${id}/toggle-status`, { token: admin });
      expect(toggled.body).toMatchObject({ message: '用户禁用成功', data: { is_active: false } });
      const back = await call(t.url, 'POST', `${base}/${id}/toggle-status`, { token: admin });
      expect(back.body).toMatchObject({ message: '用户启用成功', data: { is_active: true } });

      const deleted = await call(t.url, 'DELETE', `${base}/${id}`, { token: admin });
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({ status: 'success', message: '用户删除成功', data: { id } });
      expectError(await call(t.url, 'GET', `${base}/${id}`, { token: admin }), 404, 'ResourceNotFoundError');
    }
  });

  it('changing a password lets the user log in with the new one and revokes old tokens', async () => {
    const u = await userWithRole(t.url, admin, 'user');
    const res = await call(t.url, 'PUT', `/api/users/${u.id}`, { token: admin, json: { password: 'N3wPassword' } });
    expect(res.status).toBe(200);
    expect((await call(t.url, 'GET', '/api/me', { token: u.token })).status).toBe(401);
    await login(t.url, u.username, 'N3wPassword');
    // An empty password in an edit keeps the current one.
    expect((await call(t.url, 'PUT', `/api/users/${u.id}`, { token: admin, json: { password: '' } })).status).toBe(200);
    await login(t.url, u.username, 'N3wPassword');
  });

  it('reports stats at both paths', async () => {
    for (const base of PATHS) {
      const res = await call(t.url, 'GET', `${base}/stats`, { token: admin });
      expect(res.status).toBe(200);
      const s = res.body.data;
      expect(s.total).toBe(s.active + s.inactive);
      expect(s.total).toBe(s.admin + s.user + s.viewer);
      const count = await t.app.deps.prisma.user.count();
      expect(s.total).toBe(count);
    }
  });
});

describe('user list: pagination, search and filters', () => {
  beforeAll(async () => {
    const rows = Array.from({ length: 45 }, (_, i) => ({
      username: `page_${String(i).padStart(2, '0')}`,
      password: 'x',
      role: i % 3 === 0 ? ('viewer' as const) : ('user' as const),
      isActive: i % 5 !== 0,
      createdAt: new Date(Date.UTC(2025, 0, 1 + i)),
    }));
    await t.app.deps.prisma.user.createMany({ data: rows });
  });

  it('returns the paginated envelope with defaults page 1 and per_page 20', async () => {
    const res = await call(t.url, 'GET', '/api/users', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    expect(Array.isArray(res.body.data)).toBe(true);
    expect(res.body.data).toHaveLength(20);
    const total = await t.app.deps.prisma.user.count();
    expect(res.body.pagination).toEqual({ page: 1, per_page: 20, total, pages: Math.ceil(total / 20) });
  });

  it('pages through search results in a stable order and returns an empty page past the end', async () => {
    const seen: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const res = await call(t.url, 'GET', `/api/users?search=page_&per_page=20&page=${page}&sort=username&order=asc`, { token: admin });
      expect(res.body.pagination).toMatchObject({ page, per_page: 20, total: 45, pages: 3 });
      seen.push(...res.body.data.map((u: any) => u.username));
    }
    expect(seen).toEqual(Array.from({ length: 45 }, (_, i) => `page_${String(i).padStart(2, '0')}`));
    const past = await call(t.url, 'GET', '/api/users?search=page_&page=9', { token: admin });
    expect(past.status).toBe(200);
    expect(past.body.data).toEqual([]);
    expect(past.body.pagination.total).toBe(45);
  });

  it('filters by role and status, as parameters and through filter=', async () => {
    const viewers = await call(t.url, 'GET', '/api/users?search=page_&role=viewer&per_page=100', { token: admin });
    expect(viewers.body.pagination.total).toBe(15);
    expect(viewers.body.data.every((u: any) => u.role === 'viewer')).toBe(true);
    const inactive = await call(t.url, 'GET', '/api/users?search=page_&status=inactive&per_page=100', { token: admin });
    expect(inactive.body.pagination.total).toBe(9);
    expect(inactive.body.data.every((u: any) => u.is_active === false)).toBe(true);
    const both = await call(t.url, 'GET', '/api/users?search=page_&filter=role:viewer,status:inactive&per_page=100', { token: admin });
    expect(both.body.data.map((u: any) => u.username).sort()).toEqual(['page_00', 'page_15', 'page_30']);
  });

  it('filters by creation date range (whole UTC days)', async () => {
    const res = await call(t.url, 'GET', '/api/users?search=page_&start_date=2025-01-02&end_date=2025-01-04&sort=created_at&order=asc', { token: admin });
    expect(res.body.data.map((u: any) => u.username)).toEqual(['page_01', 'page_02', 'page_03']);
    expect(res.body.data[0].created_at).toBe('2025-01-02T00:00:00.000Z');
  });

  it.each([
    ['per_page=101', 'per_page'],
    ['per_page=0', 'per_page'],
    ['per_page=abc', 'per_page'],
    ['page=0', 'page'],
    ['page=-1', 'page'],
    ['page=1.5', 'page'],
    ['sort=password', 'sort'],
    ['order=sideways', 'order'],
    ['role=root', 'role'],
    ['status=maybe', 'status'],
    ['filter=password:x', 'filter'],
    ['start_date=yesterday', 'start_date'],
    ['start_date=2025-02-01&end_date=2025-01-01', 'start_date'],
  ])('rejects %s with a 400 naming the parameter', async (qs, field) => {
    const res = await call(t.url, 'GET', `/api/users?${qs}`, { token: admin });
    expectError(res, 400, 'ValidationError');
    expect(res.body.details.errors.map((e: any) => e.field)).toContain(field);
  });
});

describe('user rules', () => {
  it('refuses a duplicate username with 409', async () => {
    const u = await userWithRole(t.url, admin, 'user');
    const res = await call(t.url, 'POST', '/api/users', { token: admin, json: { username: u.username, password: 'Str0ngPass', role: 'user' } });
    expectError(res, 409, 'ConflictError');
    const other = await userWithRole(t.url, admin, 'user');
    const rename = await call(t.url, 'PUT', `/api/users/${other.id}`, { token: admin, json: { username: u.username } });
    expectError(rename, 409, 'ConflictError');
  });

  it.each([
    ['Sh0rt', '密码长度至少8位'],
    ['alllowercase1', '密码必须包含大写字母'],
    ['ALLUPPERCASE1', '密码必须包含小写字母'],
    ['NoDigitsHere', '密码必须包含数字'],
  ])('enforces the password policy: %s', async (password, message) => {
    const res = await call(t.url, 'POST', '/api/users', { token: admin, json: { username: `pw_${Math.random().toString(36).slice(2, 8)}`, password, role: 'user' } });
    expectError(res, 400, 'ValidationError');
    expect(res.body.message).toContain(message);
  });

  it('refuses to delete or disable yourself', async () => {
    const del = await call(t.url, 'DELETE', `/api/users/${adminId}`, { token: admin });
    expectError(del, 422, 'ValidationError');
    expect(del.body.message).toBe('不能删除自己的账户');
    const toggle = await call(t.url, 'POST', `/api/users/${adminId}/toggle-status`, { token: admin });
    expectError(toggle, 422, 'ValidationError');
    const update = await call(t.url, 'PUT', `/api/users/${adminId}`, { token: admin, json: { is_active: false } });
    expectError(update, 422, 'ValidationError');
  });

  it('never leaves the platform without an active admin', async () => {
    const b = await userWithRole(t.url, admin, 'admin');
    // A (admin) disables B: A is now the last active admin and cannot demote itself.
    expect((await call(t.url, 'POST', `/api/users/${b.id}/toggle-status`, { token: admin })).body.data.is_active).toBe(false);
    const demote = await call(t.url, 'PUT', `/api/users/${adminId}`, { token: admin, json: { role: 'user' } });
    expectError(demote, 422, 'ValidationError');
    expect(demote.body.message).toBe('不能降级最后一个管理员账户');
    // With B active again, A may step down; then B is the last admin and cannot step down.
    expect((await call(t.url, 'POST', `/api/users/${b.id}/toggle-status`, { token: admin })).status).toBe(200);
    expect((await call(t.url, 'PUT', `/api/users/${adminId}`, { token: admin, json: { role: 'user' } })).status).toBe(200);
    const forbidden = await call(t.url, 'GET', '/api/users/stats', { token: admin });
    expect(forbidden.status).toBe(200); // a 'user' still has view
    expectError(await call(t.url, 'POST', '/api/users', { token: admin, json: { username: 'nope_user', password: 'Str0ngPass' } }), 403, 'AuthorizationError');
    const bToken = (await login(t.url, b.username, b.password)).access_token;
    const bDown = await call(t.url, 'PUT', `/api/users/${b.id}`, { token: bToken, json: { role: 'viewer' } });
    expectError(bDown, 422, 'ValidationError');
    // Restore: B promotes A again, A deletes B.
    expect((await call(t.url, 'PUT', `/api/users/${adminId}`, { token: bToken, json: { role: 'admin' } })).status).toBe(200);
    expect((await call(t.url, 'DELETE', `/api/users/${b.id}`, { token: admin })).status).toBe(200);
    expect((await call(t.url, 'GET', '/api/me', { token: bToken })).status).toBe(401);
  });

  it('lets only one of two admins disabling each other at the same time succeed', async () => {
    const a2 = await userWithRole(t.url, admin, 'admin');
    const a3 = await userWithRole(t.url, admin, 'admin');
    // Make a2 and a3 the only active admins besides `admin`, then remove `admin` from the picture
    // by having them race to disable each other while `admin` is demoted.
    expect((await call(t.url, 'PUT', `/api/users/${adminId}`, { token: a2.token, json: { role: 'user' } })).status).toBe(200);
    const [r1, r2] = await Promise.all([
      call(t.url, 'POST', `/api/users/${a3.id}/toggle-status`, { token: a2.token }),
      call(t.url, 'POST', `/api/users/${a2.id}/toggle-status`, { token: a3.token }),
    ]);
    const statuses = [r1.status, r2.status].sort();
    // One wins (200); the other is refused: either as the last active admin (422) or because its
    // own token was revoked a moment earlier (401).
    expect(statuses[0]).toBe(200);
    expect([401, 422]).toContain(statuses[1]);
    expect(await t.app.deps.prisma.user.count({ where: { role: 'admin', isActive: true } })).toBe(1);
    // Restore `admin` as an admin.
    const survivor = r1.status === 200 ? a2 : a3;
    expect((await call(t.url, 'PUT', `/api/users/${adminId}`, { token: survivor.token, json: { role: 'admin' } })).status).toBe(200);
  });
});

describe('bad input on every users endpoint', () => {
  const cases: Array<[string, string, unknown, number]> = [
    ['GET', '/api/users/abc', undefined, 400],
    ['GET', '/api/users/0', undefined, 400],
    ['GET', '/api/users/99999999999999999999', undefined, 400],
    ['GET', '/api/users/999999', undefined, 404],
    ['PUT', '/api/users/abc', { role: 'user' }, 400],
    ['PUT', '/api/users/999999', { role: 'user' }, 404],
    ['DELETE', '/api/users/-5', undefined, 400],
    ['DELETE', '/api/users/999999', undefined, 404],
    ['POST', '/api/users/abc/toggle-status', undefined, 400],
    ['POST', '/api/users/999999/toggle-status', undefined, 404],
    ['POST', '/api/users', { username: 'ab', password: 'Str0ngPass', role: 'user' }, 400],
    ['POST', '/api/users', { username: 'has space', password: 'Str0ngPass', role: 'user' }, 400],
    ['POST', '/api/users', { username: 'okname', password: 12345678, role: 'user' }, 400],
    ['POST', '/api/users', { username: 'okname', password: 'Str0ngPass', role: 'superuser' }, 400],
    ['POST', '/api/users', { username: 'okname', password: 'Str0ngPass', email: 'not-an-email' }, 400],
    ['POST', '/api/users', { username: 'okname', password: 'Str0ngPass', is_active: 'perhaps' }, 400],
    ['POST', '/api/users', ['okname'], 400],
    ['POST', '/api/users', 'just a string', 400],
    ['PUT', '/api/users/1', { role: 42 }, 400],
    ['PUT', '/api/users/1', { username: { $ne: null } }, 400],
  ];
  it.each(cases)('%s %s %j → %i', async (method, path, json, status) => {
    const res = await call(t.url, method, path, { token: admin, json });
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.status).toBe('error');
  });

  it('answers malformed JSON with 400 and an oversized body with 413, in the envelope', async () => {
    const bad = await call(t.url, 'POST', '/api/users', { token: admin, raw: '{"username": ' });
    expectError(bad, 400, 'ValidationError');
    const huge = await call(t.url, 'POST', '/api/users', { token: admin, raw: JSON.stringify({ username: 'x'.repeat(2_000_000) }) });
    expect(huge.status).toBe(413);
    expect(huge.body.status).toBe('error');
  });

  it('answers unknown routes with a 404 envelope', async () => {
    expectError(await call(t.url, 'GET', '/api/no-such-thing', { token: admin }), 404, 'ResourceNotFoundError');
  });
});

describe('users over GraphQL', () => {
  it('lists users as a connection with cursors, and pages with first/after', async () => {
    const first = await gql(t.url, '{ users(first: 5, search: "page_", sort: "username", order: asc) { totalCount edges { cursor node { id username } } pageInfo { hasNextPage endCursor page perPage } } }', {}, admin);
    expect(first.body.errors).toBeUndefined();
    const c = first.body.data.users;
    expect(c.totalCount).toBe(45);
    expect(c.edges.map((e: any) => e.node.username)).toEqual(['page_00', 'page_01', 'page_02', 'page_03', 'page_04']);
    expect(c.pageInfo).toMatchObject({ hasNextPage: true, page: 1, perPage: 5 });
    const next = await gql(t.url, 'query N($a: String) { users(first: 5, after: $a, search: "page_", sort: "username", order: asc) { edges { node { username } } pageInfo { hasPreviousPage } } }', { a: c.pageInfo.endCursor }, admin);
    expect(next.body.data.users.edges[0].node.username).toBe('page_05');
    expect(next.body.data.users.pageInfo.hasPreviousPage).toBe(true);
    expect(typeof c.edges[0].node.id).toBe('string');
    expect(Number(c.edges[0].node.id)).toBeGreaterThan(0);
  });

  it('creates, updates, toggles and deletes with the same rules as REST', async () => {
    const created = await gql(t.url, 'mutation C($i: CreateUserInput!) { createUser(input: $i) { id username role isActive } }', { i: { username: 'gql_user', password: 'Str0ngPass', role: 'user' } }, admin);
    expect(created.body.errors).toBeUndefined();
    const id = created.body.data.createUser.id;
    const dup = await gql(t.url, 'mutation C($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { username: 'gql_user', password: 'Str0ngPass' } }, admin);
    expect(dup.body.errors[0].extensions).toMatchObject({ code: 'CONFLICT', status: 409 });
    const weak = await gql(t.url, 'mutation C($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { username: 'gql_weak', password: 'weak' } }, admin);
    expect(weak.body.errors[0].extensions.code).toBe('VALIDATION_FAILED');
    expect(weak.body.errors[0].extensions.details.errors[0].field).toBe('password');
    const upd = await gql(t.url, 'mutation U($id: ID!) { updateUser(id: $id, input: { role: viewer }) { role } }', { id }, admin);
    expect(upd.body.data.updateUser.role).toBe('viewer');
    const tog = await gql(t.url, 'mutation T($id: ID!) { toggleUserStatus(id: $id) { isActive } }', { id }, admin);
    expect(tog.body.data.toggleUserStatus.isActive).toBe(false);
    const self = await gql(t.url, 'mutation D($id: ID!) { deleteUser(id: $id) }', { id: String(adminId) }, admin);
    expect(self.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 422 });
    const del = await gql(t.url, 'mutation D($id: ID!) { deleteUser(id: $id) }', { id }, admin);
    expect(del.body.data.deleteUser).toBe(id);
    const gone = await gql(t.url, 'query G($id: ID!) { user(id: $id) { id } }', { id }, admin);
    expect(gone.body.errors[0].extensions.code).toBe('NOT_FOUND');
    const badId = await gql(t.url, '{ user(id: "abc") { id } }', {}, admin);
    expect(badId.body.errors[0].extensions.code).toBe('VALIDATION_FAILED');
    const tooMany = await gql(t.url, '{ users(perPage: 101) { totalCount } }', {}, admin);
    expect(tooMany.body.errors[0].extensions.code).toBe('VALIDATION_FAILED');
  });

  it('records user changes in the unified log with the acting user', async () => {
    await call(t.url, 'POST', '/api/users', { token: admin, json: { username: 'audited_user', password: 'Str0ngPass', role: 'user' } });
    await t.app.deps.logSink.flush();
    const row = await t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'users', message: '用户创建成功', context: { path: ['username'], equals: 'audited_user' } } });
    expect(row).not.toBeNull();
    expect(row!.userId).toBe(adminId);
    expect(row!.requestId).toBeTruthy();
    expect(JSON.stringify(row!.context)).not.toContain('Str0ngPass');
  });
});

describe('malformed requests', () => {
  it('answers a badly encoded path parameter with a 400 envelope, not a 500', async () => {
    const res = await call(t.url, 'GET', '/api/users/%E0%A4%A', { token: admin });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'error', error: 'ValidationError' });
  });
});
