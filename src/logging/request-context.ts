/**
 * Request-scoped context for logging: every log line written while serving a request carries its
 * request id, client address and (once known) user id, whichever module writes it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestScope {
  request_id: string;
  ip_address?: string;
  method?: string;
  url?: string;
  user_agent?: string;
  current_user_id?: number;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** Accepts a sane X-Request-Id from the client or generates one, and echoes it on the response. */
export function requestIdOf(header: string | undefined | null): string {
  return header && /^[\w.:-]{1,64}$/.test(header) ? header : randomUUID();
}

/** The client address of a raw Node request (X-Forwarded-For only behind a trusted proxy). */
export function clientIpOf(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const fwd = req.headers['x-forwarded-for'];
    const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress;
}

/**
 * One access line per request on stdout (method, path, status, duration, and through the scope its
 * request id, client address and user). Marked `access_log` so the unified log table does not store
 * it: the table holds what the platform did, not every read.
 */
export function logAccessOnFinish(logger: { info(obj: object, msg: string): void }, res: ServerResponse): void {
  const scope = storage.getStore();
  const started = performance.now();
  res.once('finish', () => {
    const write = () =>
      logger.info(
        { module: 'http', access_log: true, status: res.statusCode, duration_ms: Math.round((performance.now() - started) * 10) / 10 },
        `${scope?.method ?? ''} ${scope?.url ?? ''} ${res.statusCode}`,
      );
    if (scope) storage.run(scope, write);
    else write();
  });
}

/** Opens the request's scope (every request, before the HTTP front) and echoes its X-Request-Id. */
export function runRequestInScope(req: IncomingMessage, res: ServerResponse, trustProxy: boolean, fn: () => void): void {
  const header = req.headers['x-request-id'];
  const scope: RequestScope = {
    request_id: requestIdOf(Array.isArray(header) ? header[0] : header),
    ip_address: clientIpOf(req, trustProxy),
    method: req.method,
    url: (req.url ?? '').split('?')[0],
    user_agent: req.headers['user-agent']?.slice(0, 300),
  };
  res.setHeader('X-Request-Id', scope.request_id);
  storage.run(scope, fn);
}
