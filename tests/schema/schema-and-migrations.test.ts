import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generate } from '@graphql-codegen/cli';
import codegenConfig from '../../codegen.js';
import pg from 'pg';
import { printSdl, schema } from '../../src/schema/index.js';
import { MIGRATIONS_DIR, SCHEMA_PATH, migrate, readMigrations } from '../../src/db/migrations.js';
import { sqlFromDatabaseToSchema } from '../../src/db/schema-engine.js';
import { withScratchDatabase } from '../../src/db/scratch-database.js';
import { PG_ADMIN_URL } from '../helpers/env.js';

describe('GraphQL schema artefacts', () => {
  it('schema.graphql is the printed current schema (run `npm run codegen` when this fails)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed.trim()).toBe(printSdl().trim());
  });

  it('the typed test operations are generated from the current schema.graphql', async () => {
    const outputs = await generate({ ...codegenConfig, silent: true }, false);
    const committed = readFileSync(new URL('../generated/operations.ts', import.meta.url), 'utf8');
    expect(outputs[0].content.trim()).toBe(committed.trim());
  });

  /** Root fields that deliberately need no authentication. */
  const PUBLIC_FIELDS = new Set(['Mutation.login', 'Mutation.refresh', 'Mutation.logout', 'Query.health']);

  it('every root field declares scope-auth scopes unless it is deliberately public', () => {
    const missing: string[] = [];
    for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.values(type!.getFields())) {
        const key = `${type!.name}.${field.name}`;
        const opts = (field.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions;
        if (!opts?.authScopes && !PUBLIC_FIELDS.has(key)) missing.push(key);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('migrations', () => {
  it('agree with schema.prisma (drift check on a scratch database)', async () => {
    const migrations = await readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    // Applied by our own runner (as production does), then compared with schema.prisma by Prisma's
    // engine introspecting the result.
    const sql = await withScratchDatabase(PG_ADMIN_URL, async (url) => {
      await migrate(url);
      return sqlFromDatabaseToSchema(SCHEMA_PATH, url);
    });
    expect(sql, `schema.prisma changed without a migration; run npm run migrate:new -- <name>\n${sql}`).toBe('');
  });

  it('apply once, are idempotent, and are recorded in _prisma_migrations with checksums', async () => {
    await withScratchDatabase(PG_ADMIN_URL, async (url) => {
      const first = await migrate(url);
      const migrations = await readMigrations();
      expect(first.applied).toEqual(migrations.map((m) => m.name));
      const second = await migrate(url);
      expect(second.applied).toEqual([]);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const { rows } = await c.query('SELECT migration_name, checksum FROM _prisma_migrations ORDER BY migration_name');
        expect(rows).toEqual(migrations.map((m) => ({ migration_name: m.name, checksum: m.checksum })));
        // An edited, already-applied migration is refused rather than silently skipped.
        await c.query(`UPDATE _prisma_migrations SET checksum = 'tampered'`);
      } finally {
        await c.end();
      }
      await expect(migrate(url)).rejects.toThrow(/modified after it was applied/);
    });
  });
});
