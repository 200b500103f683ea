/** Synced accounts (the unified model) and their change history. */
import { builder, scopesFor } from './builder.js';
import { connectionType, pagingArgs } from './common.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/accounts.js';
import { privilegesOf, type AccountRow, type ChangeRow } from '../services/accounts/account-service.js';
import type { AccountVersionRow } from '../services/accounts/history-service.js';

const AccountInstance = builder.objectRef<AccountRow['instance']>('AccountInstance').implement({
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name'), dbType: t.exposeString('dbType'), host: t.exposeString('host') }),
});

export const AccountRef = builder.objectRef<AccountRow>('Account').implement({
  description: 'An account (login, role or user) found on a managed instance',
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username', { description: 'MySQL: user@host; otherwise the login/role name' }),
    host: t.exposeString('host', { nullable: true }),
    dbType: t.exposeString('dbType'),
    isSuperuser: t.exposeBoolean('isSuperuser'),
    isActive: t.exposeBoolean('isActive'),
    isLocked: t.exposeBoolean('isLocked'),
    isDeleted: t.exposeBoolean('isDeleted'),
    deletedAt: t.expose('deletedTime', { type: 'DateTime', nullable: true }),
    lastChangeType: t.exposeString('lastChangeType'),
    lastChangeTime: t.expose('lastChangeTime', { type: 'DateTime' }),
    lastSyncTime: t.expose('lastSyncTime', { type: 'DateTime' }),
    lastLoginAt: t.expose('lastLoginAt', { type: 'DateTime', nullable: true, description: 'Last successful login, where the engine records it (Oracle 12c+); null otherwise' }),
    passwordChangedAt: t.expose('passwordChangedAt', { type: 'DateTime', nullable: true, description: 'When the password was last changed (MySQL/MariaDB, SQL Server SQL logins, recent Oracle); null when not reported' }),
    passwordExpiresAt: t.expose('passwordExpiresAt', { type: 'DateTime', nullable: true, description: 'When the password expires or expired (PostgreSQL VALID UNTIL, MySQL/MariaDB lifetime, Oracle EXPIRY_DATE); null: never or not reported' }),
    privileges: t.field({ type: 'JSON', description: 'the engine-specific privilege view (SPEC §2.5)', resolve: (a) => privilegesOf(a) }),
    instance: t.field({ type: AccountInstance, resolve: (a) => a.instance }),
  }),
});

const AccountChangeRef = builder.objectRef<ChangeRow>('AccountChange').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    instanceId: t.exposeID('instanceId'),
    accountId: t.exposeID('accountId', { nullable: true }),
    username: t.exposeString('username'),
    changeType: t.exposeString('changeType', { description: 'add, modify_privilege, modify_other, delete or restore' }),
    diff: t.field({ type: 'JSON', description: '{ privilege: {...}, other: {...} }', resolve: (c) => ({ privilege: c.privilegeDiff ?? {}, other: c.otherDiff ?? {} }) }),
    message: t.exposeString('message', { nullable: true }),
    changedAt: t.expose('changeTime', { type: 'DateTime' }),
    sessionId: t.exposeString('sessionId', { nullable: true }),
  }),
});

export const AccountVersionRef = builder.objectRef<AccountVersionRow>('AccountVersion').implement({
  description: 'An account as it was during one period of its history (the state accountsAt answers with)',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'the account id (as in Account.id)' }),
    versionId: t.exposeID('versionId'),
    username: t.exposeString('username', { description: 'MySQL: user@host; otherwise the login/role name' }),
    host: t.exposeString('host', { nullable: true }),
    dbType: t.exposeString('dbType'),
    isSuperuser: t.exposeBoolean('isSuperuser'),
    isActive: t.exposeBoolean('isActive'),
    isLocked: t.exposeBoolean('isLocked'),
    isDeleted: t.exposeBoolean('isDeleted', { description: 'the account had been dropped on the instance (only with includeDeleted)' }),
    changeType: t.exposeString('changeType', { description: 'the change that started this period: add, modify_privilege, modify_other, delete or restore' }),
    validFrom: t.expose('validFrom', { type: 'DateTime', description: 'the sync that recorded this state' }),
    validTo: t.expose('validTo', { type: 'DateTime', nullable: true, description: 'the sync that recorded the next state; null = still current' }),
    privileges: t.field({ type: 'JSON', description: 'the engine-specific privilege view (SPEC §2.5)', resolve: (a) => privilegesOf(a) }),
    instance: t.field({ type: AccountInstance, resolve: (a) => a.instance }),
  }),
});

const AccountConnection = connectionType('Account', AccountRef);
const AccountVersionConnection = connectionType('AccountVersion', AccountVersionRef);
const AccountChangeConnection = connectionType('AccountChange', AccountChangeRef);

builder.queryFields((t) => ({
  accounts: t.field({
    type: AccountConnection,
    authScopes: scopesFor(ops.listAccountsOp.requires),
    args: {
      ...pagingArgs(t.arg),
      instanceId: t.arg.id(),
      dbType: t.arg.string(),
      search: t.arg.string(),
      isSuperuser: t.arg.boolean(),
      isLocked: t.arg.boolean(),
      isActive: t.arg.boolean(),
      classificationId: t.arg.id(),
      includeDeleted: t.arg.boolean(),
      sort: t.arg.string({ description: 'username, last_change_time, last_sync_time, id' }),
      order: t.arg.string(),
    },
    resolve: (_r, args, ctx) => execute(ops.listAccountsOp, ctx, args),
  }),
  accountsAt: t.field({
    type: AccountVersionConnection,
    description:
      'The accounts of an instance as they were at a past moment (since the instance\'s history began), with the filters of `accounts` plus privilege, role and rule questions',
    authScopes: scopesFor(ops.accountsAtOp.requires),
    args: {
      ...pagingArgs(t.arg),
      instanceId: t.arg.id({ required: true }),
      at: t.arg({ type: 'DateTime', required: true, description: 'the moment (not in the future, not before the history began)' }),
      dbType: t.arg.string(),
      search: t.arg.string(),
      isSuperuser: t.arg.boolean(),
      isLocked: t.arg.boolean(),
      isActive: t.arg.boolean(),
      includeDeleted: t.arg.boolean({ description: 'also accounts that had been dropped by then' }),
      privilege: t.arg.string({ description: 'could use this privilege (INSERT, SELECT, …), per engine; with database: on that database' }),
      database: t.arg.string({ description: 'the database of privilege (and of SQL Server database roles for role)' }),
      role: t.arg.string({ description: 'was a member of this role' }),
      rule: t.arg({ type: 'JSON', description: 'a classification rule expression for the instance\'s type' }),
      sort: t.arg.string({ description: 'username, id, valid_from' }),
      order: t.arg.string(),
    },
    resolve: (_r, args, ctx) => execute(ops.accountsAtOp, ctx, args),
  }),
  account: t.field({
    type: AccountRef,
    authScopes: scopesFor(ops.getAccountOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => execute(ops.getAccountOp, ctx, args),
  }),
  accountChanges: t.field({
    type: AccountChangeConnection,
    authScopes: scopesFor(ops.accountChangesOp.requires),
    args: { ...pagingArgs(t.arg), instanceId: t.arg.id(), accountId: t.arg.id(), changeType: t.arg.string(), startDate: t.arg.string(), endDate: t.arg.string() },
    resolve: (_r, args, ctx) => execute(ops.accountChangesOp, ctx, args),
  }),
}));
