/** argon2id hashing (OWASP parameters) and the password policy of SPEC §2.1. */
import { hash, verify } from '@node-rs/argon2';
import { z } from 'zod';

// algorithm 2 = Algorithm.Argon2id (a const enum, which isolatedModules cannot import)
const ARGON2_OPTIONS = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(plain: string): Promise<string> {
  return hash(plain, ARGON2_OPTIONS);
}

export async function verifyPassword(stored: string, plain: string): Promise<boolean> {
  try {
    return await verify(stored, plain);
  } catch {
    return false; // malformed hash: treat as a mismatch, never as an error path an attacker can see
  }
}

/** A valid hash of a random string: verified against when the user does not exist, so unknown
 * usernames cost the same time as wrong passwords. */
let dummyHash: Promise<string> | undefined;
export function timingDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}`);
  return dummyHash;
}

export const PasswordPolicy = z
  .string({ required_error: '密码不能为空', invalid_type_error: '密码必须是字符串' })
  .min(8, '密码长度至少8位')
  .max(128, '密码长度不能超过128位')
  .regex(/[A-Z]/, '密码必须包含大写字母')
  .regex(/[a-z]/, '密码必须包含小写字母')
  .regex(/[0-9]/, '密码必须包含数字')
  .describe('8–128 位，须含大写字母、小写字母和数字');

/** A random password that satisfies the policy (upper, lower, digit, symbol). */
export function generatePassword(length = 16): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#$%^&*'];
  const all = sets.join('');
  const pick = (s: string) => s[crypto.getRandomValues(new Uint32Array(1))[0]! % s.length]!;
  const chars = sets.map(pick);
  while (chars.length < length) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.getRandomValues(new Uint32Array(1))[0]! % (i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
