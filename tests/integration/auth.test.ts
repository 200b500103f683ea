import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, ADMIN_PASSWORD, type TestApp } from '../helpers/test-app.js';
import { call, eventually, gql, login, userWithRole } from '../helpers/http.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

function expectErrorEnvelope(body: any, type: string, code: number) {
  expect(body).toMatchObject({ status: 'error', success: false, error: type, code });
  expect(typeof body.message).toBe('string');
  expect(body.message.length).toBeGreaterThan(0);
  expect(body.details).toBeTypeOf('object');
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
}

describe('POST /auth/login', () => {
  it('returns both tokens and the user in the documented success envelope', async () => {
    const res = await call(t.url, 'POST', '/auth/login', { json: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', message: '登录成功' });
    expect(res.body.data).toMatchObject({ token_type: 'Bearer', expires_in: 3600, user: { username: 'admin', role: 'admin', is_active: true } });
    expect(res.body.data.access_token).toMatch(/^ey/);
    expect(res.body.data.refresh_token).toMatch(/^ey/);
    expect(res.body.data.user).not.toHaveProperty('password');
    expect(res.body.data.user.last_login).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
  });

  it('rejects a wrong password with 401 AuthenticationError and logs the failure without the password', async () => {
    const res = await call(t.url, 'POST', '/auth/login', { json: { username: 'admin', password: 'Wrong-Secret-123' } });
    expect(res.status).toBe(401);
    expectErrorEnvelope(res.body, 'AuthenticationError', 401);
    expect(res.body.message).toBe('用户名或密码错误');
    const row = await eventually(async () => {
      const r = await t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'auth', level: 'WARNING', message: { contains: '登录失败' } } });
      return r;
    });
    expect(row.context).toMatchObject({ username: 'admin', event: 'login_failed' });
    const leaked = await t.app.deps.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM unified_logs WHERE context::text LIKE '%Wrong-Secret-123%' OR message LIKE '%Wrong-Secret-123%'`;
    expect(Number(leaked[0]!.n)).toBe(0);
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const res = await call(t.url, 'POST', '/auth/login', { json: { username: 'nobody_here', password: 'Whatever123' } });
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('用户名或密码错误');
  });

  it('writes a success entry with module auth to the unified log', async () => {
    await login(t.url);
    const row = await eventually(() => t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'auth', message: '用户登录成功' } }));
    expect(row.level).toBe('INFO');
    expect(JSON.stringify(row.context)).not.toContain(ADMIN_PASSWORD);
  });

  it.each([
    ['missing fields', { json: {} }],
    ['a number as username', { json: { username: 42, password: 'x' } }],
    ['an empty password', { json: { username: 'admin', password: '' } }],
    ['a JSON array body', { json: [1, 2] }],
    ['malformed JSON', { raw: '{"username": "admin", ' }],
  ])('rejects %s with a 400 ValidationError envelope', async (_name, opts) => {
    const res = await call(t.url, 'POST', '/auth/login', opts as never);
    expect(res.status).toBe(400);
    expectErrorEnvelope(res.body, 'ValidationError', 400);
  });

  it('accepts a form-encoded login as upstream clients send it', async () => {
    const res = await call(t.url, 'POST', '/auth/login', {
      raw: `username=admin&password=${ADMIN_PASSWORD}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
  });
});

describe('tokens', () => {
  it('GET /api/me and /auth/api/me return the current user for an access token', async () => {
    const { access_token } = await login(t.url);
    for (const path of ['/api/me', '/auth/api/me']) {
      const res = await call(t.url, 'GET', path, { token: access_token });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ username: 'admin', role: 'admin', is_active: true });
      expect(res.body.data.permissions).toContain('admin');
    }
  });

  it('POST /api/refresh and /auth/api/refresh mint a working access token and the next refresh token', async () => {
    let { refresh_token } = await login(t.url);
    for (const path of ['/api/refresh', '/auth/api/refresh']) {
      const res = await call(t.url, 'POST', path, { token: refresh_token });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
      expect(res.body.data.refresh_token).not.toBe(refresh_token);
      const me = await call(t.url, 'GET', '/api/me', { token: res.body.data.access_token });
      expect(me.status).toBe(200);
      refresh_token = res.body.data.refresh_token;
    }
  });

  it('does not accept a refresh token as an access token', async () => {
    const { refresh_token } = await login(t.url);
    const res = await call(t.url, 'GET', '/api/me', { token: refresh_token });
    expect(res.status).toBe(401);
    expectErrorEnvelope(res.body, 'AuthenticationError', 401);
    expect(res.body.details.reason).toBe('wrong_token_type');
  });

  it('does not accept an access token as a refresh token', async () => {
    const { access_token } = await login(t.url);
    const res = await call(t.url, 'POST', '/api/refresh', { token: access_token });
    expect(res.status).toBe(401);
    expect(res.body.details.reason).toBe('wrong_token_type');
  });

  it('rejects forged, expired, algorithm-none and garbage tokens', async () => {
    const forged = jwt.sign({ typ: 'access', ver: 0 }, 'another-secret-another-secret-12345', { subject: '1', issuer: 'whalefall' });
    const expired = jwt.sign({ typ: 'access', ver: 0 }, 'test-secret-that-is-long-enough-0123456789', {
      subject: '1',
      issuer: 'whalefall',
      expiresIn: -10,
    });
    const none = jwt.sign({ typ: 'access', ver: 0, sub: '1', iss: 'whalefall' }, '', { algorithm: 'none' });
    for (const [token, reason] of [
      [forged, 'token_invalid'],
      [expired, 'token_expired'],
      [none, 'token_invalid'],
      ['not.a.jwt', 'token_invalid'],
    ] as const) {
      const res = await call(t.url, 'GET', '/api/me', { token });
      expect(res.status, token).toBe(401);
      expect(res.body.details.reason).toBe(reason);
    }
  });

  it('answers 401 with the envelope when no token is sent', async () => {
    const res = await call(t.url, 'GET', '/api/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expectErrorEnvelope(res.body, 'AuthenticationError', 401);
  });
});

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const FAMILY = '3f1f6c1e-8a47-4b0e-9c55-1d2f3a4b5c6d';

describe('token validation', () => {
  /** A token exactly like the gateway's (HS256, iss, sub, typ, ver, fam, jti, exp), with `override`s. */
  function craft(typ: 'access' | 'refresh', opts: jwt.SignOptions = {}, secret = SECRET) {
    return jwt.sign({ typ, ver: 0, fam: FAMILY }, secret, { subject: '1', issuer: 'whalefall', expiresIn: 600, jwtid: '7d1e2b8a-2f3c-4d5e-8f90-1a2b3c4d5e6f', ...opts });
  }
  const header = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

  type Typ = 'access' | 'refresh';
  it.each([
    ['alg none', (typ: Typ) => `${header({ alg: 'none', typ: 'JWT' })}.${craft(typ).split('.')[1]}.`, 'token_invalid'],
    ['HS512 with the right secret', (typ: Typ) => craft(typ, { algorithm: 'HS512' }), 'token_invalid'],
    ['a wrong secret', (typ: Typ) => craft(typ, {}, 'another-secret-another-secret-12345'), 'token_invalid'],
    ['an expired token', (typ: Typ) => craft(typ, { expiresIn: -60 }), 'token_expired'],
    ['a not-yet-valid token (nbf in the future)', (typ: Typ) => craft(typ, { notBefore: 3600 }), 'token_not_yet_valid'],
    ['no expiry at all', (typ: Typ) => jwt.sign({ typ, ver: 0, fam: FAMILY }, SECRET, { subject: '1', issuer: 'whalefall', jwtid: 'x' }), 'token_invalid'],
  ] as const)('refuses %s as access token (REST, GraphQL) and as refresh token', async (_name, make, reason) => {
    const access = make('access');
    const rest = await call(t.url, 'GET', '/api/me', { token: access });
    expect(rest.status).toBe(401);
    expect(rest.body.details.reason).toBe(reason);
    const graphql = await gql(t.url, '{ me { id } }', {}, access);
    expect(graphql.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason } });
    const refreshed = await call(t.url, 'POST', '/api/refresh', { token: make('refresh') });
    expect(refreshed.status).toBe(401);
    expect(refreshed.body.details.reason).toBe(reason);
  });

  it('refuses a well-signed refresh token whose session the gateway never issued', async () => {
    const res = await call(t.url, 'POST', '/api/refresh', { token: craft('refresh') });
    expect(res.status).toBe(401);
    expect(res.body.details.reason).toBe('token_revoked');
  });
});

describe('refresh-token rotation and login sessions', () => {
  it('rotates on every use: each refresh answers a new pair in the same session, and all of them work', async () => {
    const first = await login(t.url);
    const r1 = await call(t.url, 'POST', '/api/refresh', { token: first.refresh_token });
    expect(r1.status).toBe(200);
    const r2 = await call(t.url, 'POST', '/api/refresh', { json: { refresh_token: r1.body.data.refresh_token } });
    expect(r2.status).toBe(200);
    const g = await gql(t.url, 'mutation R($t: String) { refresh(refreshToken: $t) { accessToken refreshToken } }', { t: r2.body.data.refresh_token });
    expect(g.body.errors).toBeUndefined();
    const family = (jwt.decode(first.refresh_token) as { fam: string }).fam;
    for (const token of [r1.body.data.refresh_token, r2.body.data.refresh_token, g.body.data.refresh.refreshToken]) {
      expect((jwt.decode(token) as { fam: string }).fam).toBe(family);
    }
    for (const access of [first.access_token, r1.body.data.access_token, g.body.data.refresh.accessToken]) {
      expect((await call(t.url, 'GET', '/api/me', { token: access })).status).toBe(200);
    }
    const used = await t.app.deps.prisma.refreshToken.count({ where: { familyId: family, usedAt: { not: null } } });
    expect(used).toBe(3);
  });

  it('revokes the whole session when a spent refresh token is presented again, and logs it', async () => {
    const other = await login(t.url); // another session of the same user: unaffected
    const s = await login(t.url);
    const rotated = await call(t.url, 'POST', '/api/refresh', { token: s.refresh_token });
    expect(rotated.status).toBe(200);
    const { access_token: newAccess, refresh_token: newRefresh } = rotated.body.data;

    const replay = await call(t.url, 'POST', '/api/refresh', { token: s.refresh_token });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'AuthenticationError', details: { reason: 'token_reused' } });

    // Everything of that session stops working: the newest refresh token, and its access tokens.
    const next = await call(t.url, 'POST', '/api/refresh', { token: newRefresh });
    expect(next.status).toBe(401);
    expect(next.body.details.reason).toBe('token_revoked');
    for (const access of [newAccess, s.access_token]) {
      const me = await call(t.url, 'GET', '/api/me', { token: access });
      expect(me.status).toBe(401);
      expect(me.body.details.reason).toBe('token_revoked');
    }
    expect((await call(t.url, 'GET', '/api/me', { token: other.access_token })).status).toBe(200);
    expect((await call(t.url, 'POST', '/api/refresh', { token: other.refresh_token })).status).toBe(200);

    const family = (jwt.decode(s.refresh_token) as { fam: string }).fam;
    const row = await eventually(() =>
      t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'auth', level: 'WARNING', context: { path: ['family_id'], equals: family } } }),
    );
    expect(row.context).toMatchObject({ event: 'refresh_token_reuse', username: 'admin' });
    expect(JSON.stringify(row)).not.toContain(s.refresh_token.split('.')[2]!);
    expect(await t.app.deps.prisma.refreshTokenFamily.findUnique({ where: { id: family } })).toMatchObject({ revokedReason: 'reuse' });
  });

  it('logout ends the session of the presented token (REST and GraphQL), idempotently, and only that session', async () => {
    const other = await login(t.url);
    const s = await login(t.url);
    const out = await call(t.url, 'POST', '/auth/logout', { token: s.access_token });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ status: 'success', message: '登出成功' });
    expect((await call(t.url, 'GET', '/api/me', { token: s.access_token })).status).toBe(401);
    const refreshed = await call(t.url, 'POST', '/api/refresh', { token: s.refresh_token });
    expect(refreshed.status).toBe(401);
    expect(refreshed.body.details.reason).toBe('token_revoked');
    expect((await call(t.url, 'GET', '/auth/logout', { token: s.access_token })).status).toBe(200); // again: still fine
    expect((await call(t.url, 'GET', '/api/me', { token: other.access_token })).status).toBe(200);

    // GraphQL, by refresh token (an access token that has expired cannot name the session).
    const g = await gql(t.url, 'mutation L($t: String) { logout(refreshToken: $t) }', { t: other.refresh_token });
    expect(g.body.data.logout).toBe(true);
    expect((await call(t.url, 'GET', '/api/me', { token: other.access_token })).status).toBe(401);
    expect((await call(t.url, 'POST', '/api/refresh', { token: other.refresh_token })).status).toBe(401);

    const anonymous = await call(t.url, 'POST', '/auth/logout');
    expect(anonymous.status).toBe(401);
  });

  it('a password change revokes the user’s access and refresh tokens', async () => {
    const admin = await login(t.url);
    const u = await userWithRole(t.url, admin.access_token, 'user');
    const changed = await call(t.url, 'PUT', `/api/users/${u.id}`, { token: admin.access_token, json: { password: 'N3wPassword' } });
    expect(changed.status).toBe(200);
    const me = await call(t.url, 'GET', '/api/me', { token: u.token });
    expect(me.status).toBe(401);
    expect(me.body.details.reason).toBe('token_revoked');
    expect((await call(t.url, 'POST', '/api/refresh', { token: u.refresh })).status).toBe(401);
    const families = await t.app.deps.prisma.refreshTokenFamily.findMany({ where: { userId: u.id } });
    expect(families.every((f) => f.revokedReason === 'password_changed')).toBe(true);
    expect((await call(t.url, 'POST', '/auth/login', { json: { username: u.username, password: 'N3wPassword' } })).status).toBe(200);
  });

  it('deletes finished sessions (expired) when their user logs in again', async () => {
    const admin = await login(t.url);
    const u = await userWithRole(t.url, admin.access_token, 'viewer');
    const past = new Date(Date.now() - 60_000);
    await t.app.deps.prisma.refreshTokenFamily.create({
      data: { id: '0b0e5a52-96a4-4c1b-8d9e-0f1e2d3c4b5a', userId: u.id, expiresAt: past, tokens: { create: { id: '1c1e5a52-96a4-4c1b-8d9e-0f1e2d3c4b5a', expiresAt: past } } },
    });
    await login(t.url, u.username, u.password);
    expect(await t.app.deps.prisma.refreshTokenFamily.findUnique({ where: { id: '0b0e5a52-96a4-4c1b-8d9e-0f1e2d3c4b5a' } })).toBeNull();
    expect(await t.app.deps.prisma.refreshToken.findUnique({ where: { id: '1c1e5a52-96a4-4c1b-8d9e-0f1e2d3c4b5a' } })).toBeNull();
    expect(await t.app.deps.prisma.refreshTokenFamily.count({ where: { userId: u.id } })).toBe(2); // the two live logins
  });
});

describe('disabled users', () => {
  it('cannot log in, and their existing access and refresh tokens stop working', async () => {
    const admin = await login(t.url);
    const u = await userWithRole(t.url, admin.access_token, 'user');
    expect((await call(t.url, 'GET', '/api/me', { token: u.token })).status).toBe(200);

    const toggled = await call(t.url, 'POST', `/api/users/${u.id}/toggle-status`, { token: admin.access_token });
    expect(toggled.status).toBe(200);
    expect(toggled.body.data.is_active).toBe(false);

    const me = await call(t.url, 'GET', '/api/me', { token: u.token });
    expect(me.status).toBe(401);
    const refreshed = await call(t.url, 'POST', '/api/refresh', { token: u.refresh });
    expect(refreshed.status).toBe(401);
    const relogin = await call(t.url, 'POST', '/auth/login', { json: { username: u.username, password: u.password } });
    expect(relogin.status).toBe(403);
    expectErrorEnvelope(relogin.body, 'AuthorizationError', 403);
    expect(relogin.body.message).toBe('账户已被禁用');

    // Re-enabled: the old tokens stay revoked, a new login works.
    await call(t.url, 'POST', `/api/users/${u.id}/toggle-status`, { token: admin.access_token });
    expect((await call(t.url, 'GET', '/api/me', { token: u.token })).status).toBe(401);
    expect((await call(t.url, 'POST', '/auth/login', { json: { username: u.username, password: u.password } })).status).toBe(200);
  });
});

describe('GraphQL auth', () => {
  it('login, me and refresh work through GraphQL', async () => {
    const res = await gql(t.url, `mutation L($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken tokenType user { id username role } } }`, {
      u: 'admin',
      p: ADMIN_PASSWORD,
    });
    expect(res.body.errors).toBeUndefined();
    const { accessToken, refreshToken, user } = res.body.data.login;
    expect(user).toMatchObject({ username: 'admin', role: 'admin' });
    const me = await gql(t.url, '{ me { id username role permissions } }', {}, accessToken);
    expect(me.body.data.me).toMatchObject({ username: 'admin', role: 'admin' });
    expect(me.body.data.me.permissions).toContain('scheduler_manage');
    const r = await gql(t.url, 'mutation R($t: String) { refresh(refreshToken: $t) { accessToken expiresIn } }', { t: refreshToken });
    expect(r.body.data.refresh.expiresIn).toBe(3600);
    const bad = await gql(t.url, 'mutation R($t: String) { refresh(refreshToken: $t) { accessToken } }', { t: accessToken });
    expect(bad.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', type: 'AuthenticationError', status: 401 });
  });

  it('reports a failed login as UNAUTHENTICATED', async () => {
    const res = await gql(t.url, `mutation { login(username: "admin", password: "nope-Nope-1") { accessToken } }`);
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0]).toMatchObject({ message: '用户名或密码错误', extensions: { code: 'UNAUTHENTICATED' } });
  });
});

describe('login rate limit', () => {
  it('answers 429 with Retry-After and the error envelope after too many attempts for one username', async () => {
    const limited = await startTestApp({ LOGIN_RATE_LIMIT_PER_USER: '3', LOGIN_RATE_LIMIT_PER_IP: '1000' });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await call(limited.url, 'POST', '/auth/login', { json: { username: 'admin', password: 'Bad-pass-1' } });
        expect(r.status).toBe(401);
      }
      const blocked = await call(limited.url, 'POST', '/auth/login', { json: { username: 'admin', password: ADMIN_PASSWORD } });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expectErrorEnvelope(blocked.body, 'RateLimitError', 429);
      // Another username from the same client is not affected by the per-username limit.
      const other = await call(limited.url, 'POST', '/auth/login', { json: { username: 'someone', password: 'Bad-pass-1' } });
      expect(other.status).toBe(401);
      // GraphQL shares the limiter.
      const g = await gql(limited.url, `mutation { login(username: "admin", password: "Bad-pass-1") { accessToken } }`);
      expect(g.status).toBe(429);
      expect(g.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    } finally {
      await limited.close();
    }
  });

  it('limits attempts per client IP across usernames', async () => {
    const limited = await startTestApp({ LOGIN_RATE_LIMIT_PER_USER: '1000', LOGIN_RATE_LIMIT_PER_IP: '2' });
    try {
      expect((await call(limited.url, 'POST', '/auth/login', { json: { username: 'a1', password: 'x' } })).status).toBe(401);
      expect((await call(limited.url, 'POST', '/auth/login', { json: { username: 'a2', password: 'x' } })).status).toBe(401);
      const blocked = await call(limited.url, 'POST', '/auth/login', { json: { username: 'a3', password: 'x' } });
      expect(blocked.status).toBe(429);
      expect(blocked.headers.get('retry-after')).toBeTruthy();
    } finally {
      await limited.close();
    }
  });
});

describe('live connections follow their login', () => {
  /** A graphql-ws connection with one live subscription; `closed` settles with the close code and reason. */
  async function liveConnection(token: string) {
    const ws = new WebSocket(t.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const acked = new Promise((resolve) => ws.once('message', resolve));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    expect(JSON.parse(String(await acked))).toEqual({ type: 'connection_ack' });
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { logStream(module: "nothing_here") { dropped } }' } }));
    return { ws, closed };
  }
  const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<'still open'>((r) => setTimeout(() => r('still open'), ms))]);

  it('logout closes the connections of that login session only (4403)', async () => {
    const ended = await login(t.url);
    const kept = await login(t.url);
    const a = await liveConnection(ended.access_token);
    const b = await liveConnection(kept.access_token);
    expect((await call(t.url, 'POST', '/auth/logout', { token: ended.access_token })).status).toBe(200);
    expect(await within(a.closed, 5000)).toEqual({ code: 4403, reason: '令牌已失效，请重新登录' });
    expect(await within(b.closed, 500)).toBe('still open');
    b.ws.close();
  });

  it('disabling the user, changing their password or lowering their role closes their connections', async () => {
    const admin = (await login(t.url)).access_token;
    const u = await userWithRole(t.url, admin, 'user');
    const c1 = await liveConnection(u.token);
    expect((await call(t.url, 'PUT', `/api/users/${u.id}`, { token: admin, json: { role: 'viewer' } })).status).toBe(200);
    expect(await within(c1.closed, 5000)).toEqual({ code: 4403, reason: '角色已变更，请重新连接' });

    const fresh = await login(t.url, u.username, u.password);
    const c2 = await liveConnection(fresh.access_token);
    expect((await call(t.url, 'PUT', `/api/users/${u.id}`, { token: admin, json: { password: 'An0ther-Passw0rd' } })).status).toBe(200);
    expect((await within(c2.closed, 5000) as { code: number }).code).toBe(4403);

    const again = await login(t.url, u.username, 'An0ther-Passw0rd');
    const c3 = await liveConnection(again.access_token);
    expect((await call(t.url, 'POST', `/api/users/${u.id}/toggle-status`, { token: admin })).status).toBe(200);
    expect(await within(c3.closed, 5000)).toEqual({ code: 4403, reason: '账户已被禁用' });
  });

  it('closes a connection when its access token expires', async () => {
    const shortLived = jwt.sign({ typ: 'access', ver: 0, fam: FAMILY }, SECRET, { subject: '1', issuer: 'whalefall', expiresIn: 2, jwtid: '0b6f3a52-6f38-4d7e-9a51-2c1d0e9f8a7b' });
    const c = await liveConnection(shortLived);
    expect(await within(c.closed, 500)).toBe('still open');
    expect(await within(c.closed, 6000)).toEqual({ code: 4403, reason: '令牌已过期' });
  });
});
