/**
 * Baselines and drift (/api/instances/{id}/baseline, /api/baselines, /api/instances/{id}/drift[.csv],
 * /api/instances/{id}/drift/accept) and the grant export (/api/instances/{id}/grants[.txt|.csv]).
 */
import { Router, type Request, type Response } from 'express';
import { stringify } from 'csv-stringify/sync';
import type { AppDeps } from '../deps.js';
import * as ops from '../resolvers/drift.js';
import type { BaselineRow, DriftReport } from '../services/drift/drift-service.js';
import { DRIFT_CSV_HEADER, driftCsvRows, type DriftItem } from '../services/drift/drift.js';
import type { GrantExport } from '../services/accounts/grant-export.js';
import { csvSafe } from '../lib/csv.js';
import { sendSuccess } from './envelope.js';
import { bodyInput, queryInput, rest } from './handler.js';
import { iso } from './serializers.js';

const user = (u: { id: number; username: string } | null) => (u ? { id: u.id, username: u.username } : null);

export function baselineJson(b: BaselineRow, withAccounts = true) {
  return {
    id: b.id,
    instance_id: b.instanceId,
    instance_name: b.instance.name,
    db_type: b.dbType,
    tag_name: b.tagName,
    group_id: b.groupId,
    frozen_at: iso(b.frozenAt),
    frozen_by: user(b.freezer),
    accepted_at: iso(b.acceptedAt),
    accepted_by: user(b.acceptor),
    account_count: b.accounts.length,
    ...(withAccounts ? { accounts: b.accounts.map((a) => ({ account: a.username, privileges: Array.isArray(a.privileges) ? a.privileges : [] })) } : {}),
  };
}

const itemJson = (i: DriftItem) => ({ kind: i.kind, account: i.account, privilege: i.privilege, privileges: i.privileges });

export function driftJson(r: DriftReport) {
  return {
    instance_id: r.instanceId,
    instance_name: r.instanceName,
    db_type: r.dbType,
    baseline_id: r.baselineId,
    frozen_at: iso(r.frozenAt),
    tag_name: r.tagName,
    has_drift: r.hasDrift,
    summary: {
      extra_accounts: r.summary.extraAccounts,
      missing_accounts: r.summary.missingAccounts,
      extra_privileges: r.summary.extraPrivileges,
      missing_privileges: r.summary.missingPrivileges,
      total: r.summary.total,
    },
    items: r.items.map(itemJson),
    last_checked_at: iso(r.lastCheckedAt),
    last_session_id: r.lastSessionId,
  };
}

/** File names carry the instance id only: no timestamp, so the same state downloads to the same file. */
function sendDriftCsv(res: Response, r: DriftReport): void {
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename=drift_instance_${r.instanceId}.csv`);
  res.send(stringify([[...DRIFT_CSV_HEADER], ...driftCsvRows(r.items).map((row) => row.map(csvSafe))], { record_delimiter: 'unix' }));
}

function sendGrants(res: Response, g: GrantExport): void {
  res.setHeader('Content-Type', g.format === 'csv' ? 'text/csv; charset=utf-8' : 'text/plain; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename=grants_instance_${g.instanceId}.${g.format === 'csv' ? 'csv' : 'txt'}`);
  res.send(g.content);
}

const instanceId = (req: Request) => ({ instanceId: req.params.id });

export function driftRoutes(deps: AppDeps): Router {
  const r = Router();
  const inst = (p: string) => [`/api/instances/:id${p}`, `/instances/api/instances/:id${p}`];

  r.post(inst('/baseline'), rest(deps, ops.createBaselineOp, instanceId, (res, rows) => sendSuccess(res, baselineJson(rows[0]!), '基线已冻结', 201)));
  r.get(inst('/baseline'), rest(deps, ops.baselineOp, instanceId, (res, b) => sendSuccess(res, baselineJson(b))));
  r.post('/api/baselines', rest(deps, ops.createBaselineOp, bodyInput, (res, rows) =>
    sendSuccess(res, { baselines: rows.map((b) => baselineJson(b, false)), count: rows.length }, `基线已冻结: ${rows.length} 个实例`, 201),
  ));

  r.get(inst('/drift.csv'), rest(deps, ops.driftReportOp, instanceId, (res, report) => sendDriftCsv(res, report)));
  r.get(inst('/drift'), rest(deps, ops.driftReportOp, instanceId, (res, report, _ctx, req) => {
    if (ops.driftFormat(req.query.format) === 'csv') sendDriftCsv(res, report);
    else sendSuccess(res, driftJson(report));
  }));
  r.post(inst('/drift/accept'), rest(deps, ops.acceptDriftOp, (req) => ({ ...bodyInput(req), ...instanceId(req) }), (res, report) =>
    sendSuccess(res, driftJson(report), '漂移条目已接受'),
  ));

  r.get(inst('/grants.txt'), rest(deps, ops.grantExportOp, (req) => ({ ...instanceId(req), format: 'text' }), (res, g) => sendGrants(res, g)));
  r.get(inst('/grants.csv'), rest(deps, ops.grantExportOp, (req) => ({ ...instanceId(req), format: 'csv' }), (res, g) => sendGrants(res, g)));
  r.get(inst('/grants'), rest(deps, ops.grantExportOp, (req) => ({ ...instanceId(req), format: queryInput(req).format }), (res, g) => sendGrants(res, g)));
  return r;
}
