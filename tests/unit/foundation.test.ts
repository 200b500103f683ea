import { describe, expect, it } from 'vitest';
import { redactDeep, REDACTED } from '../../src/lib/redact.js';
import { rowFromPinoLine } from '../../src/logging/unified-log-sink.js';
import { loadConfig, ConfigError } from '../../src/config/index.js';
import { listQuerySchema, encodeCursor, windowOf } from '../../src/lib/pagination.js';
import { generatePassword, PasswordPolicy } from '../../src/auth/passwords.js';
import { TokenService } from '../../src/auth/tokens.js';

describe('redaction', () => {
  it('replaces secret-looking keys at any depth and leaves the rest', () => {
    const out = redactDeep({ user: 'a', password: 'p', nested: { apiKey: 'k', list: [{ refresh_token: 't', ok: 1 }] }, Authorization: 'Bearer x' });
    expect(out).toEqual({ user: 'a', password: REDACTED, nested: { apiKey: REDACTED, list: [{ refresh_token: REDACTED, ok: 1 }] }, Authorization: REDACTED });
  });
});

describe('unified log rows from pino lines', () => {
  it('maps levels, module, context, request/user/instance ids and drops DEBUG', () => {
    const row = rowFromPinoLine(JSON.stringify({ level: 40, time: 1_700_000_000_000, msg: 'm', module: 'auth', request_id: 'r1', current_user_id: 7, instance_id: 3, extra: 1, password: 'x', pid: 1, hostname: 'h' }));
    expect(row).toMatchObject({ level: 'WARNING', module: 'auth', message: 'm', requestId: 'r1', userId: 7, instanceId: 3 });
    expect(row!.timestamp.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(row!.context).toMatchObject({ extra: 1, password: REDACTED });
    expect(row!.context).not.toHaveProperty('pid');
    expect(rowFromPinoLine(JSON.stringify({ level: 20, msg: 'debug' }))).toBeUndefined();
    expect(rowFromPinoLine('not json')).toBeUndefined();
    expect(rowFromPinoLine(JSON.stringify({ level: 50, msg: 'x', err: { message: 'boom', stack: 'Error: boom\n at x' } }))).toMatchObject({ level: 'ERROR', module: 'app', traceback: 'Error: boom\n at x' });
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 5001, env: 'development', accessTokenTtl: 3600, refreshTokenTtl: 2_592_000, logLevel: 'info' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
  });
  it('rejects invalid values naming each variable, and production without JWT_SECRET', () => {
    expect(() => loadConfig({ PORT: '70000', DATABASE_URL: 'mysql://x' })).toThrow(/PORT[\s\S]*DATABASE_URL|DATABASE_URL[\s\S]*PORT/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).env).toBe('production');
  });
});

describe('list query contract', () => {
  const schema = listQuerySchema({ sortFields: { name: 'name', created_at: 'createdAt' }, defaultSort: 'createdAt', filterKeys: ['role'] as const });
  it('defaults to page 1, 20 per page, default sort desc', () => {
    expect(schema.parse({})).toMatchObject({ page: 1, perPage: 20, sort: 'createdAt', order: 'desc', filter: {} });
  });
  it('caps per_page at 100 and validates everything', () => {
    expect(schema.safeParse({ perPage: '100' }).success).toBe(true);
    for (const bad of [{ perPage: '101' }, { page: '0' }, { sort: 'nope' }, { order: 'up' }, { filter: 'x:1' }, { startDate: '2025-13-45' }, { after: 'garbage' }, { first: '0' }]) {
      expect(schema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
  it('turns first/after cursors into an offset window', () => {
    const q = schema.parse({ first: '5', after: encodeCursor(9) });
    expect(windowOf(q)).toEqual({ offset: 10, limit: 5 });
    expect(windowOf(schema.parse({ page: '3', perPage: '10' }))).toEqual({ offset: 20, limit: 10 });
  });
  it('treats a bare end date as the whole UTC day', () => {
    expect(schema.parse({ endDate: '2025-01-02' }).endDate!.toISOString()).toBe('2025-01-02T23:59:59.999Z');
  });
});

describe('passwords and tokens', () => {
  it('generates random passwords that satisfy the policy', () => {
    for (let i = 0; i < 50; i++) expect(PasswordPolicy.safeParse(generatePassword()).success).toBe(true);
  });
  it('keeps access and refresh tokens apart', () => {
    const tokens = new TokenService('s'.repeat(40), 60, 600);
    const { token: access, jti } = tokens.issue(5, 2, 'access', '9b2f6a36-5c1e-4f43-9d6e-0a4f1f0c2b11');
    expect(tokens.verify(access, 'access')).toMatchObject({ userId: 5, version: 2, jti, family: '9b2f6a36-5c1e-4f43-9d6e-0a4f1f0c2b11' });
    expect(() => tokens.verify(access, 'refresh')).toThrow();
    expect(() => new TokenService('t'.repeat(40), 60, 600).verify(access, 'access')).toThrow();
  });
});

describe('error logging', () => {
  it('keeps an error message and stack (→ traceback) while redacting its secret-looking fields', () => {
    const e = Object.assign(new Error('boom'), { code: 'E1', password: 'hunter2' });
    const out = redactDeep({ err: e }) as { err: Record<string, unknown> };
    expect(out.err).toMatchObject({ type: 'Error', message: 'boom', code: 'E1', password: REDACTED });
    expect(String(out.err.stack)).toContain('boom');
  });
});
