/**
 * Offline access to Prisma's schema engine (the wasm build), used to produce migration SQL from
 * schema.prisma and to check that the committed migrations still match the schema. The native engine
 * cannot be downloaded on our machines; see STACK-NOTES "Migrations without the native engine".
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const FILTERS = { externalTables: [], externalEnums: [] };

/** adapter-pg rejects PostgreSQL's internal "char" type (oid 18) in catalog queries; report it as text. */
class CharSafeClient extends pg.Client {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const fix = (res: pg.QueryResult | undefined) => {
      for (const f of res?.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25;
      return res;
    };
    const cb = args.findIndex((a) => typeof a === 'function');
    if (cb >= 0) {
      const orig = args[cb];
      args[cb] = (err: Error, res: pg.QueryResult) => orig(err, fix(res));
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return (super.query as any)(...args);
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const out = (super.query as any)(...args);
    return out && typeof out.then === 'function' ? out.then(fix) : out;
  }
}

interface Engine {
  diff(params: unknown): Promise<{ exitCode: number; stdout: string }>;
}

async function loadEngine(connectionString: string): Promise<{ engine: Engine; close: () => Promise<void> }> {
  const bgUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bg = await import(bgUrl);
  const wasm = await readFile(new URL('./schema_engine_bg.wasm', bgUrl));
  const { instance } = await WebAssembly.instantiate(wasm, { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
  const pool = new pg.Pool({ connectionString, Client: CharSafeClient as unknown as typeof pg.Client, max: 2 });
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
  const engine = (await bg.SchemaEngine.new({ datamodels: undefined }, () => {}, adapter)) as Engine;
  return { engine, close: () => pool.end() };
}

/** SQL that creates the whole schema from nothing. Needs no database beyond a lazily-unused adapter. */
export async function sqlForFreshSchema(schemaPath: string, connectionString: string): Promise<string> {
  const { engine, close } = await loadEngine(connectionString);
  try {
    const content = await readFile(schemaPath, 'utf8');
    const res = await engine.diff({
      from: { tag: 'empty' },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content }] },
      script: true,
      shadowDatabaseUrl: null,
      exitCode: null,
      filters: FILTERS,
    });
    return res.stdout;
  } finally {
    await close();
  }
}

/**
 * SQL that brings the database at `url` (already migrated) to `schema.prisma`; empty when they agree.
 * Introspects the live database through the adapter, so migrations applied by our own runner (which
 * understands dollar-quoted function bodies) are compared as PostgreSQL actually holds them.
 */
export async function sqlFromDatabaseToSchema(schemaPath: string, url: string, datamodel?: string): Promise<string> {
  const { engine, close } = await loadEngine(url);
  try {
    const content = await readFile(schemaPath, 'utf8');
    const res = await engine.diff({
      from: { tag: 'schemaDatasource', files: [{ path: schemaPath, content }], configDir: '.' },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: datamodel ?? content }] },
      script: true,
      shadowDatabaseUrl: null,
      exitCode: true,
      filters: FILTERS,
    });
    return res.exitCode === 0 ? '' : res.stdout;
  } finally {
    await close();
  }
}
