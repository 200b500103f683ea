/**
 * The sync's plan built from a snapshot handed over in parts (SnapshotPlanner, as the MySQL adapter
 * streams it) is the plan of the whole snapshot at once, however the parts are cut; and the queue
 * the parts travel through delivers them in order, or fails without delivering what is left.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UnifiedAccount } from '../../src/adapters/types.js';
import { AsyncQueue } from '../../src/lib/async-queue.js';
import { planSnapshot, SnapshotPlanner, type PlanStep, type StoredRow } from '../../src/services/sync/snapshot-plan.js';

const account = (i: number, variant: number): UnifiedAccount => ({
  username: `u${i}@%`,
  host: '%',
  isSuperuser: variant === 1,
  isActive: true,
  isLocked: variant === 2,
  globalPrivileges: variant === 3 ? ['SELECT', 'SUPER'] : ['SELECT'],
  typeSpecific: {},
  lastLoginAt: variant === 4 ? new Date(1_700_000_000_000) : null,
});

const storedOf = (a: UnifiedAccount, id: number, isDeleted: boolean): StoredRow => ({
  id,
  username: a.username,
  isDeleted,
  isSuperuser: a.isSuperuser,
  isActive: a.isActive,
  isLocked: a.isLocked,
  host: a.host ?? null,
  roleAttributes: null,
  typeSpecific: a.typeSpecific,
  globalPrivileges: a.globalPrivileges ?? null,
  databasePrivileges: null,
  predefinedRoles: null,
  databasePrivilegesPg: null,
  tablespacePrivileges: null,
  serverRoles: null,
  serverPermissions: null,
  databaseRoles: null,
  databasePermissions: null,
  oracleRoles: null,
  systemPrivileges: null,
  tablespacePrivilegesOracle: null,
  lastLoginAt: a.lastLoginAt ?? null,
});

/** What a plan writes, order aside. */
function summary(steps: PlanStep[]) {
  const names = (kind: PlanStep['kind']) =>
    steps
      .filter((s) => s.kind === kind)
      .flatMap((s) => (s.kind === 'vanished' ? s.ids.map(String) : s.items.map((x) => ('id' in x ? `${x.id}:${'changeType' in x ? x.changeType : ''}` : x.account.username))))
      .sort();
  return { added: names('added'), updated: names('updated'), dateUpdates: names('dateUpdates'), vanished: names('vanished') };
}

describe('SnapshotPlanner', () => {
  it('plans a snapshot handed over in parts as the whole snapshot at once', () => {
    fc.assert(
      fc.property(
        // Per account index: absent/stored/stored-deleted × fresh variant or absent; and where to cut.
        fc.array(fc.record({ stored: fc.constantFrom('none', 'live', 'deleted'), storedVariant: fc.nat(4), fresh: fc.option(fc.nat(4)) }), { maxLength: 60 }),
        fc.array(fc.nat(60), { maxLength: 6 }),
        fc.integer({ min: 1, max: 7 }),
        (spec, cuts, chunk) => {
          const stored = spec.flatMap((s, i) => (s.stored === 'none' ? [] : [storedOf(account(i, s.storedVariant), 1000 + i, s.stored === 'deleted')]));
          const fresh = spec.flatMap((s, i) => (s.fresh === null ? [] : [account(i, s.fresh)]));
          const whole = planSnapshot(stored, fresh);

          const bounds = [...new Set([0, ...cuts.map((c) => Math.min(c, fresh.length)), fresh.length])].sort((a, b) => a - b);
          const planner = new SnapshotPlanner(stored, chunk);
          const steps: PlanStep[] = [];
          for (let k = 1; k < bounds.length; k++) steps.push(...planner.add(fresh.slice(bounds[k - 1], bounds[k])));
          const finish = planner.finish();
          let r = finish.next();
          for (; !r.done; r = finish.next()) steps.push(r.value);
          expect(r.value).toEqual(whole.counts);
          for (const s of steps) if (s.kind !== 'vanished') expect(s.items.length).toBeLessThanOrEqual(chunk);
          const wholeSteps: PlanStep[] = [
            { kind: 'added', items: whole.added },
            { kind: 'updated', items: whole.updated },
            { kind: 'dateUpdates', items: whole.dateUpdates },
            { kind: 'vanished', ids: whole.vanished },
          ];
          expect(summary(steps)).toEqual(summary(wholeSteps));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never plans deletions from an empty read', () => {
    const planner = new SnapshotPlanner([storedOf(account(1, 0), 1, false)], 10);
    expect([...planner.add([])]).toEqual([]);
    const steps = [...planner.finish()];
    expect(steps).toEqual([]);
  });
});

describe('AsyncQueue', () => {
  it('delivers what was pushed, in order, until it ends', async () => {
    const q = new AsyncQueue<number>();
    const got: number[] = [];
    const reading = (async () => {
      for await (const x of q) got.push(x);
    })();
    q.push(1);
    await new Promise((r) => setImmediate(r));
    q.push(2);
    q.push(3);
    q.end();
    q.push(4); // after the end: dropped
    await reading;
    expect(got).toEqual([1, 2, 3]);
  });

  it('fails the reader, even with parts still queued, and keeps the first failure', async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.fail(new Error('read failed'));
    q.fail(new Error('second'));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const x of q) got.push(x);
      })(),
    ).rejects.toThrow('read failed');
    expect(got).toEqual([]);
  });
});
