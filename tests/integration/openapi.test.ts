/**
 * The OpenAPI document at /api/openapi.json against the app that serves it: every route in Express's
 * router stack is in the document and every documented operation is a route; the document describes
 * what the handlers validate; the docs page works with nothing but the gateway (Chromium, when present).
 */
import { existsSync } from 'node:fs';
import vm from 'node:vm';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login } from '../helpers/http.js';
import { MAX_PER_PAGE } from '../../src/lib/pagination.js';

let t: TestApp;
let doc: any;
let admin: string;

const METHODS = ['get', 'post', 'put', 'delete', 'patch', 'head', 'options'] as const;

/** Express routes that are not part of the REST API, each with the reason. */
const NOT_API = new Map([['GET /favicon.ico', 'answers 204 so browsers stop asking; not an API']]);

beforeAll(async () => {
  t = await startTestApp();
  admin = (await login(t.url)).access_token;
  const res = await call(t.url, 'GET', '/api/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(async () => {
  await t?.close();
});

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD /path` of the routes in an Express router stack (sub-routers are mounted without a prefix). */
function expressRoutes(stack: Layer[], out = new Set<string>()): Set<string> {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const method of Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m] && m !== '_all')) {
        for (const p of paths) out.add(`${method.toUpperCase()} ${p.replace(/:(\w+)/g, '{$1}')}`);
      }
    } else if (layer.handle?.stack) {
      expressRoutes(layer.handle.stack, out);
    }
  }
  return out;
}

function documented(): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const m of METHODS) if (item[m]) out.add(`${m.toUpperCase()} ${path}`);
  }
  return out;
}

describe('/api/openapi.json', () => {
  it('lists every route Express serves, and nothing else', () => {
    const served = expressRoutes((t.app.express as unknown as { router: { stack: Layer[] } }).router.stack);
    for (const r of NOT_API.keys()) served.delete(r);
    const inDoc = documented();
    expect(served.size).toBeGreaterThan(150);
    expect([...served].filter((r) => !inDoc.has(r)), 'routes missing from the document').toEqual([]);
    expect([...inDoc].filter((r) => !served.has(r)), 'documented operations no route serves').toEqual([]);
  });

  it('is OpenAPI 3.1 with bearer auth, the envelopes, tags per module and unique operation ids', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe(t.app.deps.config.version);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['SuccessEnvelope', 'PageEnvelope', 'ErrorEnvelope']));
    expect(doc.components.schemas.ErrorEnvelope.required).toEqual(['status', 'success', 'error', 'message', 'code', 'details']);
    const tags = new Set(doc.tags.map((x: { name: string }) => x.name));
    expect(tags).toEqual(new Set(['health', 'auth', 'users', 'inventory', 'logs', 'dashboard', 'sync', 'scheduler', 'classification', 'alerts', 'drift', 'metrics', 'docs']));
    const ids = new Set<string>();
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        const where = `${m.toUpperCase()} ${path}`;
        expect(op.tags.length, where).toBe(1);
        expect(tags.has(op.tags[0]), where).toBe(true);
        expect(op.summary, where).toBeTruthy();
        expect(ids.has(op.operationId), `${where}: duplicate operationId ${op.operationId}`).toBe(false);
        ids.add(op.operationId);
        expect(op.responses.default, where).toEqual({ $ref: '#/components/responses/ServerError' });
        // Path templates and path parameters agree, and path parameters are required.
        const names = [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort();
        const params = (op.parameters ?? []).filter((p: any) => p.in === 'path');
        expect(params.map((p: any) => p.name).sort(), where).toEqual(names);
        for (const p of params) expect(p.required, where).toBe(true);
        // Signed-in routes say so, and answer 401 (and 403 for a permission) with the error envelope.
        if (op['x-permission'] === 'public') {
          expect(op.security.some((s: object) => 'bearerAuth' in s), where).toBe(false);
        } else {
          expect(op.security, where).toEqual([{ bearerAuth: [] }]);
          expect(op.responses['401'], where).toEqual({ $ref: '#/components/responses/Unauthorized' });
          if (op['x-permission'] !== 'authenticated') expect(op.responses['403'], where).toBeDefined();
        }
      }
    }
  });

  it('describes the schemas the handlers validate with (names in snake_case, bounds, strictness)', async () => {
    const list = doc.paths['/api/users'].get;
    const perPage = list.parameters.find((p: any) => p.name === 'per_page');
    expect(perPage).toMatchObject({ in: 'query', required: false, schema: { maximum: MAX_PER_PAGE, default: 20 } });
    expect(list.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/PageEnvelope' });
    expect((await call(t.url, 'GET', `/api/users?per_page=${MAX_PER_PAGE + 1}`, { token: admin })).status).toBe(400);

    const create = doc.paths['/api/instances'].post;
    expect(create.responses['201']).toBeDefined();
    const body = create.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['name', 'db_type', 'host', 'port']));
    expect(body.properties.port).toMatchObject({ type: 'integer', minimum: 1, maximum: 65535 });
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['database_name', 'credential_id', 'connection_options']));

    // A strict operation input is documented as closed, and extra fields are refused.
    const rule = doc.paths['/account-classification/rules'].post.requestBody.content['application/json'].schema;
    expect(rule.additionalProperties).toBe(false);
    const extra = await call(t.url, 'POST', '/account-classification/rules', { token: admin, json: { surprise: 1 } });
    expect(extra.status).toBe(400);
    expect(extra.body.details.errors.map((e: { message: string }) => e.message).join()).toMatch(/surprise/);

    // Path ids are the documented integers; the REST-only `wait` of a sync start is documented too.
    const sync = doc.paths['/api/instances/{id}/sync'].post;
    expect(sync.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'path', name: 'id', schema: expect.objectContaining({ type: 'integer' }) }),
        expect.objectContaining({ in: 'query', name: 'wait', schema: expect.objectContaining({ type: 'boolean' }) }),
      ]),
    );
    expect(sync.responses['202']).toBeDefined();
    expect(doc.paths['/auth/login'].post.security).toEqual([]);
    expect(Object.keys(doc.paths['/auth/login'].post.requestBody.content)).toEqual(['application/json', 'application/x-www-form-urlencoded']);
  });
});

describe('/api/docs', () => {
  it('is a page and a script from the gateway only, with no address outside it', async () => {
    const page = await fetch(`${t.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const script = await fetch(`${t.url}/api/docs/docs.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const js = await script.text();
    for (const text of [html, js]) expect(text).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    expect(html).toContain('<script src="/api/docs/docs.js"></script>');
    expect(html).not.toMatch(/<script>/); // no inline script: works under script-src 'self'
    expect(() => new vm.Script(js)).not.toThrow();
  });

  const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  it.skipIf(!existsSync(CHROMIUM))('renders every documented operation in Chromium and sends a request with the token', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const foreign: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(t.url)) foreign.push(r.url());
      });
      await page.goto(`${t.url}/api/docs`);
      await page.waitForSelector('details.op');
      expect(await page.locator('details.op').count()).toBe(documented().size);

      await page.fill('#token', admin);
      await page.dispatchEvent('#token', 'change');
      await page.fill('#filter', 'GET /api/me');
      const me = page.locator('details.op', { has: page.locator('.path', { hasText: /^\/api\/me$/ }) }).first();
      await me.locator('summary').click();
      await me.locator('button', { hasText: '发送请求' }).click();
      await me.locator('pre', { hasText: '200' }).waitFor();
      expect(await me.locator('pre').innerText()).toContain('"username": "admin"');
      expect(foreign).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
