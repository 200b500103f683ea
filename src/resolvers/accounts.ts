/** Reads of synced accounts and their change history. */
import { z } from 'zod';
import { operation } from './operation.js';
import { DB_TYPES } from '../adapters/types.js';
import { checkDateRange, listQuerySchema } from '../lib/pagination.js';
import { idSchema, looseBoolean } from '../lib/schemas.js';
import * as accounts from '../services/accounts/account-service.js';

const optional = <T extends z.ZodTypeAny>(s: T) => s.nullish().transform((v) => v ?? undefined);

const listAccountsInput = listQuerySchema({
    sortFields: {
      username: 'username',
      last_change_time: 'lastChangeTime',
      lastChangeTime: 'lastChangeTime',
      last_sync_time: 'lastSyncTime',
      lastSyncTime: 'lastSyncTime',
      id: 'id',
    },
    defaultSort: 'username',
    defaultOrder: 'asc',
  }).extend({
    instanceId: optional(idSchema),
    dbType: optional(z.enum(DB_TYPES, { errorMap: () => ({ message: `数据库类型必须是 ${DB_TYPES.join(', ')} 之一` }) })),
    isSuperuser: optional(looseBoolean),
    isLocked: optional(looseBoolean),
    isActive: optional(looseBoolean),
    classificationId: optional(idSchema),
    includeDeleted: optional(looseBoolean),
  });

export const listAccountsOp = operation({
  name: 'accounts',
  requires: 'view',
  input: listAccountsInput,
  run: (ctx, q) => accounts.listAccounts(ctx.deps, q),
});

/** The accounts under an instance path (/api/instances/{id}/accounts): 404 when the instance does not exist. */
export const instanceAccountsOp = operation({
  name: 'instanceAccounts',
  requires: 'view',
  input: listAccountsInput.extend({ instanceId: idSchema }),
  run: (ctx, q) => accounts.listInstanceAccounts(ctx.deps, q),
});

export const getAccountOp = operation({
  name: 'account',
  requires: 'view',
  input: z.object({ id: idSchema }),
  run: (ctx, { id }) => accounts.getAccount(ctx.deps, id),
});

export const accountChangesOp = operation({
  name: 'accountChanges',
  requires: 'view',
  input: listQuerySchema({ sortFields: { change_time: 'changeTime' }, defaultSort: 'changeTime' })
    .extend({
      instanceId: optional(idSchema),
      accountId: optional(idSchema),
      changeType: optional(z.enum(['add', 'modify_privilege', 'modify_other', 'delete', 'restore'], { errorMap: () => ({ message: '无效的变更类型' }) })),
    })
    .superRefine(checkDateRange),
  run: (ctx, q) => accounts.listAccountChanges(ctx.deps, q),
});
