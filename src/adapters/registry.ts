/** db type → adapter: the only place that knows which module serves which engine. */
import { mysqlAdapter } from './mysql.js';
import { oracleAdapter } from './oracle.js';
import { postgresAdapter } from './postgres.js';
import { sqlserverAdapter } from './sqlserver.js';
import { DB_TYPES, type DbAdapter, type DbType } from './types.js';

const ADAPTERS: Record<DbType, DbAdapter> = {
  postgresql: postgresAdapter,
  mysql: mysqlAdapter,
  sqlserver: sqlserverAdapter,
  oracle: oracleAdapter,
};

export function isDbType(v: unknown): v is DbType {
  return typeof v === 'string' && (DB_TYPES as readonly string[]).includes(v);
}

export function getAdapter(dbType: DbType): DbAdapter {
  const a = ADAPTERS[dbType];
  if (!a) throw new Error(`no adapter for database type ${dbType}`);
  return a;
}
