/**
 * graphql-yoga on the shared schema: context from the bearer token, domain errors mapped to
 * extensions (code, type, status, details), everything unexpected masked, abuse limits (tokens,
 * depth, cost, aliases, directives, batch size, execution time; introspection per environment), and
 * GraphiQL served from local assets only (no CDN: machines may be offline).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ExecutionResult } from 'graphql';
import { createYoga, renderGraphiQL, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { useSharedSubscriptionResults } from './shared-subscription-results.js';
import type { AppDeps } from '../deps.js';
import { createContext, type Ctx } from '../context.js';
import { AppError, RateLimitError, TimeoutError, toAppError } from '../lib/errors.js';
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

const GRAPHIQL_OPTIONS = { title: '鲸落 WhaleFall GraphQL', subscriptionsProtocol: 'WS' as const };

/**
 * The GraphiQL page and the Content-Security-Policy it is served with. The page is the same on
 * every request, so its two inline scripts are allowed by their hashes (no 'unsafe-inline' for
 * scripts); its editor workers start from blob: URLs, and its components set inline styles.
 */
export const GRAPHIQL_PAGE = (() => {
  const html = localGraphiQL(GRAPHIQL_OPTIONS);
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${hashes.join(' ')}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
})();

/** Whether yoga will answer this request with the GraphiQL page (its own test: GET + Accept text/html). */
export function wantsGraphiQL(method: string | undefined, accept: string | undefined): boolean {
  return method === 'GET' && !!accept?.includes('text/html');
}

/** Refuses __schema and __type (not __typename) when introspection is off. */
function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/**
 * Per-operation time budget for queries and mutations (subscriptions are long-lived by design). When
 * it runs out the client gets a TIMEOUT error at once, and the operation's context signal is
 * aborted, so no further operation of it starts (see execute()); work already running finishes
 * unobserved and the end is logged.
 */
function executionTimeout(deps: AppDeps): Plugin {
  const ms = deps.config.graphqlExecutionTimeoutMs;
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => {
        const ctx = args.contextValue as Ctx;
        const controller = new AbortController();
        ctx.signal = controller.signal;
        const started = Date.now();
        const running = Promise.resolve(executeFn(args) as ExecutionResult | Promise<ExecutionResult>);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<ExecutionResult>((resolve) => {
          timer = setTimeout(() => {
            controller.abort();
            const operation = args.operationName ?? undefined;
            ctx.log.warn({ module: 'graphql', event: 'operation_timeout', operation, timeout_ms: ms }, `GraphQL 操作超过 ${ms} ms，已中止`);
            void running.then(
              () => ctx.log.info({ module: 'graphql', event: 'operation_timeout_settled', operation, ran_ms: Date.now() - started }, '超时的 GraphQL 操作已结束'),
              () => {},
            );
            const err = new TimeoutError(`操作超时（超过 ${ms} ms），已停止`, { timeout_ms: ms });
            resolve({
              data: null,
              errors: [new GraphQLError(err.message, { extensions: { code: err.code, type: err.type, status: err.status, details: err.details, http: { status: err.status } } })],
            });
          }, ms);
        });
        return Promise.race([running, timedOut]).finally(() => clearTimeout(timer));
      });
    },
  };
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
    // CORS is answered by the HTTP front (src/http/guard.ts) for every path, from CORS_ORIGINS.
    cors: false,
    logging: false,
    graphiql: deps.config.graphiql ? GRAPHIQL_OPTIONS : false,
    renderGraphiQL: () => GRAPHIQL_PAGE.html,
    batching: deps.config.graphqlBatchLimit > 0 ? { limit: deps.config.graphqlBatchLimit } : false,
    maskedErrors: { maskError: (error) => toGraphQLError(error as GraphQLError, deps) },
    plugins: [
      maxTokensPlugin({ n: deps.config.graphqlMaxTokens }),
      maxDepthPlugin({ n: deps.config.graphqlMaxDepth, ignoreIntrospection: true }),
      costLimitPlugin({ maxCost: deps.config.graphqlMaxCost }),
      maxAliasesPlugin({ n: deps.config.graphqlMaxAliases }),
      maxDirectivesPlugin({ n: deps.config.graphqlMaxDirectives }),
      ...(deps.config.graphqlIntrospection ? [] : [disableIntrospection()]),
      // Compiles each distinct query once into JS (cached); graphql-js interpretation was a third of
      // the GraphQL path's CPU (bench/http). Subscriptions keep the standard executor.
      useGraphQlJit({}, { enableIf: (args) => !/^\s*subscription\b/i.test(args.document?.loc?.source.body ?? '') }),
      // After the JIT plugin, so that the executor it wraps is the compiled one.
      executionTimeout(deps),
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
        raw: initial.req,
      });
    },
  });
}

export { AppError };
