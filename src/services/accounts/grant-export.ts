/**
 * Grant export: an instance's accounts and privileges as deterministic, sorted text or CSV, one
 * privilege per line, so two exports diff cleanly in version control. Same lines as baselines
 * (privilege-lines.ts); no timestamps, ids or raw grant statements.
 */
import { stringify } from 'csv-stringify/sync';
import type { AppDeps } from '../../deps.js';
import { ResourceNotFoundError } from '../../lib/errors.js';
import { csvSafe } from '../../lib/csv.js';
import { currentLines } from '../drift/drift-service.js';
import { grantRows, grantText } from './privilege-lines.js';

export const GRANT_EXPORT_FORMATS = ['text', 'csv'] as const;
export type GrantExportFormat = (typeof GRANT_EXPORT_FORMATS)[number];

export interface GrantExport {
  instanceId: number;
  instanceName: string;
  format: GrantExportFormat;
  content: string;
}

/** CSV of the same rows: header `account,privilege`; cells a spreadsheet would execute get a leading quote. */
export function grantCsv(accounts: Array<{ account: string; lines: string[] }>): string {
  return stringify([['account', 'privilege'], ...grantRows(accounts).map(([a, l]) => [csvSafe(a), csvSafe(l)])], { record_delimiter: 'unix' });
}

export async function exportGrants(deps: AppDeps, instanceId: number, format: GrantExportFormat): Promise<GrantExport> {
  const instance = await deps.prisma.instance.findFirst({ where: { id: instanceId, deletedAt: null }, select: { id: true, name: true, dbType: true } });
  if (!instance) throw new ResourceNotFoundError('实例不存在', { instance_id: instanceId });
  const accounts = [...(await currentLines(deps.prisma, instance))].map(([account, lines]) => ({ account, lines }));
  return { instanceId, instanceName: instance.name, format, content: format === 'csv' ? grantCsv(accounts) : grantText(accounts) };
}
