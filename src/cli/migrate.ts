/** `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
import { loadConfig } from '../config/index.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { migrate } from '../db/migrations.js';

const config = loadConfig();
const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
try {
  const { applied, alreadyApplied } = await migrate(config.databaseUrl ?? embedded!.url, (m) => console.log(m));
  console.log(`${applied.length} migration(s) applied, ${alreadyApplied} already up to date`);
} catch (err) {
  console.error(`migration failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await embedded?.close();
}
