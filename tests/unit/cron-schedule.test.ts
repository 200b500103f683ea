import { describe, expect, it } from 'vitest';
import { Job, type Agenda } from 'agenda';
import { ValidationError } from '../../src/lib/errors.js';
import {
  agendaRepeatInterval,
  formatSchedule,
  nextRunAfter,
  nextRuns,
  normalizeTimezone,
  parseScheduleText,
  scheduleFromSeconds,
  scheduleFromTrigger,
  triggerRepr,
  type Schedule,
} from '../../src/services/scheduler/schedule.js';

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

function rejects(text: string, pattern: RegExp) {
  let err: unknown;
  try {
    parseScheduleText(text);
  } catch (e) {
    err = e;
  }
  expect(err, `"${text}" should be rejected`).toBeInstanceOf(ValidationError);
  const v = err as ValidationError;
  expect(v.status).toBe(400);
  expect(v.message).toMatch(pattern);
  expect(v.details.errors).toEqual([expect.objectContaining({ field: 'schedule' })]);
}

describe('cron parsing', () => {
  it('takes 6-field cron with seconds as is and gives 5-field cron a 0 seconds field', () => {
    expect(parseScheduleText('0 */30 * * * *')).toEqual({ kind: 'cron', expression: '0 */30 * * * *' });
    expect(parseScheduleText('  */5   *  * * *  ')).toEqual({ kind: 'cron', expression: '0 */5 * * * *' });
    expect(parseScheduleText('@daily')).toEqual({ kind: 'cron', expression: '0 0 0 * * *' });
    expect(parseScheduleText('@hourly')).toEqual({ kind: 'cron', expression: '0 0 * * * *' });
  });

  it('accepts ranges, steps, lists, names, ? and L', () => {
    for (const ok of ['0 0-10/5 9-17 * * mon-fri', '1,2,3 * * * * *', '0 0 0 ? * *', '0 0 0 L * *', '0 0 12 * jan,jul sun', '15-45/15 * * * * *']) {
      expect(parseScheduleText(ok).kind, ok).toBe('cron');
    }
  });

  it('rejects invalid expressions naming the field and the problem', () => {
    rejects('60 * * * * *', /第 1 个字段 秒.*"60".*超出范围 0-59/);
    rejects('0 60 * * * *', /第 2 个字段 分.*超出范围 0-59/);
    rejects('0 0 24 * * *', /第 3 个字段 时.*超出范围 0-23/);
    rejects('0 0 0 32 * *', /第 4 个字段 日.*超出范围 1-31/);
    rejects('0 0 0 * 13 *', /第 5 个字段 月.*超出范围 1-12/);
    rejects('0 0 0 * * 8', /第 6 个字段 周.*超出范围 0-7/);
    rejects('61 * * * *', /第 1 个字段 分.*超出范围 0-59/); // 5-field: the first field is minutes
    rejects('*/0 * * * * *', /步长不能为 0/);
    rejects('5-1 * * * * *', /起点大于终点/);
    rejects('1-60/2 * * * * *', /范围 1-60 超出 0-59/);
    rejects('a b c d e f', /无效字符/);
    rejects('0 0 0 30 2 *', /永远不会出现/);
    rejects('* * * *', /6 个字段.*5 个字段.*实际为 4 个/);
    rejects('* * * * * * *', /实际为 7 个/);
    rejects('', /不能为空/);
    rejects('   ', /不能为空/);
    rejects('@fortnightly', /不支持的宏/);
  });

  it('parses intervals and rejects impossible ones', () => {
    expect(parseScheduleText('every 30 minutes')).toEqual({ kind: 'interval', seconds: 1800 });
    expect(parseScheduleText('30m')).toEqual({ kind: 'interval', seconds: 1800 });
    expect(parseScheduleText('every minute')).toEqual({ kind: 'interval', seconds: 60 });
    expect(parseScheduleText('every 2 hours')).toEqual({ kind: 'interval', seconds: 7200 });
    expect(parseScheduleText('@every 1h30m')).toEqual({ kind: 'interval', seconds: 5400 });
    expect(parseScheduleText('每30分钟')).toEqual({ kind: 'interval', seconds: 1800 });
    expect(scheduleFromSeconds(45)).toEqual({ kind: 'interval', seconds: 45 });
    rejects('every 0 minutes', /至少为 1 秒/);
    rejects('every 5 fortnights', /无法识别的时间单位/);
    rejects('every 400 days', /不能超过 366 天/);
    rejects('@every 1y', /@every 的间隔/);
    expect(() => scheduleFromSeconds(1.5)).toThrow(/整数秒/);
  });

  it('formats canonically and round-trips', () => {
    const cases: Array<[Schedule, string]> = [
      [{ kind: 'interval', seconds: 1800 }, 'every 30 minutes'],
      [{ kind: 'interval', seconds: 90 }, 'every 90 seconds'],
      [{ kind: 'interval', seconds: 7200 }, 'every 2 hours'],
      [{ kind: 'interval', seconds: 86_400 }, 'every 1 day'],
      [{ kind: 'interval', seconds: 1 }, 'every 1 second'],
      [{ kind: 'cron', expression: '0 */30 * * * *' }, '0 */30 * * * *'],
    ];
    for (const [s, text] of cases) {
      expect(formatSchedule(s)).toBe(text);
      expect(parseScheduleText(text)).toEqual(s);
    }
    expect(triggerRepr({ kind: 'interval', seconds: 1800 }, 'UTC')).toBe('interval[0:30:00]');
    expect(triggerRepr({ kind: 'interval', seconds: 90_000 }, 'UTC')).toBe('interval[1 day, 1:00:00]');
    expect(triggerRepr({ kind: 'cron', expression: '0 0 2 * * *' }, 'UTC')).toBe(
      "cron[month='*', day='*', day_of_week='*', hour='2', minute='0', second='0', timezone='UTC']",
    );
    expect(agendaRepeatInterval({ kind: 'interval', seconds: 2 })).toBe(2000);
  });
});

describe('upstream trigger payloads (SPEC §3.8)', () => {
  it('fills cron fields the APScheduler way and maps its weekday numbers', () => {
    expect(scheduleFromTrigger({ triggerType: 'cron', hour: 2 })).toEqual({ kind: 'cron', expression: '0 0 2 * * *' });
    expect(scheduleFromTrigger({ triggerType: 'cron', minute: '*/5' })).toEqual({ kind: 'cron', expression: '0 */5 * * * *' });
    expect(scheduleFromTrigger({ triggerType: 'cron', day: 1, hour: 3, minute: 30 })).toEqual({ kind: 'cron', expression: '0 30 3 1 * *' });
    // APScheduler: mon=0 … sun=6.
    expect(scheduleFromTrigger({ triggerType: 'cron', dayOfWeek: '0-4', hour: 8 })).toEqual({ kind: 'cron', expression: '0 0 8 * * 1-5' });
    expect(scheduleFromTrigger({ triggerType: 'cron', dayOfWeek: 'mon-fri', hour: 8 }).kind).toBe('cron');
    expect(scheduleFromTrigger({ triggerType: 'interval', minutes: 30 })).toEqual({ kind: 'interval', seconds: 1800 });
    expect(scheduleFromTrigger({ triggerType: 'interval', hours: 1, minutes: 30 })).toEqual({ kind: 'interval', seconds: 5400 });
  });

  it('rejects empty, unsupported and unknown triggers', () => {
    expect(() => scheduleFromTrigger({ triggerType: 'interval' })).toThrow(/无效的触发器配置/);
    expect(() => scheduleFromTrigger({ triggerType: 'cron' })).toThrow(/无效的触发器配置/);
    expect(() => scheduleFromTrigger({ triggerType: 'cron', year: 2030 })).toThrow(/year/);
    expect(() => scheduleFromTrigger({ triggerType: 'date' })).toThrow(/date/);
    expect(() => scheduleFromTrigger({ triggerType: 'weekly' })).toThrow(/cron 或 interval/);
    expect(() => scheduleFromTrigger({ triggerType: 'cron', hour: 25 })).toThrow(/超出范围 0-23/);
  });
});

describe('next run times', () => {
  it('steps through seconds', () => {
    const s = parseScheduleText('*/2 * * * * *');
    expect(iso(nextRuns(s, 'UTC', new Date('2025-01-01T00:00:00.500Z'), 3))).toEqual([
      '2025-01-01T00:00:02.000Z',
      '2025-01-01T00:00:04.000Z',
      '2025-01-01T00:00:06.000Z',
    ]);
    // Exactly on a fire time: the next one, never the same instant again.
    expect(nextRunAfter(s, 'UTC', new Date('2025-01-01T00:00:02.000Z')).toISOString()).toBe('2025-01-01T00:00:04.000Z');
  });

  it('applies ranges, steps and weekday names', () => {
    const s = parseScheduleText('0 0-10/5 9-17 * * mon-fri');
    // 2025-01-03 is a Friday; the next working day is Monday 2025-01-06.
    expect(iso(nextRuns(s, 'UTC', new Date('2025-01-03T17:09:00Z'), 4))).toEqual([
      '2025-01-03T17:10:00.000Z',
      '2025-01-06T09:00:00.000Z',
      '2025-01-06T09:05:00.000Z',
      '2025-01-06T09:10:00.000Z',
    ]);
  });

  it('is DST-free in UTC (runs stay 24 h apart across the European switch)', () => {
    const runs = nextRuns(parseScheduleText('0 30 1 * * *'), 'UTC', new Date('2025-03-29T00:00:00Z'), 3);
    expect(iso(runs)).toEqual(['2025-03-29T01:30:00.000Z', '2025-03-30T01:30:00.000Z', '2025-03-31T01:30:00.000Z']);
  });

  it('reads cron in the job time zone', () => {
    expect(nextRunAfter(parseScheduleText('0 0 2 * * *'), 'Asia/Shanghai', new Date('2025-06-01T00:00:00Z')).toISOString()).toBe('2025-06-01T18:00:00.000Z');
  });

  it('adds intervals to the previous run', () => {
    expect(nextRunAfter({ kind: 'interval', seconds: 1800 }, 'UTC', new Date('2025-01-01T00:00:00Z')).toISOString()).toBe('2025-01-01T00:30:00.000Z');
  });

  it('agrees with the way Agenda itself computes nextRunAt', () => {
    const fakeAgenda = { definitions: {}, attrs: {} } as unknown as Agenda;
    const starts = ['2025-01-01T00:00:00.000Z', '2025-03-30T00:59:59.999Z', '2025-02-28T23:59:58.250Z', '2025-12-31T23:59:59.000Z'];
    const schedules: Array<[string, string]> = [
      ['*/2 * * * * *', 'UTC'],
      ['0 */30 * * * *', 'UTC'],
      ['0 0 2 * * *', 'UTC'],
      ['0 0 2 * * *', 'Asia/Shanghai'],
      ['0 30 1 * * *', 'Europe/Berlin'],
      ['0 0-10/5 9-17 * * mon-fri', 'UTC'],
      ['0 0 0 L * *', 'UTC'],
      ['every 30 minutes', 'UTC'],
      ['every 7 seconds', 'UTC'],
    ];
    for (const [text, tz] of schedules) {
      const s = parseScheduleText(text);
      for (const start of starts) {
        // repeatEvery() runs Agenda's own computeNextRunAt from lastRunAt.
        const job = new Job(fakeAgenda, { name: 't', type: 'normal', priority: 0, data: {}, nextRunAt: null, lastRunAt: new Date(start) } as never);
        job.repeatEvery(agendaRepeatInterval(s), { timezone: tz });
        expect(nextRunAfter(s, tz, new Date(start)).toISOString(), `${text} ${tz} after ${start}`).toBe(job.attrs.nextRunAt!.toISOString());
      }
    }
  });
});

describe('time zones', () => {
  it('defaults to UTC and canonicalises IANA names', () => {
    expect(normalizeTimezone(undefined)).toBe('UTC');
    expect(normalizeTimezone('')).toBe('UTC');
    expect(normalizeTimezone('Asia/Shanghai')).toBe('Asia/Shanghai');
  });
  it('rejects unknown zones', () => {
    expect(() => normalizeTimezone('Mars/Olympus')).toThrow(/未知的时区 "Mars\/Olympus"/);
  });
});
