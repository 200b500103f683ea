/**
 * Alerts end to end: rules evaluated after real syncs of the local PostgreSQL (roles made superuser,
 * created, granted CREATEROLE), delivered to a graphql-ws subscriber on another replica, to local
 * HTTP receivers (signature checked with the secret, retries with growing delays, the delivery log),
 * and written to the unified log. Roles are server-wide and other test files create theirs
 * concurrently, so every assertion looks only at this file's prefixed roles.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, registerSecret, userWithRole } from '../helpers/http.js';
import { pgAdmin, prefix, registerInstance } from '../helpers/managed.js';

const P = prefix();
const PG_PASSWORD = registerSecret('Pg-Alert-Secret-7');
const SECRET_GOOD = registerSecret('whsec-good-0123456789abcdef');
const SECRET_FLAKY = registerSecret('whsec-flaky-0123456789abcdef');
const RETRY_BASE_MS = 300;
const WEBHOOK_ENV = {
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true', // the receivers listen on 127.0.0.1
  WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS),
  WEBHOOK_MAX_ATTEMPTS: '4',
  WEBHOOK_TIMEOUT_MS: '5000',
  WEBHOOK_POLL_MS: '500',
};
const WAIT = { timeout: 20_000, interval: 100 };

let t: TestApp;
let replica: TestApp;
let admin: string;
let prod: number;
let dev: number;

interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** A local webhook receiver: records every request; `status(req, nth)` chooses the answer. */
async function receiver(status: (r: Received, nthForDelivery: number) => number) {
  const got: Received[] = [];
  const perDelivery = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const r: Received = { at: Date.now(), headers: req.headers, raw, body: JSON.parse(raw) };
      got.push(r);
      const id = String(req.headers['x-whalefall-delivery']);
      const n = (perDelivery.get(id) ?? 0) + 1;
      perDelivery.set(id, n);
      res.writeHead(status(r, n), { 'content-type': 'text/plain' }).end(n === 1 ? 'first' : `n=${n}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let good: Awaited<ReturnType<typeof receiver>>;
let flaky: Awaited<ReturnType<typeof receiver>>;
const rules: Record<string, number> = {};
const hooks: Record<string, number> = {};

beforeAll(async () => {
  t = await startTestApp(WEBHOOK_ENV);
  admin = (await login(t.url)).access_token;
  good = await receiver(() => 200);
  flaky = await receiver((_r, n) => (n <= 2 ? 500 : 200)); // fails twice per delivery, then succeeds
  await pgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${P}collector LOGIN SUPERUSER PASSWORD '${PG_PASSWORD}'`);
    await c.query(`CREATE ROLE ${P}app LOGIN`);
    await c.query(`CREATE ROLE ${P}gone LOGIN`);
  });
  const prisma = t.app.deps.prisma;
  prod = await registerInstance(t, { name: `${P}prod`, dbType: 'postgresql', port: 5432, database: 'postgres', username: `${P}collector`, password: PG_PASSWORD });
  dev = await registerInstance(t, { name: `${P}dev`, dbType: 'postgresql', port: 5432, database: 'postgres', username: `${P}collector`, password: PG_PASSWORD });
  // prod: tagged production; dev: environment development and no tag.
  const tag = await prisma.tag.upsert({ where: { name: 'production' }, update: {}, create: { name: 'production', displayName: '生产' } });
  await prisma.instanceTag.create({ data: { instanceId: prod, tagId: tag.id } });
  await prisma.instance.update({ where: { id: dev }, data: { environment: 'development' } });
  // A second replica on the same database and Redis: it serves the subscription below.
  replica = await startTestApp({ ...WEBHOOK_ENV, DATABASE_URL: t.databaseUrl, REDIS_KEY_PREFIX: t.redisPrefix });
});

afterAll(async () => {
  await replica?.close();
  await t?.close();
  await good?.close();
  await flaky?.close();
  await pgAdmin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`${P}%`]);
    for (const r of rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  }).catch(() => {});
});

async function syncAndWait(instanceId: number) {
  const res = await call(t.url, 'POST', `/api/instances/${instanceId}/sync?wait=true`, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.data.status).toBe('completed');
  return res.body.data;
}

/** This file's alerts on an instance (other files' roles appear on the same server). */
async function ourAlerts(instanceId: number) {
  const res = await call(t.url, 'GET', `/api/alerts?instance_id=${instanceId}&search=${P}&per_page=100&order=asc`, { token: admin });
  expect(res.status).toBe(200);
  // search also matches the message, which names the instance (prefixed too): keep our roles only.
  return (res.body.data as any[]).filter((a) => a.username.startsWith(P));
}

const sign = (secret: string, raw: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

describe('alert rules and webhooks: API', () => {
  it('refuses invalid rules and webhooks with the 400 error envelope', async () => {
    const badKind = await call(t.url, 'POST', '/api/alert-rules', { token: admin, json: { name: 'x', kind: 'run_my_code' } });
    expect(badKind.status).toBe(400);
    expect(badKind.body).toMatchObject({ status: 'error', success: false, error: 'ValidationError', code: 400 });
    expect(badKind.body.details.errors.map((e: any) => e.field)).toContain('kind');

    // `privileges` belongs to privilege_granted, not to account_created.
    const badCond = await call(t.url, 'POST', '/api/alert-rules', { token: admin, json: { name: 'x', kind: 'account_created', conditions: { privileges: ['SELECT'] } } });
    expect(badCond.status).toBe(400);
    expect(badCond.body.details.errors[0].field).toBe('conditions');
    const badDbType = await call(t.url, 'POST', '/api/alert-rules', { token: admin, json: { name: 'x', kind: 'new_superuser', conditions: { db_types: ['mongodb'] } } });
    expect(badDbType.status).toBe(400);
    expect(badDbType.body.details.errors[0].field).toBe('conditions.db_types.0');
    const badSeverity = await call(t.url, 'POST', '/api/alert-rules', { token: admin, json: { name: 'x', kind: 'new_superuser', severity: 'apocalyptic' } });
    expect(badSeverity.status).toBe(400);

    for (const url of ['ftp://example.com/hook', 'not a url', 'http://user:pw@example.com/hook', 'javascript:alert(1)']) {
      const res = await call(t.url, 'POST', '/api/webhooks', { token: admin, json: { name: `bad-${randomUUID()}`, url } });
      expect(res.status, url).toBe(400);
      expect(res.body).toMatchObject({ status: 'error', error: 'ValidationError', code: 400 });
      expect(res.body.details.errors[0].field).toBe('url');
    }
    const shortSecret = await call(t.url, 'POST', '/api/webhooks', { token: admin, json: { name: 'short', url: good.url, secret: 'short' } });
    expect(shortSecret.status).toBe(400);
    const unknownRule = await call(t.url, 'POST', '/api/webhooks', { token: admin, json: { name: 'unknown-rule', url: good.url, rule_ids: [999999] } });
    expect(unknownRule.status).toBe(400);
    expect(await t.app.deps.prisma.webhookEndpoint.count()).toBe(0);
  });

  it('creates rules over REST and GraphQL, and webhooks whose secret is never returned', async () => {
    const su = await call(t.url, 'POST', '/api/alert-rules', { token: admin, json: { name: 'new superuser', kind: 'new_superuser' } });
    expect(su.status).toBe(201);
    expect(su.body.data).toMatchObject({ kind: 'new_superuser', severity: 'critical', is_enabled: true, conditions: {} });
    rules.su = su.body.data.id;

    const created = await call(t.url, 'POST', '/api/alert-rules', {
      token: admin,
      json: { name: 'account on production', kind: 'account_created', conditions: { instance_tags: ['production'], db_types: [] } },
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ severity: 'info', conditions: { instance_tags: ['production'] } });
    rules.created = created.body.data.id;

    const granted = await gql(
      t.url,
      'mutation R($c: AlertRuleConditionsInput) { createAlertRule(name: "createrole granted", kind: "privilege_granted", severity: "warning", conditions: $c) { id kind severity isEnabled conditions { privileges instanceTags } } }',
      { c: { privileges: ['CAN_CREATE_ROLE'] } },
      admin,
    );
    expect(granted.body.errors).toBeUndefined();
    expect(granted.body.data.createAlertRule).toMatchObject({ kind: 'privilege_granted', severity: 'warning', isEnabled: true, conditions: { privileges: ['CAN_CREATE_ROLE'], instanceTags: null } });
    rules.granted = Number(granted.body.data.createAlertRule.id);

    const deleted = await call(t.url, 'POST', '/api/alert-rules', { token: admin, json: { name: 'account deleted', kind: 'account_deleted', is_enabled: false } });
    expect(deleted.body.data.is_enabled).toBe(false);
    rules.deleted = deleted.body.data.id;

    const kinds = await call(t.url, 'GET', '/api/alert-rule-kinds', { token: admin });
    expect(kinds.body.data.map((k: any) => k.kind)).toEqual(['new_superuser', 'privilege_granted', 'account_created', 'account_deleted', 'privilege_outside_baseline']);

    const w1 = await call(t.url, 'POST', '/api/webhooks', { token: admin, json: { name: 'good', url: good.url, secret: SECRET_GOOD } });
    expect(w1.status).toBe(201);
    expect(w1.body.data).toMatchObject({ name: 'good', url: good.url, has_secret: true, is_enabled: true, rule_ids: [], min_severity: null });
    expect(Object.keys(w1.body.data).filter((k) => /secret|cipher/.test(k))).toEqual(['has_secret']);
    hooks.good = w1.body.data.id;
    const w2 = await gql(
      t.url,
      'mutation W($url: String!, $s: String, $r: [ID!]) { createWebhookEndpoint(name: "flaky", url: $url, secret: $s, ruleIds: $r) { id hasSecret ruleIds } }',
      { url: flaky.url, s: SECRET_FLAKY, r: [String(rules.created)] },
      admin,
    );
    expect(w2.body.data.createWebhookEndpoint).toMatchObject({ hasSecret: true, ruleIds: [String(rules.created)] });
    hooks.flaky = Number(w2.body.data.createWebhookEndpoint.id);

    // Removing and setting the secret again; the stored value is ciphertext, not the secret.
    const cleared = await call(t.url, 'PUT', `/api/webhooks/${hooks.good}`, { token: admin, json: { secret: null } });
    expect(cleared.body.data.has_secret).toBe(false);
    const again = await call(t.url, 'PUT', `/api/webhooks/${hooks.good}`, { token: admin, json: { secret: SECRET_GOOD } });
    expect(again.body.data.has_secret).toBe(true);
    const row = await t.app.deps.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: hooks.good } });
    expect(row.secretCipher).not.toContain(SECRET_GOOD);
    expect(t.app.deps.credentialKey.decrypt(row.secretCipher!, row.secretKeyId!)).toBe(SECRET_GOOD);

    const list = await call(t.url, 'GET', '/api/webhooks', { token: admin });
    expect(list.body.data.map((w: any) => w.has_secret)).toEqual([true, true]);
    const viaGql = await gql(t.url, '{ webhookEndpoints { name hasSecret url } }', {}, admin);
    expect(viaGql.body.data.webhookEndpoints).toHaveLength(2);
    // GraphQL has no field that could carry the secret at all.
    const probe = await gql(t.url, '{ webhookEndpoints { secret } }', {}, admin);
    expect(probe.body.errors?.[0]?.message).toMatch(/Cannot query field "secret"/);
  });

  it('lets view read rules and alerts; rule and webhook changes need admin', async () => {
    const user = await userWithRole(t.url, admin, 'user');
    const viewer = await userWithRole(t.url, admin, 'viewer');
    expect((await call(t.url, 'GET', '/api/alert-rules', { token: user.token })).status).toBe(200);
    expect((await call(t.url, 'GET', '/api/alerts', { token: user.token })).status).toBe(200);
    expect((await call(t.url, 'GET', '/api/alerts', { token: viewer.token })).status).toBe(403);
    const denied = await call(t.url, 'POST', '/api/alert-rules', { token: user.token, json: { name: 'sneaky', kind: 'new_superuser' } });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ status: 'error', error: 'AuthorizationError', code: 403 });
    expect((await call(t.url, 'POST', `/api/alert-rules/${rules.su}/disable`, { token: user.token })).status).toBe(403);
    expect((await call(t.url, 'DELETE', `/api/alert-rules/${rules.su}`, { token: user.token })).status).toBe(403);
    expect((await call(t.url, 'GET', '/api/webhooks', { token: user.token })).status).toBe(403);
    expect((await call(t.url, 'GET', `/api/webhooks/${hooks.good}/deliveries`, { token: user.token })).status).toBe(403);
    expect((await call(t.url, 'POST', '/api/webhooks', { token: user.token, json: { name: 'x', url: good.url } })).status).toBe(403);
    expect((await call(t.url, 'GET', '/api/alerts')).status).toBe(401);
    const g = await gql(t.url, 'mutation { setAlertRuleEnabled(id: "1", enabled: false) { id } }', {}, user.token);
    expect(g.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const gh = await gql(t.url, '{ webhookDeliveries { totalCount } }', {}, user.token);
    expect(gh.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await call(t.url, 'GET', `/api/alert-rules/${rules.su}`, { token: admin })).body.data.is_enabled).toBe(true);
  });
});

describe('alerts raised by syncs', () => {
  it('raises nothing for the first sync of an instance (an import of what exists)', async () => {
    await syncAndWait(prod);
    await syncAndWait(dev);
    expect(await ourAlerts(prod)).toEqual([]);
    expect(await ourAlerts(dev)).toEqual([]);
  });

  it('delivers matching alerts to the subscription on another replica, to signed webhooks with retries, and to the unified log', async () => {
    // Subscribed on the second replica; the sync runs on the first: alerts cross replicas via Redis.
    const events: any[] = [];
    const errors: unknown[] = [];
    const client: Client = createClient({ url: replica.url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { token: admin }, retryAttempts: 0 });
    client.subscribe(
      {
        query: 'subscription A($i: ID) { accountAlerts(instanceId: $i) { id ruleId ruleName kind severity instanceId instanceName username changeType message details createdAt } }',
        variables: { i: String(prod) },
      },
      { next: (v) => (v.errors ? errors.push(v.errors) : events.push(v.data!.accountAlerts)), error: (e) => errors.push(e), complete: () => {} },
    );
    try {
      // The subscription is live once a probe published on pub/sub comes through.
      await vi.waitFor(() => {
        t.app.deps.pubsub.publish('alert.created', { id: 0, ruleId: null, ruleName: 'probe', kind: 'probe', severity: 'info', instanceId: prod, instanceName: 'p', dbType: 'postgresql', accountId: null, username: 'probe', changeType: 'probe', changeLogId: null, sessionId: null, message: 'probe', details: {}, createdAt: new Date().toISOString() });
        expect(events.some((e) => e.username === 'probe')).toBe(true);
      }, WAIT);

      await pgAdmin(async (c) => {
        await c.query(`CREATE ROLE ${P}newsu LOGIN SUPERUSER`);
        await c.query(`CREATE ROLE ${P}plain LOGIN`);
        await c.query(`ALTER ROLE ${P}app CREATEROLE`);
        await c.query(`DROP ROLE ${P}gone`); // its rule is disabled: no alert
      });
      const session = await syncAndWait(prod);
      await syncAndWait(dev);

      // Stored alerts of this file's roles on prod: exactly what the rules ask for.
      const prodAlerts = await ourAlerts(prod);
      const summary = prodAlerts.map((a) => `${a.kind}:${a.username}:${a.severity}`).sort();
      expect(summary).toEqual(
        [`account_created:${P}newsu:info`, `account_created:${P}plain:info`, `new_superuser:${P}newsu:critical`, `privilege_granted:${P}app:warning`].sort(),
      );
      const suAlert = prodAlerts.find((a) => a.kind === 'new_superuser');
      expect(suAlert).toMatchObject({ rule_id: rules.su, rule_name: 'new superuser', instance_id: prod, instance_name: `${P}prod`, db_type: 'postgresql', change_type: 'add', session_id: session.session_id });
      expect(suAlert.account_id).toEqual(expect.any(Number));
      expect(suAlert.change_log_id).toEqual(expect.any(Number));
      expect(prodAlerts.find((a) => a.kind === 'privilege_granted').details.grants).toEqual([{ field: 'role_attributes', privilege: 'can_create_role' }]);
      // dev is neither tagged production nor in that environment: no account_created there.
      const devSummary = (await ourAlerts(dev)).map((a) => `${a.kind}:${a.username}`).sort();
      expect(devSummary).toEqual([`new_superuser:${P}newsu`, `privilege_granted:${P}app`].sort());

      // (a) the subscription, on the other replica, got prod's alerts (and nothing of dev's).
      await vi.waitFor(() => expect(events.filter((e) => e.username.startsWith(P)).length).toBe(4), WAIT);
      expect(errors).toEqual([]);
      const ours = events.filter((e) => e.username.startsWith(P));
      expect(ours.every((e) => e.instanceId === String(prod))).toBe(true);
      expect(ours.find((e) => e.kind === 'new_superuser')).toMatchObject({ id: String(suAlert.id), severity: 'critical', username: `${P}newsu`, ruleName: 'new superuser', createdAt: suAlert.created_at });

      // (b) the good receiver: one signed POST per alert (it takes every rule).
      const deliveredTo = (r: typeof good, alertId: number) => r.got.filter((g) => g.body.alert.id === alertId);
      await vi.waitFor(() => expect(deliveredTo(good, suAlert.id)).toHaveLength(1), WAIT);
      const post = deliveredTo(good, suAlert.id)[0]!;
      expect(post.headers['x-whalefall-signature']).toBe(sign(SECRET_GOOD, post.raw));
      expect(post.headers['x-whalefall-signature']).not.toBe(sign('some-other-secret-value', post.raw));
      expect(post.headers['x-whalefall-event']).toBe('account.alert');
      expect(post.headers['x-whalefall-delivery']).toBe(post.body.delivery_id);
      expect(post.headers['x-whalefall-timestamp']).toMatch(/^\d{10}$/);
      expect(post.headers['content-type']).toBe('application/json');
      expect(post.body).toEqual({ event: 'account.alert', delivery_id: expect.any(String), alert: { ...suAlert } });
      for (const a of [...prodAlerts, ...(await ourAlerts(dev))]) await vi.waitFor(() => expect(deliveredTo(good, a.id)).toHaveLength(1), WAIT);

      // (c) the flaky receiver takes only account_created alerts: 500, 500, then 200, with growing delays.
      const createdAlert = prodAlerts.find((a) => a.kind === 'account_created' && a.username === `${P}newsu`);
      await vi.waitFor(() => expect(deliveredTo(flaky, createdAlert.id)).toHaveLength(3), WAIT);
      const tries = deliveredTo(flaky, createdAlert.id);
      expect(new Set(tries.map((x) => x.headers['x-whalefall-delivery'])).size).toBe(1);
      expect(new Set(tries.map((x) => x.raw)).size).toBe(1); // the same signed body each time
      expect(tries.map((x) => x.headers['x-whalefall-attempt'])).toEqual(['1', '2', '3']);
      expect(tries.every((x) => x.headers['x-whalefall-signature'] === sign(SECRET_FLAKY, x.raw))).toBe(true);
      const gap1 = tries[1]!.at - tries[0]!.at;
      const gap2 = tries[2]!.at - tries[1]!.at;
      // Lower bounds only: a retry never comes before its backoff (an upper bound would depend on the
      // machine's load); the exact schedule is checked on the delivery log's next_retry_at below.
      expect(gap1).toBeGreaterThanOrEqual(RETRY_BASE_MS - 10);
      expect(gap2).toBeGreaterThanOrEqual(2 * RETRY_BASE_MS - 10);
      expect(flaky.got.every((g) => g.body.alert.kind === 'account_created')).toBe(true);

      // The delivery log shows the three attempts.
      const log = await vi.waitFor(async () => {
        const res = await call(t.url, 'GET', `/api/webhooks/${hooks.flaky}/deliveries?alert_id=${createdAlert.id}`, { token: admin });
        expect(res.body.data[0]?.status).toBe('succeeded');
        return res.body.data[0];
      }, WAIT);
      expect(log).toMatchObject({ attempts: 3, max_attempts: 4, last_status_code: 200, last_error: null, endpoint_id: hooks.flaky, alert_id: createdAlert.id, delivery_id: tries[0]!.headers['x-whalefall-delivery'] });
      expect(log.attempt_log.map((a: any) => [a.attempt, a.success, a.status_code, a.error])).toEqual([
        [1, false, 500, 'HTTP 500'],
        [2, false, 500, 'HTTP 500'],
        [3, true, 200, null],
      ]);
      expect(log.attempt_log[0].response_body).toBe('first');
      const delays = log.attempt_log.map((a: any) => (a.next_retry_at ? Date.parse(a.next_retry_at) - Date.parse(a.finished_at) : null));
      expect(delays).toEqual([RETRY_BASE_MS, 2 * RETRY_BASE_MS, null]);
      expect(log.attempt_log.every((a: any) => a.duration_ms >= 0)).toBe(true);
      const viaGql = await gql(t.url, 'query D($e: ID) { webhookDeliveries(endpointId: $e) { totalCount nodes { status attemptLog { attempt statusCode nextRetryAt } } } }', { e: String(hooks.flaky) }, admin);
      expect(viaGql.body.data.webhookDeliveries.totalCount).toBeGreaterThanOrEqual(2);

      // (d) the unified log: WARNING for critical/warning alerts, INFO for info ones, module `alerts`.
      await t.app.deps.logSink.flush();
      const entry = await t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'alerts', context: { path: ['alert_id'], equals: suAlert.id } } });
      expect(entry).toMatchObject({ level: 'WARNING', instanceId: prod });
      expect(entry!.message).toContain(`${P}newsu`);
      expect(entry!.context).toMatchObject({ kind: 'new_superuser', severity: 'critical', rule_id: rules.su, username: `${P}newsu` });
      const info = await t.app.deps.prisma.unifiedLog.findFirst({ where: { module: 'alerts', context: { path: ['alert_id'], equals: createdAlert.id } } });
      expect(info?.level).toBe('INFO');
      const logs = await call(t.url, 'GET', `/api/search?module=alerts&search=${P}newsu&per_page=50`, { token: admin });
      expect(logs.status).toBe(200);
      expect(logs.body.data.some((l: any) => l.module === 'alerts' && l.level === 'WARNING' && l.message.includes(`${P}newsu`))).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('raises nothing for changes no enabled rule matches, and stops with a disabled rule', async () => {
    const off = await gql(t.url, 'mutation D($id: ID!) { setAlertRuleEnabled(id: $id, enabled: false) { isEnabled } }', { id: String(rules.su) }, admin);
    expect(off.body.data.setAlertRuleEnabled.isEnabled).toBe(false);
    await pgAdmin(async (c) => {
      await c.query(`CREATE ROLE ${P}su2 LOGIN SUPERUSER`); // new_superuser is off now; account_created still on (prod)
      await c.query(`ALTER ROLE ${P}app CONNECTION LIMIT 3`); // a change no rule is about
      await c.query(`ALTER ROLE ${P}plain CREATEDB`); // granted, but not the privilege the rule names
    });
    const before = (await ourAlerts(prod)).length;
    await syncAndWait(prod);
    const added = (await ourAlerts(prod)).slice(before).map((a) => `${a.kind}:${a.username}`);
    expect(added).toEqual([`account_created:${P}su2`]);
    // Re-syncing without changes raises nothing new.
    await syncAndWait(prod);
    expect((await ourAlerts(prod)).length).toBe(before + 1);
    await call(t.url, 'POST', `/api/alert-rules/${rules.su}/enable`, { token: admin });
  });

  it('keeps deliveries in the database: both replicas share the queue and make each attempt once', async () => {
    // Deliveries queued directly in the table (as a restart would find them), for an endpoint of
    // its own, are taken by whichever replica polls first; none is sent twice.
    const counter = await receiver(() => 200);
    try {
      const ep = await call(t.url, 'POST', '/api/webhooks', { token: admin, json: { name: 'counter', url: counter.url, rule_ids: [rules.deleted] } });
      const alert = (await ourAlerts(prod))[0];
      const ids = Array.from({ length: 20 }, () => randomUUID());
      await t.app.deps.prisma.webhookDelivery.createMany({
        data: ids.map((deliveryId) => ({ deliveryId, endpointId: ep.body.data.id, alertId: alert.id, event: 'account.alert', payload: JSON.stringify({ event: 'account.alert', delivery_id: deliveryId, alert: { id: alert.id } }), maxAttempts: 4 })),
      });
      await vi.waitFor(() => expect(counter.got.length).toBe(20), WAIT);
      await new Promise((r) => setTimeout(r, 700)); // a duplicate would arrive within a poll
      expect(counter.got.map((g) => g.headers['x-whalefall-delivery']).sort()).toEqual([...ids].sort());
      expect(counter.got.every((g) => g.headers['x-whalefall-signature'] === undefined)).toBe(true); // no secret: unsigned
      const rows = await t.app.deps.prisma.webhookDelivery.findMany({ where: { endpointId: ep.body.data.id }, include: { attemptLogs: true } });
      expect(rows.every((r) => r.status === 'succeeded' && r.attempts === 1 && r.attemptLogs.length === 1)).toBe(true);
    } finally {
      await counter.close();
    }
  });

  it('deletes a rule but keeps its alerts', async () => {
    const res = await call(t.url, 'DELETE', `/api/alert-rules/${rules.granted}`, { token: admin });
    expect(res.status).toBe(200);
    expect((await call(t.url, 'GET', `/api/alert-rules/${rules.granted}`, { token: admin })).status).toBe(404);
    const kept = (await ourAlerts(prod)).filter((a) => a.kind === 'privilege_granted');
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ rule_id: null, rule_name: 'createrole granted' });
  });
});
