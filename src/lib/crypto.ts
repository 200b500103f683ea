/**
 * AES-256-GCM for stored credentials. Each value gets a random 12-byte nonce; the stored form is
 * base64url(nonce | ciphertext | tag) and the id of the key that sealed it is stored beside it, so
 * keys can rotate. Tampering with either fails authentication instead of yielding garbage.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class CredentialKey {
  readonly id: string;
  private constructor(private readonly key: Buffer) {
    this.id = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  /** Accepts 32 bytes as 64 hex characters or base64/base64url. */
  static parse(text: string): CredentialKey {
    const t = text.trim();
    const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
    if (key.length !== 32) throw new Error('CREDENTIAL_ENCRYPTION_KEY must be 32 bytes, as 64 hex characters or base64');
    return new CredentialKey(key);
  }

  static generate(): string {
    return randomBytes(32).toString('base64');
  }

  encrypt(plain: string): { cipher: string; keyId: string } {
    const nonce = randomBytes(NONCE_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return { cipher: Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64url'), keyId: this.id };
  }

  decrypt(cipher: string, keyId: string): string {
    if (keyId !== this.id) throw new DecryptionError(`credential was sealed with key ${keyId}, not the configured key ${this.id}`);
    const raw = Buffer.from(cipher, 'base64url');
    if (raw.length < NONCE_BYTES + TAG_BYTES) throw new DecryptionError('stored credential is truncated');
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE_BYTES));
    d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([d.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), d.final()]).toString('utf8');
    } catch {
      throw new DecryptionError('stored credential failed authentication (tampered, or a different key)');
    }
  }
}

export class DecryptionError extends Error {}
