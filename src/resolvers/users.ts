/** User management operations (SPEC §3.13), shared by GraphQL fields and /api/users routes. */
import { z } from 'zod';
import { operation } from './operation.js';
import { PasswordPolicy } from '../auth/passwords.js';
import { checkDateRange, listQuerySchema } from '../lib/pagination.js';
import { idSchema, looseBoolean } from '../lib/schemas.js';
import { parseInput } from '../lib/validation.js';
import * as users from '../services/users/user-service.js';

const role = z.enum(['admin', 'user', 'viewer'], { errorMap: () => ({ message: '角色必须是 admin、user 或 viewer' }) });
const status = z.enum(['active', 'inactive'], { errorMap: () => ({ message: '状态必须是 active 或 inactive' }) });
const username = z
  .string({ required_error: '缺少必填字段: username', invalid_type_error: '用户名必须是字符串' })
  .trim()
  .regex(/^[a-zA-Z0-9_]{3,20}$/, '用户名只能包含字母、数字和下划线，长度为3-20位');
const email = z.string().trim().max(255).email('邮箱格式无效').nullable().optional().or(z.literal('').transform(() => null));

const listInput = listQuerySchema({
  sortFields: { id: 'id', username: 'username', role: 'role', created_at: 'createdAt', createdAt: 'createdAt', last_login: 'lastLogin', lastLogin: 'lastLogin' },
  defaultSort: 'createdAt',
  filterKeys: ['role', 'status'] as const,
})
  .extend({ role: role.optional(), status: status.optional() })
  .superRefine(checkDateRange);

export const listUsersOp = operation({
  name: 'users',
  requires: 'view',
  input: listInput,
  run: (ctx, q) =>
    users.listUsers(ctx.deps, {
      ...q,
      role: q.role ?? parseInput(role.optional(), q.filter.role),
      status: q.status ?? parseInput(status.optional(), q.filter.status),
    }),
});

export const getUserOp = operation({
  name: 'user',
  requires: 'view',
  input: z.object({ id: idSchema }),
  run: (ctx, { id }) => users.getUser(ctx.deps, id),
});

export const createUserOp = operation({
  name: 'createUser',
  requires: 'create',
  input: z.object({
    username,
    password: PasswordPolicy,
    role: role.default('user'),
    email,
    isActive: looseBoolean.optional(),
  }),
  run: (ctx, input) => users.createUser(ctx.deps, ctx.user, input),
});

export const updateUserOp = operation({
  name: 'updateUser',
  requires: 'update',
  input: z.object({
    id: idSchema,
    username: username.optional(),
    // An empty password in an edit form means "keep the current one" (SPEC §3.13).
    password: z.union([z.literal('').transform(() => undefined), PasswordPolicy]).optional(),
    role: role.optional(),
    email,
    isActive: looseBoolean.optional(),
  }),
  run: (ctx, { id, ...input }) => users.updateUser(ctx.deps, ctx.user!, id, input),
});

export const deleteUserOp = operation({
  name: 'deleteUser',
  requires: 'delete',
  input: z.object({ id: idSchema }),
  run: (ctx, { id }) => users.deleteUser(ctx.deps, ctx.user!, id),
});

export const toggleUserStatusOp = operation({
  name: 'toggleUserStatus',
  requires: 'update',
  input: z.object({ id: idSchema }),
  run: (ctx, { id }) => users.toggleUserStatus(ctx.deps, ctx.user!, id),
});

export const userStatsOp = operation({
  name: 'userStats',
  requires: 'view',
  input: z.object({}),
  run: (ctx) => users.userStats(ctx.deps),
});
