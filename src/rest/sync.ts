/**
 * Sync sessions (/api/sessions… and /sync_sessions/api/…, SPEC §4.7), starting syncs
 * (/instances/{id}/sync, /account-list/sync/{id}, /account-sync/sync-all) and synced accounts
 * (/api/accounts, /account-list/…, /instances/…/accounts, /instance_accounts/…).
 * Starting a sync answers 202 with the running session; `?wait=true` waits for it to finish.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import * as syncOps from '../resolvers/sync.js';
import * as accountOps from '../resolvers/accounts.js';
import { waitForSession, getSession, type SessionWithRecords } from '../services/sync/sync-service.js';
import { sendPage, sendSuccess } from './envelope.js';
import { looseBoolean } from '../lib/schemas.js';
import type { RouteModule } from './route-table.js';
import { accountJson, accountVersionJson, changeJson, recordJson, sessionJson } from './sync-serializers.js';
import type { Ctx } from '../context.js';

const sessions = (p = '') => [`/api/sessions${p}`, `/sync_sessions/api/sessions${p}`];

/** Bounded wait for `?wait=true`, so a request never hangs on a stuck instance. */
const WAIT_LIMIT_MS = 120_000;

/** `?wait=true` (REST only): answer with the finished session instead of 202 and the running one. */
const startQuery = z.object({ wait: looseBoolean.optional().describe('为 true 时等待同步结束再返回 (最多 120 秒)') });

function presentStarted(deps: AppDeps) {
  return async (res: Response, session: SessionWithRecords, _ctx: Ctx, _req: Request, query: z.output<typeof startQuery>) => {
    if (query.wait) {
      await Promise.race([waitForSession(deps, session.sessionId), new Promise((r) => setTimeout(r, WAIT_LIMIT_MS).unref())]);
      const done = await getSession(deps, session.sessionId);
      // Still running: the wait limit passed, or this gateway is stopping and other replicas go on.
      if (done.status === 'running') sendSuccess(res, sessionJson(done), '同步任务仍在进行', 202);
      else sendSuccess(res, sessionJson(done), done.status === 'completed' ? '账户同步成功' : '账户同步结束');
      return;
    }
    sendSuccess(res, sessionJson(session), '同步任务已开始', 202);
  };
}

export function syncRoutes(api: RouteModule): void {
  const { deps } = api;
  api.get(sessions(), { summary: '同步会话列表', op: syncOps.syncSessionsOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, (s) => sessionJson(s, false)) });
  api.get(['/api/sync-statistics', '/sync_sessions/api/statistics'], {
    summary: '同步统计',
    op: syncOps.syncStatisticsOp,
    present: (res, s) =>
      sendSuccess(res, {
        total_sessions: s.totalSessions,
        running_sessions: s.runningSessions,
        completed_sessions: s.completedSessions,
        failed_sessions: s.failedSessions,
        cancelled_sessions: s.cancelledSessions,
        scheduled_sessions: s.scheduledSessions,
        manual_sessions: s.manualSessions,
        by_category: s.byCategory,
      }),
  });
  api.get(sessions('/:id'), { summary: '同步会话详情 (含各实例记录)', op: syncOps.syncSessionOp, present: (res, s) => sendSuccess(res, sessionJson(s)) });
  api.post(sessions('/:id/cancel'), { summary: '取消同步会话', op: syncOps.cancelSyncSessionOp, errors: [409], present: (res, s) => sendSuccess(res, sessionJson(s), '会话已取消') });
  api.get(sessions('/:id/error-logs'), {
    summary: '同步会话的失败记录',
    op: syncOps.sessionErrorLogsOp,
    present: (res, out) => sendSuccess(res, { session: sessionJson(out.session, false), error_records: out.errorRecords.map(recordJson), error_count: out.errorCount }),
  });

  api.post(['/api/instances/:id/sync', '/instances/:id/sync', '/account-list/sync/:id', '/account-list/api/sync/:id'], {
    summary: '同步一个实例的账户 (202 与运行中的会话；?wait=true 等待结果)',
    op: syncOps.syncInstanceAccountsOp,
    params: { id: 'instanceId' },
    restQuery: startQuery,
    status: 202,
    errors: [409, 422],
    present: presentStarted(deps),
  });
  api.post(['/api/sync-all', '/account-sync/sync-all'], {
    summary: '同步全部 (或按类型/实例) 实例的账户',
    op: syncOps.syncAllAccountsOp,
    from: 'body',
    example: { db_type: 'postgresql' },
    restQuery: startQuery,
    status: 202,
    errors: [409, 422],
    present: presentStarted(deps),
  });

  // Point in time (before /api/accounts/:id, which would take "at" for an id).
  api.get('/api/accounts/at', {
    summary: '某一时刻的账户及其权限 (账户历史)',
    id: 'accountsAt',
    op: accountOps.accountsAtOp,
    from: 'query',
    errors: [422],
    response: 'page',
    present: (res, page) => sendPage(res, page, accountVersionJson),
  });
  api.get(['/api/instances/:instanceId/accounts-at', '/instances/api/instances/:instanceId/accounts-at'], {
    summary: '实例在某一时刻的账户及其权限 (账户历史)',
    id: 'instanceAccountsAt',
    op: accountOps.accountsAtOp,
    from: 'query',
    errors: [422],
    response: 'page',
    present: (res, page) => sendPage(res, page, accountVersionJson),
  });
  api.get(['/api/accounts', '/account-list/api/accounts'], { summary: '账户列表', op: accountOps.listAccountsOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, accountJson) });
  api.get(['/api/accounts/:id', '/account-list/:id/permissions'], { summary: '账户详情与权限', op: accountOps.getAccountOp, present: (res, a) => sendSuccess(res, accountJson(a)) });
  api.get(['/api/accounts/:id/changes', '/account-list/:id/change-history', '/instances/api/instances/:instanceId/accounts/:id/change-history'], {
    summary: '账户变更历史',
    op: accountOps.accountChangesOp,
    from: 'query',
    params: { id: 'accountId' },
    response: 'page',
    present: (res, page) => sendPage(res, page, changeJson),
  });
  api.get(['/api/instances/:instanceId/accounts', '/instances/instances/:instanceId/accounts', '/instance_accounts/:instanceId/accounts'], {
    summary: '实例的账户列表',
    id: 'instanceAccounts',
    op: accountOps.instanceAccountsOp,
    from: 'query',
    response: 'page',
    present: (res, page) => sendPage(res, page, accountJson),
  });
  api.get('/api/account-changes', { summary: '账户变更记录', op: accountOps.accountChangesOp, id: 'allAccountChanges', from: 'query', response: 'page', present: (res, page) => sendPage(res, page, changeJson) });
}
