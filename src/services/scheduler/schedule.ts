/**
 * Job schedules: cron with seconds (`0 0/30 * * * *`), classic 5-field cron (seconds = 0), @macros,
 * intervals ("every 30 minutes", "@every 1h30m", interval_seconds) and the upstream APScheduler trigger
 * payloads of SPEC §3.8 (`trigger_type: cron|interval` + fields). Everything is normalised to one of two
 * shapes that Agenda runs natively: a 6-field cron string or a whole number of seconds.
 *
 * Next run times are computed with cron-parser, the library (and version) Agenda itself uses, with the
 * same rules as Agenda's `computeFromInterval`, so the time shown is the time Agenda fires.
 */
import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../../lib/errors.js';

export type Schedule = { kind: 'cron'; expression: string } | { kind: 'interval'; seconds: number };

export const DEFAULT_TIMEZONE = 'UTC';
/** The column is varchar(100). */
const MAX_SCHEDULE_LENGTH = 100;
const MAX_INTERVAL_SECONDS = 366 * 86_400;

const CRON_FIELDS = ['秒 (second, 0-59)', '分 (minute, 0-59)', '时 (hour, 0-23)', '日 (day of month, 1-31)', '月 (month, 1-12 或 jan-dec)', '周 (day of week, 0-7 或 sun-sat)'];

const MACROS: Record<string, string> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const UNIT_WORDS: Array<[RegExp, string]> = [
  [/^(s|secs?|seconds?|秒|秒钟)$/i, 's'],
  [/^(m|mins?|minutes?|分|分钟)$/i, 'm'],
  [/^(h|hrs?|hours?|时|小时)$/i, 'h'],
  [/^(d|days?|天|日)$/i, 'd'],
  [/^(w|wks?|weeks?|周|星期)$/i, 'w'],
];

export function scheduleError(message: string, field = 'schedule'): ValidationError {
  return new ValidationError(`${field}: ${message}`, { errors: [{ field, message }] });
}

/** cron-parser's English messages, made specific. */
function explainCronError(err: unknown): string {
  const msg = (err as Error)?.message ?? String(err);
  let m: RegExpExecArray | null;
  if ((m = /got value (\S+) expected range (\d+)-(\d+)/.exec(msg))) return `值 ${m[1]} 超出范围 ${m[2]}-${m[3]}`;
  if ((m = /got range (\S+) expected range (\d+)-(\d+)/.exec(msg))) return `范围 ${m[1]} 超出 ${m[2]}-${m[3]}`;
  if (/cannot repeat at every 0/.test(msg)) return '步长不能为 0';
  if ((m = /Invalid characters, got value: (\S+)/.exec(msg))) return `包含无效字符 "${m[1]}"`;
  if ((m = /Invalid range: (\S+), min\((\d+)\) > max\((\d+)\)/.exec(msg))) return `范围 ${m[1]} 的起点大于终点`;
  if (/Invalid explicit day of month/.test(msg)) return '日与月的组合永远不会出现 (例如 2 月 30 日)';
  return msg;
}

/** Parses one cron expression with cron-parser (throws its error). */
function cronParse(expression: string, tz: string, currentDate?: Date) {
  return CronExpressionParser.parse(expression, { tz, ...(currentDate ? { currentDate } : {}) });
}

/** Validates a 5- or 6-field cron string and returns its canonical 6-field form. */
export function parseCron(text: string, field = 'schedule'): string {
  const trimmed = text.trim();
  const macro = MACROS[trimmed.toLowerCase()];
  if (macro) return macro;
  if (trimmed.startsWith('@')) throw scheduleError(`不支持的宏 ${trimmed} (可用: ${Object.keys(MACROS).join(', ')})`, field);
  const parts = trimmed.split(/\s+/).filter(Boolean);
  if (parts.length !== 5 && parts.length !== 6) {
    throw scheduleError(`cron 表达式应有 6 个字段 (秒 分 时 日 月 周) 或 5 个字段 (分 时 日 月 周)，实际为 ${parts.length} 个`, field);
  }
  const fields = parts.length === 5 ? ['0', ...parts] : parts;
  // Each field alone first, so the message names the field that is wrong.
  fields.forEach((value, i) => {
    const probe = fields.map((_, j) => (j === i ? value : '*')).join(' ');
    try {
      cronParse(probe, DEFAULT_TIMEZONE);
    } catch (err) {
      const pos = parts.length === 5 ? i : i + 1;
      throw scheduleError(`cron 第 ${pos} 个字段 ${CRON_FIELDS[i]} "${value}" 无效: ${explainCronError(err)}`, field);
    }
  });
  const expression = fields.join(' ');
  try {
    cronParse(expression, DEFAULT_TIMEZONE).next();
  } catch (err) {
    throw scheduleError(`cron 表达式 "${trimmed}" 无效: ${explainCronError(err)}`, field);
  }
  if (expression.length > MAX_SCHEDULE_LENGTH) throw scheduleError(`cron 表达式过长 (最多 ${MAX_SCHEDULE_LENGTH} 个字符)`, field);
  return expression;
}

function unitOf(word: string): string | undefined {
  for (const [re, unit] of UNIT_WORDS) if (re.test(word)) return unit;
  return undefined;
}

function checkIntervalSeconds(seconds: number, field: string): number {
  if (!Number.isFinite(seconds) || !Number.isInteger(seconds)) throw scheduleError('间隔必须是整数秒', field);
  if (seconds < 1) throw scheduleError('间隔至少为 1 秒', field);
  if (seconds > MAX_INTERVAL_SECONDS) throw scheduleError(`间隔不能超过 ${MAX_INTERVAL_SECONDS / 86_400} 天`, field);
  return seconds;
}

/** "every 30 minutes", "30m", "every minute", "@every 1h30m", "每30分钟" → seconds; undefined if not an interval. */
export function parseIntervalText(text: string, field = 'schedule'): number | undefined {
  const t = text.trim();
  let m: RegExpExecArray | null;
  if ((m = /^@every\s+(.+)$/i.exec(t))) {
    const spec = m[1]!.replace(/\s+/g, '');
    if (!/^(\d+[smhdw])+$/i.test(spec)) throw scheduleError(`@every 的间隔 "${m[1]}" 无效 (例如 @every 30m、@every 1h30m)`, field);
    let total = 0;
    for (const [, n, u] of spec.matchAll(/(\d+)([smhdw])/gi)) total += Number(n) * UNIT_SECONDS[u!.toLowerCase()]!;
    return checkIntervalSeconds(total, field);
  }
  if ((m = /^(?:every|每)\s*(\d+)?\s*([a-z\u4e00-\u9fff]+)$/i.exec(t)) || (m = /^(\d+)\s*([a-z\u4e00-\u9fff]+)$/i.exec(t))) {
    const unit = unitOf(m[2]!);
    if (!unit) {
      if (/^(every|每)/i.test(t)) throw scheduleError(`无法识别的时间单位 "${m[2]}" (可用: seconds, minutes, hours, days, weeks)`, field);
      return undefined;
    }
    const n = m[1] === undefined ? 1 : Number(m[1]);
    return checkIntervalSeconds(n * UNIT_SECONDS[unit]!, field);
  }
  return undefined;
}

/** interval_seconds → a schedule. */
export function scheduleFromSeconds(seconds: number, field = 'interval_seconds'): Schedule {
  return { kind: 'interval', seconds: checkIntervalSeconds(seconds, field) };
}

/** A schedule string: an interval phrase, or cron with or without seconds. */
export function parseScheduleText(text: string, field = 'schedule'): Schedule {
  if (typeof text !== 'string' || !text.trim()) throw scheduleError('不能为空', field);
  if (text.length > 200) throw scheduleError('过长', field);
  const seconds = parseIntervalText(text, field);
  if (seconds !== undefined) return { kind: 'interval', seconds };
  return { kind: 'cron', expression: parseCron(text, field) };
}

export interface TriggerFields {
  triggerType?: string;
  second?: string | number;
  minute?: string | number;
  hour?: string | number;
  day?: string | number;
  month?: string | number;
  dayOfWeek?: string | number;
  week?: string | number;
  year?: string | number;
  weeks?: number;
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
}

/** APScheduler numbers weekdays mon=0 … sun=6; cron numbers sun=0 (or 7), mon=1 … sat=6. */
function apschedulerWeekdays(value: string): string {
  return value
    .split(',')
    .map((part) => {
      const [range, step] = part.split('/');
      if (range === '*' && step) return `1-7/${step}`;
      const mapped = range!.replace(/\d+/g, (n) => (Number(n) <= 6 ? String(Number(n) + 1) : n));
      return step ? `${mapped}/${step}` : mapped;
    })
    .join(',');
}

/** The upstream trigger payload (SPEC §3.8) → a schedule. */
export function scheduleFromTrigger(t: TriggerFields): Schedule {
  const type = String(t.triggerType ?? '').toLowerCase();
  if (type === 'interval') {
    const parts = { weeks: t.weeks, days: t.days, hours: t.hours, minutes: t.minutes, seconds: t.seconds };
    let total = 0;
    for (const [k, v] of Object.entries(parts)) {
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw scheduleError(`${k} 必须是非负数`, k);
      total += v * { weeks: 604_800, days: 86_400, hours: 3600, minutes: 60, seconds: 1 }[k]!;
    }
    if (total <= 0) throw scheduleError('无效的触发器配置: interval 需要 weeks、days、hours、minutes、seconds 中至少一个正数', 'trigger_type');
    return { kind: 'interval', seconds: checkIntervalSeconds(Math.round(total * 1000) / 1000, 'trigger_type') };
  }
  if (type === 'cron') {
    if (t.year !== undefined) throw scheduleError('不支持 year 字段', 'year');
    if (t.week !== undefined) throw scheduleError('不支持 week 字段', 'week');
    // Significance order of APScheduler: fields above the least significant given one default to
    // '*', fields below it to their minimum; day_of_week defaults to '*'.
    const order = ['month', 'day', 'hour', 'minute', 'second'] as const;
    const given = order.filter((k) => t[k] !== undefined && t[k] !== null && t[k] !== '');
    if (!given.length && (t.dayOfWeek === undefined || t.dayOfWeek === '')) {
      throw scheduleError('无效的触发器配置: cron 需要 second、minute、hour、day、month、day_of_week 中至少一个字段', 'trigger_type');
    }
    const least = given.length ? order.indexOf(given[given.length - 1]!) : -1;
    const min: Record<(typeof order)[number], string> = { month: '1', day: '1', hour: '0', minute: '0', second: '0' };
    const value = (k: (typeof order)[number], i: number) => {
      const v = t[k];
      if (v !== undefined && v !== null && v !== '') return String(v).trim();
      return i < least ? '*' : min[k];
    };
    const [month, day, hour, minute, second] = order.map(value);
    const dow = t.dayOfWeek === undefined || t.dayOfWeek === '' ? '*' : apschedulerWeekdays(String(t.dayOfWeek).trim());
    return { kind: 'cron', expression: parseCron(`${second} ${minute} ${hour} ${day} ${month} ${dow}`, 'trigger_type') };
  }
  if (type === 'date') throw scheduleError('不支持一次性 date 触发器，请使用 cron 或 interval', 'trigger_type');
  throw scheduleError('trigger_type 必须是 cron 或 interval', 'trigger_type');
}

/** The canonical text stored in scheduled_jobs.schedule (parses back to the same schedule). */
export function formatSchedule(s: Schedule): string {
  if (s.kind === 'cron') return s.expression;
  for (const [unit, name] of [
    [604_800, 'week'],
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ] as const) {
    if (s.seconds % unit === 0) {
      const n = s.seconds / unit;
      return `every ${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `every ${s.seconds} second${s.seconds === 1 ? '' : 's'}`;
}

/** Upstream's trigger repr: `interval[0:30:00]`, `cron[second='0', minute='*\/30', …]`. */
export function triggerRepr(s: Schedule, timezone: string): string {
  if (s.kind === 'interval') {
    const days = Math.floor(s.seconds / 86_400);
    const rest = s.seconds % 86_400;
    const hms = `${Math.floor(rest / 3600)}:${String(Math.floor((rest % 3600) / 60)).padStart(2, '0')}:${String(rest % 60).padStart(2, '0')}`;
    return `interval[${days ? `${days} day${days === 1 ? '' : 's'}, ` : ''}${hms}]`;
  }
  const [second, minute, hour, day, month, dow] = s.expression.split(' ');
  return `cron[month='${month}', day='${day}', day_of_week='${dow}', hour='${hour}', minute='${minute}', second='${second}', timezone='${timezone}']`;
}

/** What Agenda's repeatEvery() is given: the cron string, or the interval in milliseconds. */
export function agendaRepeatInterval(s: Schedule): string | number {
  return s.kind === 'cron' ? s.expression : s.seconds * 1000;
}

/** Canonical IANA name, or a ValidationError. */
export function normalizeTimezone(tz: string | undefined | null, field = 'timezone'): string {
  if (tz === undefined || tz === null || tz === '') return DEFAULT_TIMEZONE;
  let name: string;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw scheduleError(`未知的时区 "${tz}" (使用 IANA 名称，例如 UTC、Asia/Shanghai)`, field);
  }
  try {
    cronParse('0 0 0 * * *', name).next();
  } catch {
    throw scheduleError(`时区 "${tz}" 不被调度器支持`, field);
  }
  return name;
}

/**
 * The first fire strictly after `after`, exactly as Agenda's computeFromInterval derives nextRunAt
 * from lastRunAt: intervals add to it, cron takes the next occurrence (nudged 1 s when cron-parser
 * returns the same instant).
 */
export function nextRunAfter(s: Schedule, timezone: string, after: Date): Date {
  if (s.kind === 'interval') return new Date(after.getTime() + s.seconds * 1000);
  let next = cronParse(s.expression, timezone, after).next().toDate();
  if (next.getTime() <= after.getTime()) next = cronParse(s.expression, timezone, new Date(after.getTime() + 1000)).next().toDate();
  return next;
}

/** The next `count` fire times after `from`. */
export function nextRuns(s: Schedule, timezone: string, from: Date, count: number): Date[] {
  const out: Date[] = [];
  let at = from;
  for (let i = 0; i < count; i++) {
    at = nextRunAfter(s, timezone, at);
    out.push(at);
  }
  return out;
}

/** Reads back a stored schedule column (already validated when written). */
export function storedSchedule(text: string): Schedule {
  return parseScheduleText(text);
}
