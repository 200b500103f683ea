/**
 * Abuse limits over real HTTP: GraphQL document limits, batches, introspection, GraphiQL, execution
 * timeout, body size, security headers, CORS and slow clients. Rate limits: rate-limits.test.ts.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, eventually, gql, login } from '../helpers/http.js';

let t: TestApp;
let admin: string;
const ALLOWED_ORIGIN = 'https://dba.example.com';

beforeAll(async () => {
  t = await startTestApp({
    GRAPHQL_MAX_DEPTH: '3',
    GRAPHQL_MAX_COST: '100',
    GRAPHQL_MAX_ALIASES: '3',
    GRAPHQL_MAX_TOKENS: '300',
    GRAPHQL_MAX_DIRECTIVES: '3',
    GRAPHQL_BATCH_LIMIT: '2',
    GRAPHQL_INTROSPECTION: 'false',
    GRAPHQL_GRAPHIQL: 'false',
    GRAPHQL_EXECUTION_TIMEOUT_MS: '500',
    HTTP_BODY_LIMIT_BYTES: '4096',
    HTTP_HEADERS_TIMEOUT_MS: '1000',
    HTTP_REQUEST_TIMEOUT_MS: '2000',
    CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://other.example.com:8443`,
  });
  admin = (await login(t.url)).access_token;
});
afterAll(async () => {
  await t?.close();
});

/** POST /graphql through yoga itself rather than the fast path (another Accept). */
async function gqlViaYoga(body: unknown, token?: string) {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('GraphQL document limits (before execution, both HTTP paths)', () => {
  const aliasQuery = '{ a: health { status } b: health { status } c: health { status } d: health { status } }';
  const cases: Array<[string, string, RegExp]> = [
    ['depth', '{ users { edges { node { id } } } }', /depth/i],
    ['cost', `{ health { ${'status '.repeat(70)}} }`, /Cost limit of 100 exceeded/],
    ['aliases', aliasQuery, /Aliases limit of 3 exceeded/],
    ['tokens', `{ health { ${'status '.repeat(400)}} }`, /Token limit of 300 exceeded/],
    [
      'directives',
      '{ health @skip(if: false) { status @skip(if: false) database @skip(if: false) { status @skip(if: false) } } }',
      /Directives limit of 3 exceeded/,
    ],
  ];
  it.each(cases)('rejects a query over the %s limit with 400 and no data', async (_name, query, message) => {
    const fast = await gql(t.url, query, {}, admin);
    expect(fast.status).toBe(400);
    for (const res of [fast, await gqlViaYoga({ query }, admin)]) {
      // yoga answers document errors of this media type with 200 or 400, depending on where they arise
      expect([200, 400]).toContain(res.status);
      expect(res.body.data ?? null).toBeNull();
      expect(res.body.errors[0].message).toMatch(message);
    }
  });

  it('accepts a query within every limit', async () => {
    const ok = await gql(t.url, '{ a: health { status } b: health { status } users { totalCount } }', {}, admin);
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.users.totalCount).toBeGreaterThan(0);
  });

  it('applies the limits to graphql-ws operations too', async () => {
    const { createClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const client = createClient({ url: `${t.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { token: admin }, retryAttempts: 0, lazy: true });
    try {
      const errors = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: `subscription { logCreated { ${'id '.repeat(400)}} }` }, { next: () => {}, error: resolve, complete: () => resolve(null) });
      });
      expect(JSON.stringify(errors)).toMatch(/Token limit of 300 exceeded/);
    } finally {
      await client.dispose();
    }
  });
});

describe('batched requests', () => {
  const q = { query: '{ health { status } }' };
  it('runs a batch within GRAPHQL_BATCH_LIMIT and answers one result per operation', async () => {
    const res = await call(t.url, 'POST', '/graphql', { json: [q, q] });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(2);
    expect(res.body[1].data.health.status).toBe('healthy');
  });

  it('refuses a larger batch with 413 on both paths, executing nothing', async () => {
    const fast = await call(t.url, 'POST', '/graphql', { json: [q, q, q] });
    expect(fast.status).toBe(413);
    expect(fast.body.errors[0].message).toMatch(/Batching is limited to 2 operations/);
    const viaYoga = await gqlViaYoga([q, q, q]);
    expect(viaYoga.status).toBe(413);
    expect(viaYoga.body.errors[0].message).toMatch(/Batching is limited to 2 operations/);
  });

  it('refuses batches cleanly when batching is off (the default)', async () => {
    const plain = await startTestApp();
    try {
      const res = await call(plain.url, 'POST', '/graphql', { json: [q] });
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ message: 'Batching is not supported.', extensions: { code: 'BAD_REQUEST' } });
      // The same app, with introspection and GraphiQL on by default outside production.
      const intro = await gql(plain.url, '{ __schema { queryType { name } } }');
      expect(intro.body.data.__schema.queryType.name).toBe('Query');
      const page = await fetch(`${plain.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).toContain('GraphiQL');
    } finally {
      await plain.close();
    }
  });
});

describe('introspection and GraphiQL switched off', () => {
  it('refuses __schema and __type but still answers __typename', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "User") { name } }']) {
      const res = await gql(t.url, query);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].message).toMatch(/introspection has been disabled/i);
    }
    expect((await gql(t.url, '{ __typename }')).body.data.__typename).toBe('Query');
  });

  it('serves no GraphiQL page and no GraphiQL assets', async () => {
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('GraphiQL');
    expect((await fetch(`${t.url}/graphiql-assets/graphiql.css`)).status).toBe(404);
  });
});

describe('execution timeout', () => {
  it('answers TIMEOUT when an operation runs past GRAPHQL_EXECUTION_TIMEOUT_MS and starts nothing more for it', async () => {
    // A "database" that accepts connections and never answers: the connection test hangs.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const name = `timeout_probe_${Date.now()}`;
    try {
      // Mutation fields run one after the other: the second must never start once the first timed out.
      const res = await gql(
        t.url,
        `mutation {
          slow: testConnection(input: { dbType: "postgresql", host: "127.0.0.1", port: ${port}, username: "u", password: "p", connectionOptions: { connectTimeoutMs: 20000 } }) { success }
          next: createCredential(input: { name: "${name}", username: "u", password: "p" }) { id }
        }`,
        {},
        admin,
      );
      expect(res.status).toBe(504);
      expect(res.body.data).toBeNull();
      expect(res.body.errors[0]).toMatchObject({ extensions: { code: 'TIMEOUT', type: 'TimeoutError', status: 504 } });
      expect(sockets.size).toBe(1); // the slow operation really was running
      // Let the hung connection fail now, then wait until the timed-out operation has ended.
      for (const s of sockets) s.destroy();
      await eventually(
        () => t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'graphql', context: { path: ['event'], equals: 'operation_timeout_settled' } } }),
        15_000,
      );
      expect(await t.app.deps.prisma.credential.count({ where: { name } })).toBe(0);
      const warned = await t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'graphql', level: 'WARNING', context: { path: ['event'], equals: 'operation_timeout' } } });
      expect(warned).not.toBeNull();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});

describe('body size limit (HTTP_BODY_LIMIT_BYTES)', () => {
  const big = 'x'.repeat(5000);
  it('answers an oversized REST body with 413 and the error envelope', async () => {
    const res = await call(t.url, 'POST', '/auth/login', { json: { username: 'admin', password: big } });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ status: 'error', success: false, error: 'ValidationError', code: 413 });
  });

  it('answers oversized GraphQL bodies with 413 on every path', async () => {
    const body = { query: `{ health { status } } # ${big}` };
    const fast = await call(t.url, 'POST', '/graphql', { json: body });
    expect(fast.status).toBe(413);
    expect(fast.body.errors[0].extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    const viaYoga = await gqlViaYoga(body);
    expect(viaYoga.status).toBe(413);
    expect(viaYoga.body.errors[0].extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    // A body within the limit still works on the yoga path (it is read once, then handed over).
    const small = await gqlViaYoga({ query: '{ health { status } }' });
    expect(small.body.data.health.status).toBe('healthy');
  });
});

describe('security headers (helmet)', () => {
  function expectSecurityHeaders(h: Headers) {
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(h.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(h.get('referrer-policy')).toBe('no-referrer');
    expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(h.get('x-powered-by')).toBeNull();
  }
  it('are on REST responses, errors included, and on GraphQL responses of both paths', async () => {
    const replies = [
      await call(t.url, 'GET', '/api/health'),
      await call(t.url, 'GET', '/api/no-such-route'),
      await gql(t.url, '{ health { status } }'),
      await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`),
    ];
    for (const r of replies) {
      expectSecurityHeaders(r.headers);
      expect(r.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    }
  });

  it('give the GraphiQL page a policy that allows its own scripts by hash, not inline scripts at large', async () => {
    const res = await fetch(`${(await graphiqlApp()).url}/graphql`, { headers: { accept: 'text/html' } });
    expectSecurityHeaders(res.headers);
    const csp = res.headers.get('content-security-policy')!;
    const scriptSrc = /script-src ([^;]+)/.exec(csp)![1]!;
    expect(scriptSrc).toMatch(/'sha256-[A-Za-z0-9+/=]+' 'sha256-/);
    expect(scriptSrc).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
  });
});

let graphiqlTestApp: TestApp | undefined;
async function graphiqlApp(): Promise<TestApp> {
  graphiqlTestApp ??= await startTestApp();
  return graphiqlTestApp;
}
afterAll(async () => {
  await graphiqlTestApp?.close();
});

describe('CORS (CORS_ORIGINS)', () => {
  it('allows the configured origins on REST and GraphQL, and answers their preflights', async () => {
    for (const origin of [ALLOWED_ORIGIN, 'https://other.example.com:8443']) {
      const rest = await call(t.url, 'GET', '/api/health', { headers: { origin } });
      expect(rest.headers.get('access-control-allow-origin')).toBe(origin);
      expect(rest.headers.get('vary')).toMatch(/origin/i);
      expect(rest.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
      const graphql = await call(t.url, 'POST', '/graphql', { json: { query: '{ health { status } }' }, headers: { origin } });
      expect(graphql.headers.get('access-control-allow-origin')).toBe(origin);
    }
    const preflight = await fetch(`${t.url}/api/users`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('gives other origins no CORS headers, so browsers refuse them', async () => {
    for (const origin of ['https://evil.example.com', 'https://dba.example.com.evil.io', 'http://dba.example.com']) {
      const rest = await call(t.url, 'GET', '/api/health', { headers: { origin } });
      expect(rest.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await fetch(`${t.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('is off by default: no CORS headers for any origin', async () => {
    const res = await call((await graphiqlApp()).url, 'GET', '/api/health', { headers: { origin: ALLOWED_ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('slow clients', () => {
  /** Opens a raw connection, sends `first`, then one more byte of `drip` at a time; resolves what the server said once it closed. */
  function dripUntilClosed(first: string, drip: string): Promise<string> {
    const { port } = new URL(t.url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let received = '';
      let i = 0;
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write(first);
        // Bounded: at most drip.length writes, 200 ms apart.
        timer = setInterval(() => {
          if (i < drip.length && !socket.destroyed) socket.write(drip[i++]!);
        }, 200);
      });
      socket.on('data', (d) => (received += d.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve(received);
      });
      socket.setTimeout(30_000, () => reject(new Error('the server never closed the slow connection')));
    });
  }

  it('closes a connection whose headers arrive too slowly (slowloris) with 408', async () => {
    const said = await dripUntilClosed('GET /api/health HTTP/1.1\r\nHost: localhost\r\n', 'X-Slow: ' + 'a'.repeat(200));
    expect(said).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection whose body arrives too slowly with 408', async () => {
    const said = await dripUntilClosed(
      'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n',
      '{"username":"admin","password":"' + 'a'.repeat(260),
    );
    expect(said).toMatch(/^HTTP\/1\.1 408/);
  });
});
