/**
 * The shared list-query contract of the API document: page (1), per_page (20, at most 100), sort,
 * order, search, filter, start_date, end_date. Every list endpoint builds its schema here so bounds
 * and error messages are the same everywhere.
 */
import { z } from 'zod';

export const MAX_PER_PAGE = 100;
export const DEFAULT_PER_PAGE = 20;

const dateOnly = /^\d{4}-\d{2}-\d{2}$/;

/** ISO-8601 date or date-time. A bare date is a whole UTC day: start at 00:00, end at 23:59:59.999. */
const isoInstant = (bound: 'start' | 'end') =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      const d = dateOnly.test(v) ? new Date(`${v}T00:00:00.000Z`) : new Date(v);
      if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(v)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: '日期格式无效，应为 ISO-8601 (YYYY-MM-DD 或 YYYY-MM-DDTHH:mm:ssZ)' });
        return z.NEVER;
      }
      if (bound === 'end' && dateOnly.test(v)) d.setUTCHours(23, 59, 59, 999);
      return d;
    });

const intParam = (def: number, min: number, max: number, name: string) =>
  z.preprocess(
    (v) => (v === undefined || v === null || v === '' ? undefined : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z
      .number({ invalid_type_error: `${name} 必须是整数` })
      .int(`${name} 必须是整数`)
      .min(min, `${name} 不能小于 ${min}`)
      .max(max, `${name} 不能大于 ${max}`)
      .default(def),
  );

export interface ListQueryOptions<S extends string, F extends string> {
  /** client-facing sort names (snake_case and camelCase accepted) → model field */
  sortFields: Record<S, string>;
  defaultSort: string;
  defaultOrder?: 'asc' | 'desc';
  /** keys allowed in `filter=key:value,key2:value2` */
  filterKeys?: readonly F[];
  defaultPerPage?: number;
}

/** Relay cursors are opaque offsets: base64url("o:<offset>"). */
export function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

const cursorSchema = z
  .string()
  .max(64)
  .transform((v, ctx) => {
    const m = /^o:(\d{1,9})$/.exec(Buffer.from(v, 'base64url').toString());
    if (!m) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: '无效的游标 (after)' });
      return z.NEVER;
    }
    return Number(m[1]);
  });

export function listQuerySchema<S extends string, F extends string>(opts: ListQueryOptions<S, F>) {
  const sortNames = Object.keys(opts.sortFields) as S[];
  const filterKeys = opts.filterKeys ?? [];
  return z.object({
    page: intParam(1, 1, 1_000_000, 'page'),
    perPage: intParam(opts.defaultPerPage ?? DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, 'per_page'),
    /** Relay-style alternative to page/per_page: `first` items after the `after` cursor. */
    first: z.preprocess(
      (v) => (v === undefined || v === null || v === '' ? undefined : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
      z.number({ invalid_type_error: 'first 必须是整数' }).int('first 必须是整数').min(1, 'first 不能小于 1').max(MAX_PER_PAGE, `first 不能大于 ${MAX_PER_PAGE}`).optional(),
    ),
    after: cursorSchema.optional(),
    sort: z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === '') return opts.defaultSort;
        // Own keys only: `?sort=constructor` must not find Object.prototype.constructor.
        const field = Object.hasOwn(opts.sortFields, v) ? (opts.sortFields as Record<string, string>)[v] : undefined;
        if (!field) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `不支持的排序字段: ${v} (可用: ${sortNames.join(', ')})` });
          return z.NEVER;
        }
        return field;
      })
      .describe(`排序字段: ${sortNames.join(', ')}`),
    order: z
      .preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['asc', 'desc'], { message: 'order 只能是 asc 或 desc' }))
      .optional()
      .transform((v) => v ?? opts.defaultOrder ?? 'desc'),
    search: z.string().trim().max(200, 'search 最长 200 个字符').optional().transform((v) => v || undefined),
    filter: z
      .string()
      .max(500)
      .optional()
      .transform((v, ctx) => {
        const out: Partial<Record<F, string>> = {};
        if (!v) return out;
        for (const part of v.split(',')) {
          const idx = part.indexOf(':');
          const key = part.slice(0, idx).trim() as F;
          if (idx < 1 || !filterKeys.includes(key)) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              message: `不支持的过滤条件: ${part} (格式 key:value，可用: ${filterKeys.join(', ') || '无'})`,
            });
            return z.NEVER;
          }
          out[key] = part.slice(idx + 1).trim();
        }
        return out;
      })
      .describe(filterKeys.length ? `key:value,key2:value2 (可用: ${filterKeys.join(', ')})` : '不支持过滤条件'),
    startDate: isoInstant('start').optional().describe('ISO-8601 日期或时间 (UTC)；仅日期时从当天 00:00 开始'),
    endDate: isoInstant('end').optional().describe('ISO-8601 日期或时间 (UTC)；仅日期时到当天结束'),
  });
}

/** The parsed common list parameters every list service receives. */
export interface ListQuery {
  page: number;
  perPage: number;
  first?: number;
  after?: number;
  sort: string;
  order: 'asc' | 'desc';
  search?: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  perPage: number;
  pages: number;
  /** Offset of items[0] in the whole list (for Relay cursors). */
  offset: number;
}

/** Where a list query starts and how many rows it takes, from page/per_page or first/after. */
export interface Window {
  offset: number;
  limit: number;
}

export function windowOf(q: { page: number; perPage: number; first?: number; after?: number }): Window {
  if (q.first !== undefined || q.after !== undefined) {
    return { offset: q.after === undefined ? 0 : q.after + 1, limit: q.first ?? q.perPage };
  }
  return { offset: (q.page - 1) * q.perPage, limit: q.perPage };
}

export function pageOf<T>(items: T[], total: number, w: Window): Page<T> {
  return {
    items,
    total,
    page: Math.floor(w.offset / w.limit) + 1,
    perPage: w.limit,
    pages: total === 0 ? 0 : Math.ceil(total / w.limit),
    offset: w.offset,
  };
}

/** Refines a list schema so that start_date ≤ end_date. */
export function checkDateRange(v: { startDate?: Date; endDate?: Date }, ctx: z.RefinementCtx): void {
  if (v.startDate && v.endDate && v.startDate > v.endDate) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['startDate'], message: 'start_date 不能晚于 end_date' });
  }
}
