/** Authentication: login, refresh, logout, me. */
import { builder, scopesFor } from './builder.js';
import { User } from './user.js';
import { execute } from '../resolvers/operation.js';
import { loginOp, logoutOp, meOp, refreshOp } from '../resolvers/auth.js';
import type { LoginResult, RefreshResult } from '../services/auth/auth-service.js';
import { PERMISSIONS } from '../auth/permissions.js';

const Permission = builder.enumType('Permission', { values: PERMISSIONS });

const LoginPayload = builder.objectRef<LoginResult>('LoginPayload').implement({
  fields: (t) => ({
    accessToken: t.exposeString('accessToken'),
    refreshToken: t.exposeString('refreshToken'),
    tokenType: t.exposeString('tokenType'),
    expiresIn: t.exposeInt('expiresIn', { description: 'access token lifetime in seconds' }),
    user: t.field({ type: User, resolve: (r) => r.user }),
  }),
});

const RefreshPayload = builder.objectRef<RefreshResult>('RefreshPayload').implement({
  fields: (t) => ({
    accessToken: t.exposeString('accessToken'),
    refreshToken: t.exposeString('refreshToken', { description: 'replaces the refresh token presented, which is now spent' }),
    tokenType: t.exposeString('tokenType'),
    expiresIn: t.exposeInt('expiresIn'),
  }),
});

type Me = Awaited<ReturnType<typeof meOp.run>>;
const CurrentUser = builder.objectRef<Me>('CurrentUser').implement({
  description: 'The signed-in user and what their role allows',
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username'),
    role: t.exposeString('role'),
    email: t.exposeString('email', { nullable: true }),
    isActive: t.exposeBoolean('isActive'),
    lastLogin: t.expose('lastLogin', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    permissions: t.field({ type: [Permission], resolve: (u) => u.permissions }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: CurrentUser,
    authScopes: scopesFor(meOp.requires),
    resolve: (_root, _args, ctx) => execute(meOp, ctx, {}),
  }),
}));

builder.mutationFields((t) => ({
  login: t.field({
    type: LoginPayload,
    description: 'Exchanges username and password for an access token and a refresh token (rate limited)',
    args: { username: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => execute(loginOp, ctx, args),
  }),
  refresh: t.field({
    type: RefreshPayload,
    description:
      'A new access token and refresh token for a refresh token (argument, or the Authorization header). Each refresh token works once; presenting a spent one ends its login session.',
    args: { refreshToken: t.arg.string() },
    resolve: (_root, args, ctx) => execute(refreshOp, ctx, { refreshToken: args.refreshToken ?? undefined }),
  }),
  logout: t.field({
    type: 'Boolean',
    description: 'Ends the login session of the refresh token (argument) or of the bearer token: its refresh and access tokens stop working',
    args: { refreshToken: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      await execute(logoutOp, ctx, { refreshToken: args.refreshToken ?? undefined });
      return true;
    },
  }),
}));
