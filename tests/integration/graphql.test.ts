import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestApp, ADMIN_PASSWORD, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, userWithRole } from '../helpers/http.js';
import type { LogCreatedSubscription } from '../generated/operations.js';

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
});
afterAll(async () => {
  await t?.close();
});

function wsUrl() {
  return t.url.replace(/^http/, 'ws') + '/graphql';
}

function wsClient(connectionParams?: Record<string, unknown>): Client {
  return createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
}

describe('GraphQL over HTTP', () => {
  it('answers anonymous protected queries with UNAUTHENTICATED and no data', async () => {
    const res = await gql(t.url, '{ users { totalCount } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0]).toMatchObject({ message: '请先登录', extensions: { code: 'UNAUTHENTICATED', type: 'AuthenticationError' } });
  });

  it('serves public fields anonymously and protected ones with a token', async () => {
    const health = await gql(t.url, '{ health { status database { status } } }');
    expect(health.body.data.health).toMatchObject({ status: 'healthy', database: { status: 'connected' } });
    const users = await gql(t.url, '{ users { totalCount } }', {}, admin);
    expect(users.body.data.users.totalCount).toBeGreaterThan(0);
  });

  it('reports an expired or revoked token on protected fields with the reason', async () => {
    const res = await gql(t.url, '{ me { id } }', {}, 'garbage.token.here');
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'token_invalid' } });
  });

  it('rejects queries deeper than GRAPHQL_MAX_DEPTH and too many aliases, before executing', async () => {
    const shallow = await startTestApp({ GRAPHQL_MAX_DEPTH: '3' });
    try {
      const token = (await login(shallow.url)).access_token;
      const ok = await gql(shallow.url, '{ users { totalCount } }', {}, token);
      expect(ok.body.errors).toBeUndefined();
      const deep = await gql(shallow.url, '{ users { edges { node { id } } } }', {}, token);
      expect(deep.body.data ?? null).toBeNull();
      expect(deep.body.errors[0].message).toMatch(/depth/i);
    } finally {
      await shallow.close();
    }
    const aliases = '{ ' + Array.from({ length: 25 }, (_, i) => `a${i}: health { status }`).join(' ') + ' }';
    const res = await gql(t.url, aliases);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors[0].message).toMatch(/alias/i);
  });

  it('answers GET queries and the graphql-response media type through yoga like POST JSON', async () => {
    const get = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`, { headers: { accept: 'application/json' } });
    expect((await get.json()).data.health.status).toBe('healthy');
    const post = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: '{ users { totalCount } }' }),
    });
    expect((await post.json()).data.users.totalCount).toBeGreaterThan(0);
    const sub = await gql(t.url, 'subscription { logCreated { id } }', {}, admin);
    expect(sub.status).toBe(400);
    expect(sub.body.errors[0].message).toMatch(/graphql-ws/);
  });

  it('masks unexpected errors and never returns stack traces', async () => {
    const res = await gql(t.url, '{ user(id: "1") { id username } }', {}, admin);
    expect(JSON.stringify(res.body)).not.toMatch(/\.ts:\d+|node_modules/);
  });

  it('answers malformed GraphQL requests with a 400 and a GraphQL error, not a 500', async () => {
    // GraphQL-over-HTTP: with Accept application/json, request errors are 200 with `errors` (or 400).
    const syntax = await gql(t.url, '{ users { ');
    expect([200, 400]).toContain(syntax.status);
    expect(syntax.body.errors[0].message).toMatch(/Syntax Error/);
    const badJson = await call(t.url, 'POST', '/graphql', { raw: '{"query": ' });
    expect(badJson.status).toBe(400);
    const unknownField = await gql(t.url, '{ passwords }', {}, admin);
    expect([200, 400]).toContain(unknownField.status);
    expect(unknownField.body.errors[0].message).toMatch(/Cannot query field/);
  });
});

describe('GraphiQL', () => {
  it('is served at /graphql to browsers and references only local assets, all of which load', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('GraphiQL');
    const refs = [...html.matchAll(/(?:src|href)=["']?([^"' >]+)/g)].map((m) => m[1]!);
    const urls = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^"' )]*/gi)].map((m) => m[0]);
    expect(urls, 'no remote URLs in the page').toEqual([]);
    const assets = [...refs, ...[...html.matchAll(/['"](\/graphiql-assets\/[^'"]+)['"]/g)].map((m) => m[1]!)].filter((r) => r.startsWith('/'));
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const a of new Set(assets)) {
      const r = await fetch(t.url + a);
      expect(r.status, a).toBe(200);
    }
    expect((await fetch(`${t.url}/graphiql-assets/nope.js`)).status).toBe(404);
  });
});

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
if (!CHROMIUM) console.warn('GraphiQL browser test skipped: no Chromium found (set CHROMIUM_PATH)');

describe('GraphiQL in a browser', () => {
  it.skipIf(!CHROMIUM)('loads under its Content-Security-Policy, with no violation, and runs a query', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
      });
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to load: CSP ${e.violatedDirective} ${e.blockedURI}`));
      });
      const res = await page.goto(`${t.url}/graphql`);
      // The editor is rendered and the schema (introspection) loaded: the docs explorer can open.
      await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
      await page.waitForFunction(() => !document.body.innerText.includes('Loading'), undefined, { timeout: 20_000 });
      const reply = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('health'));
      await page.evaluate(async () => {
        // Same-origin fetch from the page, as GraphiQL itself does (connect-src 'self').
        await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ health { status } }' }) });
      });
      expect((await (await reply).json()).data.health.status).toBe('healthy');
      expect(violations).toEqual([]);
      expect(res?.headers()['content-security-policy']).toContain('sha256-');
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('graphql-ws subscriptions on the same port', () => {
  it('delivers a unified log event to an authenticated subscriber (round trip)', async () => {
    const client = wsClient({ authorization: `Bearer ${admin}` });
    try {
      const received = new Promise<LogCreatedSubscription['logCreated']>((resolve, reject) => {
        const dispose = client.subscribe<LogCreatedSubscription>(
          { query: 'subscription { logCreated(module: "auth") { id level module message context } }' },
          {
            next: (v) => {
              const e = v.data?.logCreated;
              if (e?.message === '用户登录成功') {
                dispose();
                resolve(e);
              }
            },
            error: reject,
            complete: () => {},
          },
        );
      });
      // Give the subscription a moment to be registered, then cause an event over plain HTTP.
      await new Promise((r) => setTimeout(r, 300));
      await login(t.url, 'admin', ADMIN_PASSWORD);
      const event = await received;
      expect(event).toMatchObject({ level: 'INFO', module: 'auth', message: '用户登录成功' });
      expect(event.context).toMatchObject({ username: 'admin' });
      expect(JSON.stringify(event)).not.toContain(ADMIN_PASSWORD);
    } finally {
      await client.dispose();
    }
  });

  async function closeCode(params?: Record<string, unknown>): Promise<number> {
    const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: params, retryAttempts: 0, lazy: true });
    try {
      return await new Promise<number>((resolve) => {
        client.on('closed', (e) => resolve((e as { code: number }).code));
        client.subscribe({ query: 'subscription { logCreated { id } }' }, { next: () => {}, error: () => {}, complete: () => {} });
      });
    } finally {
      await client.dispose();
    }
  }

  it('refuses anonymous connections and invalid tokens with 4403', async () => {
    expect(await closeCode()).toBe(4403);
    expect(await closeCode({ authorization: 'Bearer not-a-token' })).toBe(4403);
    const { refresh_token } = await login(t.url);
    expect(await closeCode({ authorization: `Bearer ${refresh_token}` })).toBe(4403);
  });

  it('applies scopes on subscribe: a role without view gets FORBIDDEN', async () => {
    const viewer = await userWithRole(t.url, admin, 'viewer');
    const client = wsClient({ token: viewer.token });
    try {
      const seen: unknown[] = [];
      await new Promise<void>((resolve) => {
        client.subscribe({ query: 'subscription { logCreated { id } }' }, { next: (v) => seen.push(v), error: (e) => (seen.push(e), resolve()), complete: resolve });
      });
      expect(JSON.stringify(seen)).toContain('FORBIDDEN');
    } finally {
      await client.dispose();
    }
  });
});
