/**
 * An operation is the single implementation behind a GraphQL field and a REST route: who may call it
 * (one Requirement, also turned into the field's scope-auth scopes), the zod schema its input must
 * satisfy, and the function that does the work. Both transports call execute().
 */
import type { ZodTypeAny, output } from 'zod';
import type { Ctx } from '../context.js';
import { forbiddenMessage, hasPermission, type Requirement } from '../auth/permissions.js';
import { AuthenticationError, AuthorizationError, TimeoutError } from '../lib/errors.js';
import { parseInput } from '../lib/validation.js';

export interface Operation<S extends ZodTypeAny, O> {
  name: string;
  requires: Requirement;
  input: S;
  run(ctx: Ctx, input: output<S>): Promise<O>;
}

export function operation<S extends ZodTypeAny, O>(def: Operation<S, O>): Operation<S, O> {
  return def;
}

/** Throws the documented 401/403 and leaves a WARNING in the unified log (module `decorators`). */
export function authorize(ctx: Ctx, requires: Requirement, operationName: string): void {
  if (requires === 'public') return;
  if (!ctx.user) {
    ctx.log.warn(
      { module: 'decorators', permission_type: requires, failure_reason: 'not_authenticated', operation: operationName, path: ctx.path, method: ctx.method, user_agent: ctx.userAgent },
      '未认证的访问被拒绝',
    );
    throw ctx.authError ?? new AuthenticationError('请先登录', { reason: 'not_authenticated' });
  }
  if (requires !== 'authenticated' && !hasPermission(ctx.user, requires)) {
    ctx.log.warn(
      {
        module: 'decorators',
        permission_type: requires,
        failure_reason: 'insufficient_permissions',
        operation: operationName,
        path: ctx.path,
        method: ctx.method,
        user_id: ctx.user.id,
        user_role: ctx.user.role,
      },
      '权限不足，访问被拒绝',
    );
    throw new AuthorizationError(forbiddenMessage(requires), { required_permission: requires });
  }
}

export async function execute<S extends ZodTypeAny, O>(op: Operation<S, O>, ctx: Ctx, raw: unknown): Promise<O> {
  // A GraphQL operation past its time budget has been answered already: start nothing more for it.
  if (ctx.signal?.aborted) throw new TimeoutError('操作超时，已停止', { timeout_ms: ctx.deps.config.graphqlExecutionTimeoutMs });
  authorize(ctx, op.requires, op.name);
  return op.run(ctx, parseInput(op.input, raw ?? {}));
}
