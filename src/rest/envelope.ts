/**
 * The response envelopes of the API document. Success: {status, data, message}; paginated:
 * {status, data: [...], pagination}; error: {status: "error", error, message, code, details}.
 * Every body also carries `success` (SPEC §5 recommendation) for clients of the upstream convention.
 */
import type { Response } from 'express';
import { z } from 'zod';
import { AppError, RateLimitError } from '../lib/errors.js';
import type { Page } from '../lib/pagination.js';

/** The envelopes below as schemas: the OpenAPI document describes them, the REST fuzz test checks answers against them. */
export const successEnvelopeSchema = z
  .object({ status: z.literal('success'), success: z.literal(true), data: z.unknown(), message: z.string() })
  .strict();

export const paginationSchema = z
  .object({ page: z.number().int().min(1), per_page: z.number().int().min(1), total: z.number().int().min(0), pages: z.number().int().min(0) })
  .strict();

export const pageEnvelopeSchema = successEnvelopeSchema.extend({ data: z.array(z.unknown()), pagination: paginationSchema }).strict();

export const errorEnvelopeSchema = z
  .object({
    status: z.literal('error'),
    success: z.literal(false),
    error: z.string().min(1).describe('ValidationError, AuthenticationError, AuthorizationError, ResourceNotFoundError, ConflictError, RateLimitError, DatabaseError, ExternalServiceError, …'),
    message: z.string(),
    code: z.number().int().min(400).max(599).describe('the HTTP status'),
    details: z.record(z.unknown()).describe('validation errors are listed as details.errors: [{field, message}]'),
  })
  .strict();

export function sendSuccess(res: Response, data: unknown, message = '操作成功', httpStatus = 200): void {
  res.status(httpStatus).json({ status: 'success', success: true, data: data ?? null, message });
}

export function sendPage<T>(res: Response, page: Page<T>, toJson: (item: T) => unknown, message = '操作成功'): void {
  res.status(200).json({
    status: 'success',
    success: true,
    data: page.items.map(toJson),
    pagination: { page: page.page, per_page: page.perPage, total: page.total, pages: page.pages },
    message,
  });
}

const camelToSnake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Field names in validation details follow the REST spelling (per_page, is_active). */
function restDetails(details: Record<string, unknown>): Record<string, unknown> {
  const errors = details.errors;
  if (!Array.isArray(errors)) return details;
  return { ...details, errors: errors.map((e: { field: string; message: string }) => ({ ...e, field: e.field.split('.').map(camelToSnake).join('.') })) };
}

/** The Retry-After and X-RateLimit-* headers of a 429. */
export function rateLimitHeaders(err: RateLimitError): Record<string, string> {
  const headers: Record<string, string> = {
    'Retry-After': String(err.retryAfterSeconds),
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': String(Math.ceil(Date.now() / 1000) + err.retryAfterSeconds),
  };
  if (err.limit !== undefined) headers['X-RateLimit-Limit'] = String(err.limit);
  return headers;
}

/** The documented error body: {status: "error", success: false, error, message, code, details}. */
export function errorEnvelope(err: AppError) {
  return {
    status: 'error' as const,
    success: false as const,
    error: err.type,
    message: err.message,
    code: err.status,
    details: restDetails(err.details),
  };
}

/** The error envelope of `err` (answers written before Express sees the request). */
export const errorBody = errorEnvelope;

export function sendError(res: Response, err: AppError): void {
  if (err instanceof RateLimitError) {
    for (const [name, value] of Object.entries(rateLimitHeaders(err))) res.setHeader(name, value);
  }
  if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(err.status).json(errorEnvelope(err));
}
