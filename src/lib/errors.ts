/**
 * Domain errors. Each carries the error type and HTTP status of the API document's error envelope and a
 * stable GraphQL extension code; `message` and `details` are safe to show to clients.
 */
export type ErrorDetails = Record<string, unknown>;

export abstract class AppError extends Error {
  abstract readonly type: string;
  abstract readonly status: number;
  abstract readonly code: string;
  constructor(
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

export class ValidationError extends AppError {
  readonly type = 'ValidationError';
  readonly code = 'VALIDATION_FAILED';
  constructor(
    message: string,
    details: ErrorDetails = {},
    readonly status: 400 | 422 = 400,
  ) {
    super(message, details);
  }
}

/** A well-formed request that breaks a business rule (e.g. disabling the last admin). */
export class BusinessRuleError extends ValidationError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details, 422);
  }
}

export class AuthenticationError extends AppError {
  readonly type = 'AuthenticationError';
  readonly status = 401;
  readonly code = 'UNAUTHENTICATED';
}

export class AuthorizationError extends AppError {
  readonly type = 'AuthorizationError';
  readonly status = 403;
  readonly code = 'FORBIDDEN';
}

export class ResourceNotFoundError extends AppError {
  readonly type = 'ResourceNotFoundError';
  readonly status = 404;
  readonly code = 'NOT_FOUND';
}

export class ConflictError extends AppError {
  readonly type = 'ConflictError';
  readonly status = 409;
  readonly code = 'CONFLICT';
}

export class PayloadTooLargeError extends AppError {
  readonly type = 'ValidationError';
  readonly status = 413;
  readonly code = 'PAYLOAD_TOO_LARGE';
}

export class RateLimitError extends AppError {
  readonly type = 'RateLimitError';
  readonly status = 429;
  readonly code = 'RATE_LIMITED';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly limit?: number,
  ) {
    super(message, { retry_after: retryAfterSeconds });
  }
}

/** An operation that ran past its time budget (GRAPHQL_EXECUTION_TIMEOUT_MS); its remaining work was stopped. */
export class TimeoutError extends AppError {
  readonly type = 'TimeoutError';
  readonly status = 504;
  readonly code = 'TIMEOUT';
}

export class DatabaseError extends AppError {
  readonly type = 'DatabaseError';
  constructor(
    message: string,
    details: ErrorDetails = {},
    readonly status: 500 | 503 = 500,
  ) {
    super(message, details);
  }

  /** 503 means "the database is unreachable right now, retry": clients and GraphQL see it by code. */
  get code(): string {
    return this.status === 503 ? 'DATABASE_UNAVAILABLE' : 'DATABASE_ERROR';
  }
}

export class ExternalServiceError extends AppError {
  readonly type = 'ExternalServiceError';
  readonly code = 'EXTERNAL_SERVICE_ERROR';
  constructor(
    message: string,
    details: ErrorDetails = {},
    readonly status: 502 | 503 = 502,
  ) {
    super(message, details);
  }
}

/**
 * Signs that the platform database is unreachable or went away (restart, failover, network cut), as pg,
 * pg-pool, @prisma/adapter-pg and Prisma report them: socket errors, PostgreSQL's connection-exception
 * and shutdown SQLSTATEs, Prisma's connection error codes and the adapter's error kinds, and the
 * messages of errors that carry no code ("Connection terminated unexpectedly", pool and query timeouts).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300',
  'P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037',
]);
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Can't reach database server|Client has encountered a connection error|not queryable|Server has closed the connection|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * Signs that the database is reachable but too busy to finish in time: Prisma's expired interactive
 * transaction, PostgreSQL's statement timeout and lock timeout. Retrying later is the right answer.
 */
const BUSY_CODES = new Set(['P2028', '57014', '55P03']);

export function isDatabaseUnavailable(err: unknown): boolean {
  return someCause(err, (e) => {
    for (const k of ['code', 'originalCode']) if (typeof e[k] === 'string' && UNAVAILABLE_CODES.has(e[k] as string)) return true;
    if (typeof e.kind === 'string' && UNAVAILABLE_KINDS.has(e.kind)) return true;
    return typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message);
  });
}

export function isDatabaseBusy(err: unknown): boolean {
  return someCause(err, (e) => ['code', 'originalCode'].some((k) => typeof e[k] === 'string' && BUSY_CODES.has(e[k] as string)));
}

/** Whether the error or one it wraps satisfies `test`. */
function someCause(err: unknown, test: (e: Record<string, unknown>) => boolean): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  // Prisma and the adapter wrap the driver's error (cause, meta.driverAdapterError…): look inside.
  while (queue.length && seen.size < 10) {
    const e = queue.shift() as Record<string, unknown> | null;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (test(e)) return true;
    queue.push(e.cause, e.originalError, (e.meta as Record<string, unknown> | undefined)?.driverAdapterError);
  }
  return false;
}

/**
 * Maps infrastructure failures that callers did not handle (Prisma, pg) to domain errors, so that an
 * unreachable database is a 503 DatabaseError and a lost unique race a 409, never a raw 500.
 */
export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const e = err as { code?: string; name?: string; message?: string } | null;
  if (!e || typeof e !== 'object') return undefined;
  if (e.code === 'P2002') return new ConflictError('记录已存在 (unique constraint)');
  if (e.code === 'P2025') return new ResourceNotFoundError('资源不存在');
  if (isDatabaseUnavailable(err)) return new DatabaseError('数据库连接失败，请稍后重试', {}, 503);
  if (isDatabaseBusy(err)) return new DatabaseError('数据库繁忙，请稍后重试', {}, 503);
  return undefined;
}
