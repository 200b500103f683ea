/** Prometheus metrics at /metrics: token, REST routes by pattern, GraphQL operations, gauges, job runs. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login } from '../helpers/http.js';

const TOKEN = 'metrics-token-0123456789';
let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp({ METRICS_TOKEN: TOKEN });
  admin = (await login(t.url)).access_token;
});
afterAll(async () => {
  await t?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  return res.text();
}

/** The value of one sample line, e.g. metric{a="b"} 3. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('/metrics', () => {
  it('needs the METRICS_TOKEN when one is configured', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456780' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ status: 'error', error: 'AuthenticationError' });
  });

  it('times REST requests by route pattern (never raw ids) and GraphQL operations by name', async () => {
    const before = (await scrape());
    const count = (text: string) => sample(text, 'whalefall_http_request_duration_seconds_count', { method: 'GET', route: '/api/users/:id', status: '200' }) ?? 0;
    await call(t.url, 'GET', '/api/users/1', { token: admin });
    await call(t.url, 'GET', '/api/users/1', { token: admin });
    await call(t.url, 'GET', '/no/such/route', { token: admin });
    await gql(t.url, 'query Me { me { id } }', {}, admin);
    await gql(t.url, 'query Broken { users(perPage: 500) { totalCount } }', {}, admin);
    const text = await scrape();
    expect(count(text) - count(before)).toBe(2);
    expect(text).not.toContain('route="/api/users/1"');
    expect(sample(text, 'whalefall_http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'whalefall_graphql_operation_duration_seconds_count', { operation: 'Me', type: 'query', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'whalefall_graphql_operation_duration_seconds_count', { operation: 'Broken', outcome: 'error' })).toBe(1);
    expect(text).toMatch(/^whalefall_db_pool_connections \d+/m);
    expect(text).toMatch(/^whalefall_process_resident_memory_bytes \d+/m);
  });

  it('reports the heap retained after the last full collection', async () => {
    // A full GC in this process (the gateway under test runs in it): the figure is taken right after.
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
    await vi.waitFor(async () => {
      const live = /^whalefall_heap_live_bytes (\S+)$/m.exec(await scrape())?.[1];
      expect(Number(live)).toBeGreaterThan(1024 * 1024);
      expect(Number(live)).toBeLessThan(v8.getHeapStatistics().total_heap_size);
    });
  });

  it('counts open WebSocket connections and live log subscribers', async () => {
    const client = createClient({ url: t.url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${admin}` }, retryAttempts: 0 });
    const dispose = client.subscribe({ query: 'subscription { logStream(module: "nothing_here") { dropped } }' }, { next: () => {}, error: () => {}, complete: () => {} });
    try {
      await vi.waitFor(async () => {
        const text = await scrape();
        expect(text).toMatch(/^whalefall_websocket_connections 1$/m);
        expect(text).toMatch(/^whalefall_log_stream_subscribers 1$/m);
      }, { timeout: 5000, interval: 100 });
    } finally {
      dispose();
      await client.dispose();
    }
  });

  it('times job runs by task type and outcome', async () => {
    const job = await call(t.url, 'POST', '/api/jobs', { token: admin, json: { name: 'metrics-cleanup', task_type: 'cleanup_logs', schedule: '0 0 3 * * *', params: { days: 3650 } } });
    expect(job.status).toBe(201);
    const run = await call(t.url, 'POST', `/api/jobs/${job.body.data.id}/run`, { token: admin });
    expect(run.status).toBe(200);
    await vi.waitFor(async () => expect(sample(await scrape(), 'whalefall_job_run_duration_seconds_count', { task_type: 'cleanup_logs', outcome: 'success' })).toBe(1), { timeout: 5000, interval: 100 });
  });
});
