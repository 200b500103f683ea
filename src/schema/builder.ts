/**
 * The only SchemaBuilder. Plugins: scope-auth (every root field declares the permission level of its
 * operation) and prisma (Prisma-backed object types). Scopes are the permission levels of the API
 * document, computed once per request from the caller's role (auth/permissions.ts).
 */
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import { GraphQLScalarType, Kind } from 'graphql';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import type { Ctx } from '../context.js';
import { forbiddenMessage, hasPermission, PERMISSIONS, type Permission, type Requirement } from '../auth/permissions.js';
import { AuthenticationError, AuthorizationError } from '../lib/errors.js';

type PermissionScopes = { [P in Permission]: boolean };

export interface SchemaTypes {
  Context: Ctx;
  PrismaTypes: PrismaTypes;
  AuthScopes: PermissionScopes & { authenticated: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}

export type { SchemaTypes as BuilderTypes };

function firstScope(failure: AuthFailure): string | undefined {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope;
  if ('failures' in failure) for (const f of failure.failures) if (firstScope(f)) return firstScope(f);
  return undefined;
}

export const builder = new SchemaBuilder<SchemaTypes>({
  plugins: [ScopeAuthPlugin, PrismaPlugin],
  defaultFieldNullability: false,
  prisma: {
    client: (ctx: Ctx) => ctx.deps.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: true,
    filterConnectionTotalCount: true,
  },
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => {
      const scopes = { authenticated: !!ctx.user } as SchemaTypes['AuthScopes'];
      for (const p of PERMISSIONS) scopes[p] = hasPermission(ctx.user, p);
      return scopes;
    },
    unauthorizedError: (_parent, ctx, _info, result) => {
      if (!ctx.user) return ctx.authError ?? new AuthenticationError('请先登录', { reason: 'not_authenticated' });
      const scope = firstScope(result.failure);
      return new AuthorizationError(scope && scope !== 'authenticated' ? forbiddenMessage(scope as Permission) : '禁止访问', {
        required_permission: scope,
      });
    },
  },
});

/** The scope-auth map for an operation's requirement; public operations carry none. */
export function scopesFor(requires: Requirement): Partial<SchemaTypes['AuthScopes']> | undefined {
  return requires === 'public' ? undefined : ({ [requires]: true } as Partial<SchemaTypes['AuthScopes']>);
}

builder.addScalarType(
  'DateTime',
  new GraphQLScalarType<Date, string>({
    name: 'DateTime',
    description: 'UTC instant as an ISO-8601 string, e.g. 2025-09-18T08:30:00.000Z',
    serialize: (v) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString()),
    parseValue: (v) => {
      const d = new Date(String(v));
      if (typeof v !== 'string' || Number.isNaN(d.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
      return d;
    },
    parseLiteral: (ast) => {
      const d = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(NaN);
      if (Number.isNaN(d.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
      return d;
    },
  }),
);

builder.addScalarType(
  'JSON',
  new GraphQLScalarType({
    name: 'JSON',
    description: 'Arbitrary JSON value',
    serialize: (v) => v,
    parseValue: (v) => v,
  }),
);

builder.queryType({ description: 'Read operations of 鲸落 (WhaleFall)' });
builder.mutationType({ description: 'Write operations of 鲸落 (WhaleFall)' });
builder.subscriptionType({ description: 'Live updates over graphql-ws (same URL as HTTP: /graphql)' });
