import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login } from '../helpers/http.js';

let t: TestApp;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => {
    for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
  });
  t = await startTestApp({ LOG_LEVEL: 'info' }, { stdout: out });
});
afterAll(async () => t?.close());

describe('request logs', () => {
  it('write one access line per request with its request id, on stdout only', async () => {
    const admin = (await login(t.url)).access_token;
    const res = await call(t.url, 'GET', '/api/instances?per_page=5', { token: admin });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    expect(id).toBeTruthy();
    const line = await vi.waitFor(() => {
      const l = lines.find((x) => x.access_log === true && x.request_id === id);
      expect(l).toBeDefined();
      return l!;
    });
    expect(line).toMatchObject({ module: 'http', status: 200, method: 'GET', url: '/api/instances', msg: 'GET /api/instances 200' });
    expect(typeof line.duration_ms).toBe('number');
    expect(line.current_user_id).toEqual(expect.any(Number));
    // A refused request is logged too, with its status.
    const denied = await call(t.url, 'GET', '/api/instances');
    expect(denied.status).toBe(401);
    await vi.waitFor(() => expect(lines.some((x) => x.access_log === true && x.request_id === denied.headers.get('x-request-id') && x.status === 401)).toBe(true));
    // Not stored in the unified log: the table holds what the platform did, not every read.
    await t.app.deps.logSink.flush();
    expect(await t.app.deps.prisma.unifiedLog.count({ where: { module: 'http' } })).toBe(0);
  });
});
