/**
 * The JWT signing secret: JWT_SECRET when set (required in production, enforced by config). Outside
 * production a random secret is generated once and kept in DATA_DIR/jwt-secret (mode 0600), so tokens
 * survive restarts of a laptop install without anyone having to invent a secret.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';

export function resolveJwtSecret(config: Config, log: (msg: string) => void): string {
  if (config.jwtSecret) return config.jwtSecret;
  const file = path.resolve(config.dataDir, 'jwt-secret');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    /* not created yet */
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  log(`JWT_SECRET is not set: generated one and stored it in ${file}`);
  return secret;
}
