/** Version banner parsing per engine (SPEC §3.5): first match wins, case-insensitive. */
import type { DbType, ServerVersion } from './types.js';

const PATTERNS: Record<DbType, RegExp[]> = {
  mysql: [/(\d+\.\d+\.\d+)/i, /(\d+\.\d+)/i],
  postgresql: [/PostgreSQL\s+(\d+\.\d+)/i, /(\d+\.\d+)/i],
  sqlserver: [/Microsoft SQL Server \d+\s+\([^)]+\)\s+\([^)]+\)\s+-\s+(\d+\.\d+\.\d+\.\d+)/i, /(\d+\.\d+\.\d+\.\d+)/i],
  oracle: [/Oracle Database \d+[a-z]* Release (\d+\.\d+\.\d+\.\d+\.\d+)/i, /(\d+\.\d+\.\d+\.\d+\.\d+)/i, /(\d+\.\d+\.\d+\.\d+)/i],
};

const UNKNOWN = '未知';

export function parseVersion(dbType: DbType, raw: string | null | undefined): ServerVersion {
  const text = (raw ?? '').trim();
  if (!text) return { raw: '', main: UNKNOWN, detailed: UNKNOWN, display: UNKNOWN };
  for (const re of PATTERNS[dbType]) {
    const m = re.exec(text);
    if (m?.[1]) {
      const detailed = m[1];
      const main = detailed.split('.').slice(0, 2).join('.');
      return { raw: text, main, detailed, display: main === detailed ? main : `${main} (${detailed})` };
    }
  }
  const detailed = text.length > 50 ? `${text.slice(0, 50)}...` : text;
  return { raw: text, main: UNKNOWN, detailed, display: detailed };
}
