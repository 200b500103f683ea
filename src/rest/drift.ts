/**
 * Baselines and drift (/api/instances/{id}/baseline, /api/baselines, /api/instances/{id}/drift[.csv],
 * /api/instances/{id}/drift/accept) and the grant export (/api/instances/{id}/grants[.txt|.csv]).
 */
import type { Response } from 'express';
import { z } from 'zod';
import { stringify } from 'csv-stringify/sync';
import * as ops from '../resolvers/drift.js';
import type { BaselineRow, DriftReport } from '../services/drift/drift-service.js';
import { DRIFT_CSV_HEADER, driftCsvRows, type DriftItem } from '../services/drift/drift.js';
import type { GrantExport } from '../services/accounts/grant-export.js';
import { csvSafe } from '../lib/csv.js';
import { sendSuccess } from './envelope.js';
import type { RouteModule } from './route-table.js';
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

/** `?format=` of the drift report (REST only): json (default) or csv. */
const driftQuery = z.object({
  format: z
    .enum(['json', 'csv', ''], { errorMap: () => ({ message: 'format 必须是 json 或 csv' }) })
    .optional()
    .describe('json (默认) 或 csv'),
});

export function driftRoutes(api: RouteModule): void {
  const inst = (p: string) => [`/api/instances/:id${p}`, `/instances/api/instances/:id${p}`];
  const params = { id: 'instanceId' };

  api.post(inst('/baseline'), {
    summary: '冻结实例当前的账户与权限为基线',
    id: 'createInstanceBaseline',
    op: ops.createBaselineOp,
    params,
    status: 201,
    errors: [422],
    present: (res, rows) => sendSuccess(res, baselineJson(rows[0]!), '基线已冻结', 201),
  });
  api.get(inst('/baseline'), { summary: '实例的基线', op: ops.baselineOp, params, present: (res, b) => sendSuccess(res, baselineJson(b)) });
  api.post('/api/baselines', {
    summary: '冻结基线: 一个实例 (instance_id) 或带某标签的全部实例 (tag)',
    op: ops.createBaselineOp,
    from: 'body',
    status: 201,
    errors: [404, 422],
    example: { tag: 'production' },
    present: (res, rows) => sendSuccess(res, { baselines: rows.map((b) => baselineJson(b, false)), count: rows.length }, `基线已冻结: ${rows.length} 个实例`, 201),
  });

  api.get(inst('/drift.csv'), {
    summary: '实例相对基线的漂移 (CSV)',
    id: 'driftReportCsv',
    op: ops.driftReportOp,
    params,
    response: 'csv',
    present: (res, report) => sendDriftCsv(res, report),
  });
  api.get(inst('/drift'), {
    summary: '实例相对基线的漂移 (format=csv 时为 CSV)',
    op: ops.driftReportOp,
    params,
    restQuery: driftQuery,
    response: 'csv-or-envelope',
    present: (res, report, _ctx, _req, query) => {
      if (query.format === 'csv') sendDriftCsv(res, report);
      else sendSuccess(res, driftJson(report));
    },
  });
  api.post(inst('/drift/accept'), {
    summary: '接受漂移条目 (写入基线)',
    op: ops.acceptDriftOp,
    from: 'body',
    params,
    errors: [422],
    example: { items: [{ kind: 'extra_account', account: 'app_user' }] },
    present: (res, report) => sendSuccess(res, driftJson(report), '漂移条目已接受'),
  });

  api.get(inst('/grants.txt'), {
    summary: '导出实例的授权语句 (文本)',
    id: 'grantExportText',
    op: ops.grantExportOp,
    params,
    fixed: { format: 'text' },
    response: 'text',
    present: (res, g) => sendGrants(res, g),
  });
  api.get(inst('/grants.csv'), {
    summary: '导出实例的授权 (CSV)',
    id: 'grantExportCsv',
    op: ops.grantExportOp,
    params,
    fixed: { format: 'csv' },
    response: 'csv',
    present: (res, g) => sendGrants(res, g),
  });
  api.get(inst('/grants'), {
    summary: '导出实例的授权 (format=text|txt|csv)',
    op: ops.grantExportOp,
    from: 'query',
    params,
    response: 'text-or-csv',
    present: (res, g) => sendGrants(res, g),
  });
}
