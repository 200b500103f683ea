/**
 * HTTP ⇄ operation input helpers shared by the route table (route-table.ts), and the last-resort
 * error handlers that turn every failure into the documented error envelope.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import type { AppDeps } from '../deps.js';
import { createContext, type Ctx } from '../context.js';
import { AppError, DatabaseError, ResourceNotFoundError, ValidationError, PayloadTooLargeError, toAppError } from '../lib/errors.js';
import { errorBody, sendError } from './envelope.js';

const snakeToCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** REST spells fields snake_case (per_page, is_active); operation inputs are camelCase. */
export function camelizeKeys(obj: unknown): Record<string, unknown> {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[snakeToCamel(k)] = v;
  return out;
}

/** Query string values: a repeated parameter (?page=1&page=2) is ambiguous, so keep only scalars. */
export function queryInput(req: Request): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(camelizeKeys(req.query))) out[k] = Array.isArray(v) ? v[v.length - 1] : v;
  return out;
}

export function bodyInput(req: Request): Record<string, unknown> {
  if (req.body !== undefined && (typeof req.body !== 'object' || Array.isArray(req.body) || req.body === null)) {
    throw new ValidationError('请求体必须是 JSON 对象');
  }
  return camelizeKeys(req.body ?? {});
}

export function restContext(deps: AppDeps, req: Request): Promise<Ctx> {
  return createContext(deps, {
    authorization: req.get('authorization'),
    ip: req.ip,
    userAgent: req.get('user-agent'),
    method: req.method,
    path: req.originalUrl.split('?')[0],
    requestId: req.get('x-request-id'),
    raw: req,
  });
}

/** Last Express middleware: every failure becomes the documented error envelope, never a stack trace. */
export function errorHandler(deps: AppDeps) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = err as { type?: string; status?: number };
    let appErr: AppError | undefined;
    if (e?.type === 'entity.parse.failed') appErr = new ValidationError('请求体不是有效的 JSON');
    else if (e?.type === 'entity.too.large') appErr = new PayloadTooLargeError('请求体过大');
    else if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') appErr = new ValidationError('不支持的请求编码');
    else appErr = toAppError(err);
    // Other client errors raised by Express and its parsers (bad URL encoding, aborted bodies…).
    if (!appErr && typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      appErr = e.status === 404 ? new ResourceNotFoundError('资源不存在') : new ValidationError('请求参数错误');
    }
    if (!appErr) {
      deps.logger.error({ module: 'api', err, path: req.originalUrl.split('?')[0], method: req.method }, '未处理的服务器错误');
      appErr = new DatabaseError('服务器内部错误');
      Object.defineProperty(appErr, 'type', { value: 'InternalServerError' });
    } else if (appErr.status >= 500) {
      deps.logger.error({ module: 'api', err, path: req.originalUrl.split('?')[0], method: req.method }, appErr.message);
    }
    if (res.headersSent) return;
    sendError(res, appErr);
  };
}

export function notFoundHandler(_req: Request, res: Response): void {
  sendError(res, new ResourceNotFoundError('接口不存在'));
}

/**
 * Node's HTTP parser refuses some requests before any handler runs (headers or URL beyond the size
 * limit: 431; malformed HTTP: 400) and would answer with an empty body; answer the error envelope instead.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, message] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, '请求头或 URL 过长'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, '请求超时'] : [400, '无效的 HTTP 请求'];
  const appErr = new ValidationError(message);
  Object.defineProperty(appErr, 'status', { value: status });
  const body = JSON.stringify(errorBody(appErr));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
