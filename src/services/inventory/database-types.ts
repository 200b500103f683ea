/** Database type configs (SPEC §2.4): seeded idempotently at start, listed for clients and forms. */
import type { PrismaClient } from '../../generated/prisma/client.js';

/** The seed of the upstream's initialisation script. `default_schema` is a database/service name. */
export const DATABASE_TYPE_SEED = [
  { name: 'mysql', displayName: 'MySQL', driver: 'mysql2', defaultPort: 3306, defaultSchema: 'mysql', color: 'primary', features: ['replication', 'partitioning', 'json'], sortOrder: 1 },
  { name: 'postgresql', displayName: 'PostgreSQL', driver: 'pg', defaultPort: 5432, defaultSchema: 'postgres', color: 'info', features: ['jsonb', 'arrays', 'full_text_search'], sortOrder: 2 },
  { name: 'sqlserver', displayName: 'SQL Server', driver: 'mssql', defaultPort: 1433, defaultSchema: 'master', color: 'danger', features: ['clustering', 'mirroring', 'always_on'], sortOrder: 3 },
  { name: 'oracle', displayName: 'Oracle', driver: 'oracledb', defaultPort: 1521, defaultSchema: 'orcl', color: 'warning', features: ['rac', 'asm', 'flashback'], sortOrder: 4 },
] as const;

/** Inserts missing built-in types; never overwrites an operator's edits. */
export async function seedDatabaseTypes(prisma: PrismaClient): Promise<void> {
  await prisma.databaseTypeConfig.createMany({
    data: DATABASE_TYPE_SEED.map((t) => ({ ...t, features: [...t.features], icon: 'fa-database', isSystem: true, isActive: true, connectionTimeout: 30 })),
    skipDuplicates: true,
  });
}

export async function listDatabaseTypes(prisma: PrismaClient, activeOnly: boolean) {
  return prisma.databaseTypeConfig.findMany({ where: activeOnly ? { isActive: true } : {}, orderBy: [{ sortOrder: 'asc' }, { name: 'asc' }] });
}
