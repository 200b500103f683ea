/**
 * The key that seals stored instance credentials: CREDENTIAL_ENCRYPTION_KEY (required in production).
 * Outside production one is generated once and kept in DATA_DIR/credential-key (mode 0600), like the
 * JWT secret, so a laptop install works without setup.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { CredentialKey } from '../lib/crypto.js';

export function resolveCredentialKey(config: Config, log: (msg: string) => void): CredentialKey {
  if (config.credentialEncryptionKey) {
    try {
      return CredentialKey.parse(config.credentialEncryptionKey);
    } catch (err) {
      throw new ConfigError(`invalid configuration:\n  CREDENTIAL_ENCRYPTION_KEY: ${(err as Error).message}`);
    }
  }
  if (config.env === 'production') {
    throw new ConfigError('invalid configuration:\n  CREDENTIAL_ENCRYPTION_KEY: required when NODE_ENV=production (32 bytes, base64 or hex)');
  }
  const file = path.resolve(config.dataDir, 'credential-key');
  try {
    return CredentialKey.parse(readFileSync(file, 'utf8'));
  } catch {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const key = CredentialKey.generate();
    writeFileSync(file, key, { mode: 0o600 });
    log(`CREDENTIAL_ENCRYPTION_KEY is not set: generated one and stored it in ${file}`);
    return CredentialKey.parse(key);
  }
}
