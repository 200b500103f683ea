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

export function parseInput<S extends ZodTypeAny>(schema: S, raw: unknown): output<S> {
  const res = schema.safeParse(raw);
  if (!res.success) throw validationErrorFrom(res.error);
  return res.data;
}
