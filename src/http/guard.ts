/**
 * The HTTP front every request passes before Express or yoga: security headers (helmet), CORS,
 * the API rate limits (client IP and user), and the body limit of GraphQL requests. GraphQL skips
 * Express for speed (bench/http), so these live here, once, for every path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import helmet from 'helmet';
import type { AppDeps } from '../deps.js';
import { bearerToken, rememberVerifiedAccess } from '../auth/tokens.js';
import { AppError, PayloadTooLargeError, RateLimitError } from '../lib/errors.js';
import { BudgetExceededError, type RequestLimiter } from '../lib/rate-limit.js';
import { currentScope } from '../logging/request-context.js';
import { errorEnvelope, rateLimitHeaders } from '../rest/envelope.js';
import { GRAPHIQL_PAGE, wantsGraphiQL } from '../graphql/yoga.js';

export type Headers = ReadonlyArray<readonly [string, string]>;

/**
 * The headers helmet sets, computed once: helmet's middlewares set the same values on every
 * response, so replaying the list costs a handful of setHeader calls instead of a middleware chain.
 * The API answers JSON only, hence a CSP that allows nothing; GraphiQL has its own (see yoga.ts).
 */
export function securityHeaders(csp: string): Headers {
  const headers: Array<[string, string]> = [];
  const recorder = {
    setHeader: (name: string, value: string | string[]) => headers.push([name, Array.isArray(value) ? value.join(', ') : String(value)]),
    removeHeader: () => {},
    getHeader: () => undefined,
  };
  helmet({ contentSecurityPolicy: false })({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  headers.push(['Content-Security-Policy', csp]);
  return headers;
}

const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const API_HEADERS = securityHeaders(API_CSP);
const GRAPHIQL_HEADERS = securityHeaders(GRAPHIQL_PAGE.csp);

export function isGraphqlPath(url: string | undefined): boolean {
  return url === '/graphql' || !!url?.startsWith('/graphql?');
}

/** Errors answered by the front itself: the REST error envelope, or a GraphQL error on /graphql. */
export function sendFrontError(req: IncomingMessage, res: ServerResponse, err: AppError): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (err instanceof RateLimitError) Object.assign(headers, rateLimitHeaders(err));
  const body = isGraphqlPath(req.url)
    ? { errors: [{ message: err.message, extensions: { code: err.code, type: err.type, status: err.status, details: err.details } }] }
    : errorEnvelope(err);
  const text = JSON.stringify(body);
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(err.status, headers).end(text);
}

/**
 * Reads a request body up to `limit` bytes. Over it (by Content-Length, or while streaming) it stops
 * collecting and resolves `undefined`; Node discards the rest once the response is sent.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeListener('data', onData);
        req.removeListener('end', onEnd);
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

export function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError('请求体过大', { limit_bytes: limit });
}

export interface HttpGuard {
  /**
   * Sets the security and CORS headers, answers CORS preflights, and spends the request's rate
   * budget; calls `next` when the request may go on, or answers 429 itself.
   */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
}

export function createHttpGuard(deps: AppDeps, limiter: RequestLimiter): HttpGuard {
  const { config } = deps;
  const origins = new Set(config.corsOrigins);
  const anyOrigin = origins.has('*');
  const corsHandler = cors({
    origin: anyOrigin ? '*' : (origin, cb) => cb(null, origin !== undefined && origins.has(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    maxAge: 600,
  });

  const spend = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    let userId: number | undefined;
    const token = bearerToken(req.headers.authorization);
    if (token) {
      try {
        const verified = deps.tokens.verify(token, 'access');
        rememberVerifiedAccess(req, token, verified);
        userId = verified.userId;
      } catch {
        /* not a valid access token: the client IP's budget only; the route reports the token */
      }
    }
    const ip = currentScope()?.ip_address ?? req.socket.remoteAddress ?? 'unknown';
    limiter.consume(ip, userId).then(
      (budget) => {
        res.setHeader('X-RateLimit-Limit', String(budget.limit));
        res.setHeader('X-RateLimit-Remaining', String(budget.remaining));
        res.setHeader('X-RateLimit-Reset', String(Math.ceil(Date.now() / 1000) + budget.resetSeconds));
        next();
      },
      (err: unknown) => {
        if (!(err instanceof RateLimitError)) return next(); // a limiter fault must not take the API down
        // Once per exhausted budget and window, so a flood does not become a flood of log rows.
        if (err instanceof BudgetExceededError && err.firstInWindow) {
          deps.logger.warn(
            { module: 'api', event: 'rate_limited', scope: err.scope, limit: err.limit, ip_address: ip, user_id: userId, path: (req.url ?? '').split('?')[0] },
            '请求过于频繁，已拒绝（本时间窗口内不再重复记录）',
          );
        }
        sendFrontError(req, res, err);
      },
    );
  };

  return {
    handle(req, res, next) {
      const headers = config.graphiql && isGraphqlPath(req.url) && wantsGraphiQL(req.method, req.headers.accept) ? GRAPHIQL_HEADERS : API_HEADERS;
      for (const [name, value] of headers) res.setHeader(name, value);
      // Requests without Origin (servers, scripts, same-origin GETs) need no CORS work at all.
      if (origins.size === 0 || req.headers.origin === undefined) return spend(req, res, next);
      // Preflights are answered here (204), before any budget is spent; a disallowed origin gets no
      // Access-Control-Allow-Origin, so the browser refuses the real request.
      corsHandler(req, res, () => spend(req, res, next));
    },
  };
}
