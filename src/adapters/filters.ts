/**
 * Default account filters per engine (SPEC §3.4 database_filters): system and internal accounts the
 * sync leaves out. They are defaults only: the sync service passes the configured filter (global
 * param `account_filters`) to the adapter, which compiles it into parameterised SQL.
 */
import type { AccountFilter, DbType } from './types.js';

export const DEFAULT_ACCOUNT_FILTERS: Record<DbType, AccountFilter> = {
  mysql: { excludeUsers: [], excludePatterns: ['mysql%'] },
  postgresql: { excludeUsers: ['rdsadmin', 'rds_superuser'], excludePatterns: ['pg\\_%'] },
  sqlserver: { excludeUsers: ['public', 'guest', 'dbo'], excludePatterns: ['##%', 'NT SERVICE\\%', 'NT AUTHORITY\\%', 'BUILTIN\\%', 'NT %'] },
  oracle: {
    excludeUsers: [
      'SCOTT', 'CTXSYS', 'EXFSYS', 'MDDATA', 'APPQOSSYS', 'OUTLN', 'DIP', 'TSMSYS', 'WMSYS', 'XDB', 'ANONYMOUS', 'ORDPLUGINS', 'ORDSYS',
      'SI_INFORMTN_SCHEMA', 'MDSYS', 'OLAPSYS', 'SPATIAL_CSW_ADMIN_USR', 'SPATIAL_WFS_ADMIN_USR', 'APEX_PUBLIC_USER', 'APEX_030200',
      'FLOWS_FILES', 'HR', 'OE', 'PM', 'IX', 'SH', 'BI', 'DEMO', 'ADMIN', 'AUDSYS', 'GSMADMIN_INTERNAL', 'GSMCATUSER', 'GSMUSER',
      'LBACSYS', 'OJVMSYS', 'ORACLE_OCM', 'ORDDATA', 'ORDS_METADATA', 'ORDS_PUBLIC_USER', 'PDBADMIN', 'RDSADMIN',
      'REMOTE_SCHEDULER_AGENT', 'SYSBACKUP', 'SYSDG', 'SYSKM', 'SYSRAC', 'SYS$UMF', 'XS$NULL', 'OWBSYS', 'OWBSYS_AUDIT',
    ],
    excludePatterns: ['SYS$%', 'GSM%', 'XDB%', 'APEX%', 'ORD%', 'SPATIAL\\_%'],
  },
};

/**
 * `column NOT IN (...) AND column NOT LIKE ...` with placeholders made by `ph(index)` (1-based),
 * plus the parameter values in order. `always` names accounts kept whatever the patterns say.
 */
export function compileFilter(
  column: string,
  filter: AccountFilter,
  ph: (i: number) => string,
  startIndex = 1,
  always: string[] = [],
): { sql: string; params: string[] } {
  const params: string[] = [];
  const parts: string[] = [];
  const next = (v: string) => {
    params.push(v);
    return ph(startIndex + params.length - 1);
  };
  if (filter.excludeUsers.length) parts.push(`${column} NOT IN (${filter.excludeUsers.map(next).join(', ')})`);
  const likes = filter.excludePatterns.map((p) => `${column} NOT LIKE ${next(p)}`);
  if (likes.length) {
    const keep = always.map((a) => `${column} = ${next(a)}`);
    parts.push(keep.length ? `((${likes.join(' AND ')}) OR ${keep.join(' OR ')})` : likes.join(' AND '));
  }
  return { sql: parts.length ? parts.join(' AND ') : '1=1', params };
}
