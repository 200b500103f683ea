/** Small zod building blocks shared by operation inputs. */
import { z } from 'zod';

/** A positive integer id, from a number (GraphQL) or a path segment string (REST). */
export const idSchema = z.preprocess(
  (v) => (typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v),
  z.number({ invalid_type_error: 'ID 必须是正整数', required_error: '缺少 ID' }).int('ID 必须是正整数').positive('ID 必须是正整数').max(2_147_483_647, 'ID 超出范围'),
);

/** Booleans as JSON true/false or the form spellings of SPEC §3.6 ("on", "1", "yes", …). */
export const looseBoolean = z.preprocess((v) => {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', '1', 'on', 'yes'].includes(s)) return true;
    if (['false', '0', 'off', 'no'].includes(s)) return false;
  }
  if (v === 1) return true;
  if (v === 0) return false;
  return v;
}, z.boolean({ invalid_type_error: '必须是布尔值' }));
