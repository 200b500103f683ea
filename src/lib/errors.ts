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
  readonly code = 'DATABASE_ERROR';
  constructor(
    message: string,
    details: ErrorDetails = {},
    readonly status: 500 | 503 = 500,
  ) {
    super(message, details);
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
 * Maps infrastructure failures that callers did not handle (Prisma, pg) to domain errors, so that an
 * unreachable database is a 503 DatabaseError and a lost unique race a 409, never a raw 500.
 */
export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const e = err as { code?: string; name?: string; message?: string } | null;
  if (!e || typeof e !== 'object') return undefined;
  if (e.code === 'P2002') return new ConflictError('记录已存在 (unique constraint)');
  if (e.code === 'P2025') return new ResourceNotFoundError('资源不存在');
  if (e.code === 'P2024' || e.code === 'P1001' || e.code === 'ECONNREFUSED' || e.code === '57P01') {
    return new DatabaseError('数据库连接失败，请稍后重试', {}, 503);
  }
  if (e.name === 'DriverAdapterError' && /connect|terminat/i.test(e.message ?? '')) {
    return new DatabaseError('数据库连接失败，请稍后重试', {}, 503);
  }
  return undefined;
}
