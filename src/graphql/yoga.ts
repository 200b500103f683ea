/**
 * graphql-yoga on the shared schema: context from the bearer token, domain errors mapped to
 * extensions (code, type, status, details), everything unexpected masked, depth/cost/alias limits,
 * and GraphiQL served from local assets only (no CDN: machines may be offline).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { GraphQLError } from 'graphql';
import { createYoga, renderGraphiQL, type YogaServerInstance } from 'graphql-yoga';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { useSharedSubscriptionResults } from './shared-subscription-results.js';
import type { AppDeps } from '../deps.js';
import { createContext, type Ctx } from '../context.js';
import { AppError, RateLimitError, toAppError } from '../lib/errors.js';
import { currentScope } from '../logging/request-context.js';
import { schema } from '../schema/index.js';

export const GRAPHIQL_ASSETS_PATH = '/graphiql-assets/';

export function graphiqlAssetsDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@graphql-yoga/graphiql/package.json')), 'dist');
}

function localGraphiQL(opts: Parameters<typeof renderGraphiQL>[0]): string {
  return renderGraphiQL(opts)
    .replace(/https:\/\/[^"' ]+?\/@graphql-yoga\/graphiql@[^/]+\/dist\//g, GRAPHIQL_ASSETS_PATH)
    .replace(/<link rel=icon[^>]*>/g, '')
    .replace(/https:\/\/raw\.githubusercontent\.com\/[^"' >]+/g, '/favicon.ico');
}

/** Masks an error for clients: domain errors keep code/type/status/details, anything else is an opaque 500. */
export function toGraphQLError(error: unknown, deps: AppDeps): GraphQLError {
  // Failures outside execution (building the context) arrive unwrapped.
  const err = error instanceof GraphQLError ? error : new GraphQLError((error as Error)?.message ?? String(error), { originalError: error as Error });
  const original = err.originalError;
  if (!original) return err; // syntax/validation errors: already safe and useful
  if (original instanceof GraphQLError && !original.originalError) return original;
  const appErr = toAppError(original) ?? toAppError((original as GraphQLError).originalError);
  if (appErr) {
    if (appErr.status >= 500) deps.logger.error({ module: 'graphql', err: original, path: err.path?.join('.') }, appErr.message);
    return new GraphQLError(appErr.message, {
      nodes: err.nodes,
      path: err.path,
      extensions: {
        code: appErr.code,
        type: appErr.type,
        status: appErr.status,
        details: appErr.details,
        ...(appErr instanceof RateLimitError
          ? { http: { status: 429, headers: { 'Retry-After': String(appErr.retryAfterSeconds) } } }
          : appErr.status === 503
            ? { http: { status: 503 } } // the service is unavailable (database down): as REST answers
            : {}),
      },
    });
  }
  deps.logger.error({ module: 'graphql', err: original, path: err.path?.join('.') }, '未处理的 GraphQL 错误');
  return new GraphQLError('服务器内部错误', { nodes: err.nodes, path: err.path, extensions: { code: 'INTERNAL_SERVER_ERROR', status: 500 } });
}

interface ServerContext {
  req?: { ip?: string; socket?: { remoteAddress?: string }; get?(h: string): string | undefined };
  connectionParams?: Record<string, unknown>;
  extra?: { request?: { socket?: { remoteAddress?: string }; headers?: Record<string, string | string[] | undefined> } };
}

/** The bearer of a graphql-ws connection: connectionParams.authorization ("Bearer …") or .token. */
export function wsAuthorization(params: Record<string, unknown> | undefined): string | undefined {
  if (!params) return undefined;
  const auth = params.authorization ?? params.Authorization;
  if (typeof auth === 'string') return auth;
  if (typeof params.token === 'string') return `Bearer ${params.token}`;
  return undefined;
}

export function buildYoga(deps: AppDeps): YogaServerInstance<ServerContext, Ctx> {
  return createYoga<ServerContext, Ctx>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Same-origin API; CORS negotiation on every request only costs time (bench/http).
    cors: false,
    logging: false,
    graphiql: { title: '鲸落 WhaleFall GraphQL', subscriptionsProtocol: 'WS' },
    renderGraphiQL: localGraphiQL,
    maskedErrors: { maskError: (error) => toGraphQLError(error as GraphQLError, deps) },
    plugins: [
      maxDepthPlugin({ n: deps.config.graphqlMaxDepth, ignoreIntrospection: true }),
      costLimitPlugin({ maxCost: deps.config.graphqlMaxCost }),
      maxAliasesPlugin({ n: 20 }),
      // Compiles each distinct query once into JS (cached); graphql-js interpretation was a third of
      // the GraphQL path's CPU (bench/http). Subscriptions keep the standard executor.
      useGraphQlJit({}, { enableIf: (args) => !/^\s*subscription\b/i.test(args.document?.loc?.source.body ?? '') }),
      useSharedSubscriptionResults(),
      deps.metrics.graphql(),
    ],
    context: async (initial) => {
      if (initial.connectionParams !== undefined || initial.extra) {
        return createContext(deps, {
          authorization: wsAuthorization(initial.connectionParams),
          ip: initial.extra?.request?.socket?.remoteAddress,
          userAgent: String(initial.extra?.request?.headers?.['user-agent'] ?? ''),
          method: 'WS',
          path: '/graphql',
        });
      }
      const request = (initial as unknown as { request: Request }).request;
      return createContext(deps, {
        authorization: request.headers.get('authorization'),
        ip: currentScope()?.ip_address ?? initial.req?.socket?.remoteAddress,
        userAgent: request.headers.get('user-agent'),
        method: request.method,
        path: '/graphql',
        requestId: request.headers.get('x-request-id'),
      });
    },
  });
}

export { AppError };
