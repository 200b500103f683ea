/**
 * The general API budget over real HTTP and WebSocket: per user and per client IP, on REST routes,
 * GraphQL (both HTTP paths) and graphql-ws, shared by replicas through Redis; 429 + Retry-After with
 * the error envelope (REST) or a RATE_LIMITED error (GraphQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, eventually, gql, login, userWithRole, type Reply } from '../helpers/http.js';
import { startReplica, type Replica } from '../helpers/scheduler-helpers.js';

const LIMITS = { API_RATE_LIMIT_PER_USER: '5', API_RATE_LIMIT_PER_IP: '60', API_RATE_LIMIT_WINDOW_SECONDS: '300' };

let t: TestApp;
let replica: Replica;
beforeAll(async () => {
  t = await startTestApp(LIMITS);
  replica = await startReplica(t.databaseUrl, t.redisPrefix, { ...LIMITS, SCHEDULER_ENABLED: 'false' });
});
afterAll(async () => {
  await replica?.close();
  await t?.close();
});

/** A raw graphql-ws handshake (optionally signed in): how the server closed the socket. */
function wsHandshake(url: string, token?: string): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: token ? { token } : {} })));
    ws.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') ws.close(1000);
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', reject);
  });
}

function expect429Envelope(res: Reply) {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(300);
  expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
  expect(res.body).toMatchObject({ status: 'error', success: false, error: 'RateLimitError', code: 429 });
  expect(res.body.details.retry_after).toBeGreaterThan(0);
}

describe('per-user budget (API_RATE_LIMIT_PER_USER)', () => {
  it('refuses a user past the budget on every transport and every replica, and leaves other users alone', async () => {
    const admin = (await login(t.url)).access_token; // login is anonymous: the IP's budget only
    const u = await userWithRole(t.url, admin, 'user'); // admin: 1 point
    const first = await call(t.url, 'GET', '/api/me', { token: u.token });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('5');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('4');
    // Points 2–5 on the other replica: the budget lives in Redis, not in either process.
    for (let i = 0; i < 4; i++) expect((await call(replica.url, 'GET', '/api/users', { token: u.token })).status).toBe(200);

    expect429Envelope(await call(t.url, 'GET', '/api/me', { token: u.token }));
    expect429Envelope(await call(replica.url, 'GET', '/api/instances', { token: u.token }));
    const graphql = await gql(t.url, '{ me { id } }', {}, u.token);
    expect(graphql.status).toBe(429);
    expect(Number(graphql.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(graphql.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', type: 'RateLimitError', status: 429 });
    const viaYoga = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ me { id } }')}`, { headers: { authorization: `Bearer ${u.token}` } });
    expect(viaYoga.status).toBe(429);

    // The same client IP, another user: its own budget.
    expect((await call(t.url, 'GET', '/api/me', { token: admin })).status).toBe(200);

    // Over graphql-ws, the handshake and each operation spend the same budget: an exhausted user's
    // handshake is refused (4429, not retried by graphql-ws clients) …
    expect(await wsHandshake(t.url, u.token)).toMatchObject({ code: 4429, reason: expect.stringMatching(/^Too many requests: retry after \d+ s$/) });
    // … and one with points left spends one on the handshake, one per operation.
    const v = await userWithRole(t.url, admin, 'user'); // admin: 3 points
    for (let i = 0; i < 3; i++) expect((await call(t.url, 'GET', '/api/me', { token: v.token })).status).toBe(200);
    const client = createClient({ url: `${t.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { token: v.token }, retryAttempts: 0, lazy: true });
    try {
      const run = (query: string) =>
        new Promise<unknown>((resolve) => {
          client.subscribe({ query }, { next: resolve, error: resolve, complete: () => resolve(null) });
        });
      expect(await run('{ me { id } }')).toEqual({ data: { me: { id: String(v.id) } } }); // points 4 (handshake) and 5
      expect(JSON.stringify(await run('subscription { logCreated { id } }'))).toContain('RATE_LIMITED');
    } finally {
      await client.dispose();
    }

    // The first refusal of the window is logged once (WARNING, module api), not every refused request.
    const where = { module: 'api', level: 'WARNING' as const, AND: [{ context: { path: ['event'], equals: 'rate_limited' } }, { context: { path: ['user_id'], equals: u.id } }] };
    await eventually(() => t.app.deps.prisma.unifiedLog.findFirst({ where }));
    expect(await t.app.deps.prisma.unifiedLog.count({ where })).toBe(1);
  });
});

describe('per-IP budget (API_RATE_LIMIT_PER_IP)', () => {
  it('refuses every request of a client IP past its budget, anonymous or signed in, on REST and GraphQL', async () => {
    const ip = await startTestApp({ API_RATE_LIMIT_PER_USER: '1000', API_RATE_LIMIT_PER_IP: '8', API_RATE_LIMIT_WINDOW_SECONDS: '300' });
    try {
      const admin = (await login(ip.url)).access_token; // 1
      let status = 0;
      let spent = 1;
      // Anonymous requests on a public route, a 404 and GraphQL all count; bounded loop.
      const requests = [() => call(ip.url, 'GET', '/api/health'), () => call(ip.url, 'GET', '/api/nope'), () => gql(ip.url, '{ health { status } }')];
      while (status !== 429 && spent < 20) {
        status = (await requests[spent % requests.length]!()).status;
        spent++;
      }
      expect(status).toBe(429);
      expect(spent).toBe(9); // exactly the budget went through
      // Now even a user with budget left is refused from this IP, on every route.
      expect429Envelope(await call(ip.url, 'GET', '/api/me', { token: admin }));
      expect429Envelope(await call(ip.url, 'POST', '/auth/login', { json: { username: 'admin', password: 'x' } }));
      const g = await gql(ip.url, '{ me { id } }', {}, admin);
      expect(g.status).toBe(429);
      expect(g.body.errors[0].extensions.code).toBe('RATE_LIMITED');
      expect(await wsHandshake(ip.url, admin)).toMatchObject({ code: 4429 });
      expect(await wsHandshake(ip.url)).toMatchObject({ code: 4429 }); // anonymous too
    } finally {
      await ip.close();
    }
  });

  it('counts in-process when Redis is not configured', async () => {
    const local = await startTestApp({ REDIS_URL: '', API_RATE_LIMIT_PER_IP: '3', API_RATE_LIMIT_WINDOW_SECONDS: '300' });
    try {
      for (let i = 0; i < 3; i++) expect((await call(local.url, 'GET', '/api/health')).status).toBe(200);
      expect429Envelope(await call(local.url, 'GET', '/api/health'));
    } finally {
      await local.close();
    }
  });
});
