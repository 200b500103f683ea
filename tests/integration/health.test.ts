import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login } from '../helpers/http.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('health endpoints (public)', () => {
  it.each(['/api/health', '/health', '/health/'])('%s answers the documented envelope', async (path) => {
    const res = await call(t.url, 'GET', path);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', message: '服务运行正常', data: { status: 'healthy', version: '4.0.0' } });
    expect(typeof res.body.data.timestamp).toBe('number');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('/health/detailed reports database and Redis as connected', async () => {
    const res = await call(t.url, 'GET', '/health/detailed');
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'healthy', database: 'connected', redis: 'connected', version: '4.0.0', embedded_database: false });
    expect(res.body.data.timestamp).toMatch(/Z$/);
    expect(res.body.data.components.database.response_time_ms).toBeGreaterThanOrEqual(0);
  });

  it.each(['/health/readiness', '/health/health/readiness'])('%s is ready', async (path) => {
    expect((await call(t.url, 'GET', path)).body.data).toEqual({ status: 'ready' });
  });

  it.each(['/health/liveness', '/health/health/liveness'])('%s is alive', async (path) => {
    expect((await call(t.url, 'GET', path)).body.data).toEqual({ status: 'alive' });
  });

  it('echoes a client X-Request-Id and stamps it on the log rows the request causes', async () => {
    const rid = `test-req-${Date.now()}`;
    const res = await call(t.url, 'POST', '/auth/login', { json: { username: 'admin', password: 'wrong-Pass1' }, headers: { 'x-request-id': rid } });
    expect(res.headers.get('x-request-id')).toBe(rid);
    await t.app.deps.logSink.flush();
    const rows = await t.app.deps.prisma.unifiedLog.findMany({ where: { requestId: rid } });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]!.module).toBe('auth');
  });
});

describe('Redis outage', () => {
  it('degrades instead of failing: health says degraded, login and rate limits keep working in-process', async () => {
    const noRedis = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1/0' });
    try {
      const res = await call(noRedis.url, 'GET', '/health/detailed');
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ status: 'degraded', database: 'connected', redis: 'disconnected' });
      const l = await login(noRedis.url);
      expect((await call(noRedis.url, 'GET', '/api/me', { token: l.access_token })).status).toBe(200);
    } finally {
      await noRedis.close();
    }
  });

  it('works without REDIS_URL at all (single replica)', async () => {
    const single = await startTestApp({ REDIS_URL: undefined });
    try {
      expect((await call(single.url, 'GET', '/health/detailed')).body.data).toMatchObject({ status: 'healthy', redis: 'not_configured' });
      await login(single.url);
    } finally {
      await single.close();
    }
  });
});
