/** Turns zod failures into the one ValidationError shape clients see: a message and per-field errors. */
import type { ZodError, ZodTypeAny, output } from 'zod';
import { ValidationError } from './errors.js';

export interface FieldError {
  field: string;
  message: string;
}

export function validationErrorFrom(error: ZodError): ValidationError {
  const errors: FieldError[] = error.issues.map((i) => ({
    field: i.path.join('.') || '(body)',
    message: i.code === 'unrecognized_keys' ? `不支持的字段: ${i.keys.join(', ')}` : i.message,
  }));
  const message = errors.map((e) => (e.field === '(body)' ? e.message : `${e.field}: ${e.message}`)).join('; ');
  return new ValidationError(message || '请求参数错误', { errors });
}

/** NUL, or a UTF-16 surrogate without its pair: text PostgreSQL cannot store (text and jsonb refuse NUL, jsonb lone surrogates). */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Where `raw` holds a string or key PostgreSQL cannot store, as a field path; undefined when none.
 * Iterative, so arbitrarily deep input cannot overflow the stack.
 */
export function unstorableTextPath(raw: unknown): string | undefined {
  const stack: Array<[unknown, string[]]> = [[raw, []]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return path.join('.') || '(body)';
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (UNSTORABLE.test(k)) return [...path, k.replace(UNSTORABLE, '\ufffd')].join('.');
        stack.push([x, [...path, k]]);
      }
    }
  }
  return undefined;
}

export function parseInput<S extends ZodTypeAny>(schema: S, raw: unknown): output<S> {
  // Refused here, for every operation and both transports, rather than failing in the database.
  const bad = unstorableTextPath(raw);
  if (bad !== undefined) {
    const message = '不能包含 NUL 字符或不成对的 UTF-16 代理项';
    throw new ValidationError(bad === '(body)' ? message : `${bad}: ${message}`, { errors: [{ field: bad, message }] });
  }
  const res = schema.safeParse(raw);
  if (!res.success) throw validationErrorFrom(res.error);
  return res.data;
}
