/**
 * `npm run rotate-credential-key`: re-encrypts every stored credential under NEW_CREDENTIAL_ENCRYPTION_KEY
 * (the current key is CREDENTIAL_ENCRYPTION_KEY) in one transaction. Afterwards set
 * CREDENTIAL_ENCRYPTION_KEY to the new key and restart the gateways.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { loadConfig } from '../config/index.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { resolveCredentialKey } from '../auth/credential-key.js';
import { CredentialKey } from '../lib/crypto.js';
import { rotateCredentialKey } from '../services/inventory/rotate-key.js';

const config = loadConfig();
const next = process.env.NEW_CREDENTIAL_ENCRYPTION_KEY;
if (!next) {
  console.error('set NEW_CREDENTIAL_ENCRYPTION_KEY to the new key (32 bytes, base64 or 64 hex characters)');
  process.exit(2);
}
const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: config.databaseUrl ?? embedded!.url }) });
try {
  const { rotated, skipped } = await rotateCredentialKey(prisma, resolveCredentialKey(config, console.log), CredentialKey.parse(next));
  console.log(`re-encrypted ${rotated} credential(s) under key ${CredentialKey.parse(next).id}; ${skipped} already used it`);
  console.log('now set CREDENTIAL_ENCRYPTION_KEY to the new key and restart every gateway');
} catch (err) {
  console.error(`rotation failed, nothing changed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await prisma.$disconnect();
  await embedded?.close();
}
