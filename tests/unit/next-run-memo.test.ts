import { describe, expect, it } from 'vitest';
import { Job, type Agenda } from 'agenda';
import '../../src/jobs/agenda.js'; // installs the per-second memo of computeNextRunAt
import { agendaRepeatInterval, nextRunAfter, parseScheduleText } from '../../src/services/scheduler/schedule.js';

describe("Agenda's next run with the per-second memo", () => {
  it('is the same for every moment of a second, whichever moment computed it first', () => {
    const fakeAgenda = { definitions: {}, attrs: {} } as unknown as Agenda;
    const seconds = ['2025-01-01T00:00:00Z', '2025-03-30T00:59:59Z', '2025-02-28T23:59:58Z', '2025-06-15T02:00:00Z'];
    const schedules: Array<[string, string]> = [
      ['*/2 * * * * *', 'UTC'],
      ['* * * * * *', 'UTC'],
      ['0 0 2 * * *', 'Asia/Shanghai'],
      ['0 30 1 * * *', 'Europe/Berlin'],
      ['0 0-10/5 9-17 * * mon-fri', 'UTC'],
      ['every 7 seconds', 'UTC'],
    ];
    for (const [text, tz] of schedules) {
      const s = parseScheduleText(text);
      for (const second of seconds) {
        // Later moments first, then the start of the second: each hits what the first one stored.
        for (const offset of [999, 500, 1, 0, 250]) {
          const at = new Date(new Date(second).getTime() + offset);
          const job = new Job(fakeAgenda, { name: 't', type: 'normal', priority: 0, data: {}, nextRunAt: null, lastRunAt: at } as never);
          job.repeatEvery(agendaRepeatInterval(s), { timezone: tz });
          expect(job.attrs.nextRunAt!.toISOString(), `${text} ${tz} after ${at.toISOString()}`).toBe(nextRunAfter(s, tz, at).toISOString());
        }
      }
    }
  });
});
