/** Login, refresh, logout and me: one operation each, served by GraphQL and REST. */
import { z } from 'zod';
import { operation } from './operation.js';
import { currentUser, login, logout, refresh } from '../services/auth/auth-service.js';
import { permissionsOf, type Role } from '../auth/permissions.js';

export const loginOp = operation({
  name: 'login',
  requires: 'public',
  input: z.object({
    username: z.string({ required_error: '用户名和密码不能为空', invalid_type_error: '用户名必须是字符串' }).trim().min(1, '用户名和密码不能为空').max(255),
    password: z.string({ required_error: '用户名和密码不能为空', invalid_type_error: '密码必须是字符串' }).min(1, '用户名和密码不能为空').max(1024),
  }),
  run: (ctx, input) => login(ctx.deps, { ip: ctx.ip, userAgent: ctx.userAgent }, input.username, input.password),
});

export const refreshOp = operation({
  name: 'refresh',
  requires: 'public', // the refresh token itself is the credential
  input: z.object({ refreshToken: z.string().max(4096).optional() }),
  run: (ctx, input) => refresh(ctx.deps, input.refreshToken ?? ctx.bearer, { ip: ctx.ip, userAgent: ctx.userAgent }),
});

export const logoutOp = operation({
  name: 'logout',
  requires: 'public', // the presented token (refresh token argument, or the bearer) names the session
  input: z.object({ refreshToken: z.string().max(4096).optional() }),
  run: (ctx, input) => logout(ctx.deps, { refreshToken: input.refreshToken, bearer: ctx.bearer }, { ip: ctx.ip, userAgent: ctx.userAgent }),
});

export const meOp = operation({
  name: 'me',
  requires: 'authenticated',
  input: z.object({}),
  run: async (ctx) => {
    const user = await currentUser(ctx.deps, ctx.user!);
    return { ...user, permissions: permissionsOf(user.role as Role) };
  },
});
