/**
 * Sync sessions (/api/sessions… and /sync_sessions/api/…, SPEC §4.7), starting syncs
 * (/instances/{id}/sync, /account-list/sync/{id}, /account-sync/sync-all) and synced accounts
 * (/api/accounts, /account-list/…, /instances/…/accounts, /instance_accounts/…).
 * Starting a sync answers 202 with the running session; `?wait=true` waits for it to finish.
 */
import { Router, type Request, type Response } from 'express';
import type { AppDeps } from '../deps.js';
import * as syncOps from '../resolvers/sync.js';
import * as accountOps from '../resolvers/accounts.js';
import { waitForSession, getSession, type SessionWithRecords } from '../services/sync/sync-service.js';
import { sendPage, sendSuccess } from './envelope.js';
import { bodyInput, queryInput, rest } from './handler.js';
import { accountJson, accountVersionJson, changeJson, recordJson, sessionJson } from './sync-serializers.js';
import type { Ctx } from '../context.js';

const sessions = (p = '') => [`/api/sessions${p}`, `/sync_sessions/api/sessions${p}`];

/** Bounded wait for `?wait=true`, so a request never hangs on a stuck instance. */
const WAIT_LIMIT_MS = 120_000;

function presentStarted(deps: AppDeps) {
  return async (res: Response, session: SessionWithRecords, _ctx: Ctx, req: Request) => {
    if (req.query.wait === 'true' || req.query.wait === '1') {
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

export function syncRoutes(deps: AppDeps): Router {
  const r = Router();
  r.get(sessions(), rest(deps, syncOps.syncSessionsOp, queryInput, (res, page) => sendPage(res, page, (s) => sessionJson(s, false))));
  r.get(['/api/sync-statistics', '/sync_sessions/api/statistics'], rest(deps, syncOps.syncStatisticsOp, () => ({}), (res, s) =>
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
  ));
  r.get(sessions('/:id'), rest(deps, syncOps.syncSessionOp, (req) => ({ id: req.params.id }), (res, s) => sendSuccess(res, sessionJson(s))));
  r.post(sessions('/:id/cancel'), rest(deps, syncOps.cancelSyncSessionOp, (req) => ({ id: req.params.id }), (res, s) => sendSuccess(res, sessionJson(s), '会话已取消')));
  r.get(sessions('/:id/error-logs'), rest(deps, syncOps.sessionErrorLogsOp, (req) => ({ id: req.params.id }), (res, out) =>
    sendSuccess(res, { session: sessionJson(out.session, false), error_records: out.errorRecords.map(recordJson), error_count: out.errorCount }),
  ));

  r.post(
    ['/instances/:id/sync', '/account-list/sync/:id', '/account-list/api/sync/:id', '/api/instances/:id/sync'],
    rest(deps, syncOps.syncInstanceAccountsOp, (req) => ({ instanceId: req.params.id }), presentStarted(deps)),
  );
  r.post(['/account-sync/sync-all', '/api/sync-all'], rest(deps, syncOps.syncAllAccountsOp, bodyInput, presentStarted(deps)));

  // Point in time (before /api/accounts/:id, which would take "at" for an id).
  r.get('/api/accounts/at', rest(deps, accountOps.accountsAtOp, queryInput, (res, page) => sendPage(res, page, accountVersionJson)));
  r.get(
    ['/api/instances/:instanceId/accounts-at', '/instances/api/instances/:instanceId/accounts-at'],
    rest(deps, accountOps.accountsAtOp, (req) => ({ ...queryInput(req), instanceId: req.params.instanceId }), (res, page) => sendPage(res, page, accountVersionJson)),
  );
  r.get(['/api/accounts', '/account-list/api/accounts'], rest(deps, accountOps.listAccountsOp, queryInput, (res, page) => sendPage(res, page, accountJson)));
  r.get(['/api/accounts/:id', '/account-list/:id/permissions'], rest(deps, accountOps.getAccountOp, (req) => ({ id: req.params.id }), (res, a) => sendSuccess(res, accountJson(a))));
  r.get(
    ['/api/accounts/:id/changes', '/account-list/:id/change-history', '/instances/api/instances/:instanceId/accounts/:id/change-history'],
    rest(deps, accountOps.accountChangesOp, (req) => ({ ...queryInput(req), accountId: req.params.id }), (res, page) => sendPage(res, page, changeJson)),
  );
  r.get(
    ['/instances/instances/:instanceId/accounts', '/instance_accounts/:instanceId/accounts', '/api/instances/:instanceId/accounts'],
    rest(deps, accountOps.instanceAccountsOp, (req) => ({ ...queryInput(req), instanceId: req.params.instanceId }), (res, page) => sendPage(res, page, accountJson)),
  );
  r.get(['/api/account-changes'], rest(deps, accountOps.accountChangesOp, queryInput, (res, page) => sendPage(res, page, changeJson)));
  return r;
}
