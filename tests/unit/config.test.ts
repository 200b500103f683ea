import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';

const PROD = { NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) };

describe('abuse-limit configuration', () => {
  it('turns introspection and GraphiQL off in production unless asked for, on elsewhere', () => {
    expect(loadConfig(PROD)).toMatchObject({ graphqlIntrospection: false, graphiql: false });
    expect(loadConfig({ ...PROD, GRAPHQL_INTROSPECTION: 'true', GRAPHQL_GRAPHIQL: '' })).toMatchObject({ graphqlIntrospection: true, graphiql: false });
    expect(loadConfig({ NODE_ENV: 'development' })).toMatchObject({ graphqlIntrospection: true, graphiql: true });
    expect(loadConfig({ NODE_ENV: 'test', GRAPHQL_GRAPHIQL: 'false' })).toMatchObject({ graphiql: false });
  });

  it('has bounded defaults', () => {
    expect(loadConfig({})).toMatchObject({
      graphqlMaxTokens: 1000,
      graphqlMaxDirectives: 50,
      graphqlMaxAliases: 20,
      graphqlBatchLimit: 0,
      graphqlExecutionTimeoutMs: 30_000,
      bodyLimitBytes: 1024 * 1024,
      apiLimitPerIp: 6000,
      corsOrigins: [],
      http: { headersTimeoutMs: 20_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000 },
    });
  });

  it('parses CORS origins and refuses malformed ones', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.com, http://b.example.com:8080/' }).corsOrigins).toEqual(['https://a.example.com', 'http://b.example.com:8080']);
    expect(() => loadConfig({ CORS_ORIGINS: 'a.example.com' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example.com/path' })).toThrow(/CORS_ORIGINS/);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS/);
  });
});
