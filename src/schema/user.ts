/** Users: the User type, user management queries and mutations. */
import { builder, scopesFor } from './builder.js';
import { connectionType, pagingArgs } from './common.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/users.js';
import type { PublicUser } from '../services/users/user-service.js';

export const UserRole = builder.enumType('UserRole', {
  description: 'admin: every permission; user: view and scheduler_view; viewer: none',
  values: ['admin', 'user', 'viewer'] as const,
});

export const User = builder.objectRef<PublicUser>('User').implement({
  description: 'A platform user. The password hash is never exposed.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'numeric id, the same as in REST' }),
    username: t.exposeString('username'),
    role: t.field({ type: UserRole, resolve: (u) => u.role }),
    email: t.exposeString('email', { nullable: true }),
    isActive: t.exposeBoolean('isActive'),
    lastLogin: t.expose('lastLogin', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const UserConnection = connectionType('User', User);

const UserStats = builder.objectRef<Awaited<ReturnType<typeof ops.userStatsOp.run>>>('UserStats').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    active: t.exposeInt('active'),
    inactive: t.exposeInt('inactive'),
    admin: t.exposeInt('admin'),
    user: t.exposeInt('user'),
    viewer: t.exposeInt('viewer'),
  }),
});

const UserStatus = builder.enumType('UserStatus', { values: ['active', 'inactive'] as const });
const SortOrder = builder.enumType('SortOrder', { values: ['asc', 'desc'] as const });

export const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    username: t.string({ required: true, description: '3-20 letters, digits or underscores' }),
    password: t.string({ required: true, description: 'at least 8 characters with upper, lower case and a digit' }),
    role: t.field({ type: UserRole, required: false }),
    email: t.string({ required: false }),
    isActive: t.boolean({ required: false }),
  }),
});

export const UpdateUserInput = builder.inputType('UpdateUserInput', {
  fields: (t) => ({
    username: t.string({ required: false }),
    password: t.string({ required: false, description: 'empty or absent keeps the current password' }),
    role: t.field({ type: UserRole, required: false }),
    email: t.string({ required: false }),
    isActive: t.boolean({ required: false }),
  }),
});

builder.queryFields((t) => ({
  users: t.field({
    type: UserConnection,
    description: 'Users, newest first by default; filter by role, status, search (username contains) and creation date',
    authScopes: scopesFor(ops.listUsersOp.requires),
    args: {
      ...pagingArgs(t.arg),
      search: t.arg.string(),
      role: t.arg({ type: UserRole }),
      status: t.arg({ type: UserStatus }),
      sort: t.arg.string({ description: 'id, username, role, created_at, last_login' }),
      order: t.arg({ type: SortOrder }),
      startDate: t.arg.string(),
      endDate: t.arg.string(),
    },
    resolve: (_root, args, ctx) => execute(ops.listUsersOp, ctx, args),
  }),
  user: t.field({
    type: User,
    authScopes: scopesFor(ops.getUserOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => execute(ops.getUserOp, ctx, args),
  }),
  userStats: t.field({
    type: UserStats,
    authScopes: scopesFor(ops.userStatsOp.requires),
    resolve: (_root, _args, ctx) => execute(ops.userStatsOp, ctx, {}),
  }),
}));

builder.mutationFields((t) => ({
  createUser: t.field({
    type: User,
    authScopes: scopesFor(ops.createUserOp.requires),
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: (_root, { input }, ctx) => execute(ops.createUserOp, ctx, input),
  }),
  updateUser: t.field({
    type: User,
    authScopes: scopesFor(ops.updateUserOp.requires),
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => execute(ops.updateUserOp, ctx, { ...input, id }),
  }),
  deleteUser: t.field({
    type: 'ID',
    description: 'Deletes a user; returns the deleted id',
    authScopes: scopesFor(ops.deleteUserOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await execute(ops.deleteUserOp, ctx, args)).id,
  }),
  toggleUserStatus: t.field({
    type: User,
    authScopes: scopesFor(ops.toggleUserStatusOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => execute(ops.toggleUserStatusOp, ctx, args),
  }),
}));
