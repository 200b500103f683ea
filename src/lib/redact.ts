/** One place that decides what counts as a secret in anything we log or echo back. */
const SECRET_KEY = /pass(word)?|passwd|secret|token|authorization|cookie|cipher|api[_-]?key|private[_-]?key|credential_key/i;
export const REDACTED = '[REDACTED]';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Deep copy with secret-looking keys replaced; bounded depth so hostile input cannot blow the stack. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  // Errors keep their (non-enumerable) message and stack, which become the log row's traceback.
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack, ...(redactDeep({ ...value }, depth + 1) as object) };
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redactDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : redactDeep(v, depth + 1);
  return out;
}
