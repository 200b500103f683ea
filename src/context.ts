/**
 * The per-request context shared by GraphQL resolvers and REST handlers: who is calling, from where,
 * and the process dependencies. Built the same way for HTTP, GraphQL over HTTP and WebSocket.
 */
import type { AppDeps } from './deps.js';
import { authenticateToken } from './auth/authenticate.js';
import type { AuthUser } from './auth/permissions.js';
import { bearerToken } from './auth/tokens.js';
import { AppError, AuthenticationError } from './lib/errors.js';
import type { Logger } from './logging/logger.js';
import { currentScope, requestIdOf } from './logging/request-context.js';

export interface Ctx {
  deps: AppDeps;
  user: AuthUser | null;
  /** Why a presented token was not accepted (expired, revoked…); reported when auth is required. */
  authError?: AuthenticationError;
  /** The raw bearer token, for operations that take a refresh token in the header. */
  bearer?: string;
  requestId: string;
  ip: string;
  userAgent?: string;
  method?: string;
  path?: string;
  log: Logger;
  /** Aborted when the GraphQL operation ran past GRAPHQL_EXECUTION_TIMEOUT_MS: no further operation starts. */
  signal?: AbortSignal;
}

export interface RequestInfo {
  authorization?: string | null;
  ip?: string;
  userAgent?: string | null;
  method?: string;
  path?: string;
  requestId?: string | null;
  /** The HTTP request itself, on which the HTTP front may have left the verified access token. */
  raw?: object;
}

export async function createContext(deps: AppDeps, req: RequestInfo): Promise<Ctx> {
  const scope = currentScope();
  const requestId = scope?.request_id ?? requestIdOf(req.requestId);
  const bearer = bearerToken(req.authorization);
  let user: AuthUser | null = null;
  let authError: AuthenticationError | undefined;
  if (bearer) {
    try {
      user = await authenticateToken(deps.tokens, deps.authCache, bearer, req.raw);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      authError = err as AuthenticationError;
    }
  }
  const ip = req.ip ?? 'unknown';
  if (scope && user) scope.current_user_id = user.id;
  const log = scope ? deps.logger : deps.logger.child({ request_id: requestId, ip_address: ip, ...(user ? { current_user_id: user.id } : {}) });
  return {
    deps,
    user,
    authError,
    bearer,
    requestId,
    ip,
    userAgent: req.userAgent ?? undefined,
    method: req.method,
    path: req.path,
    log,
  };
}
