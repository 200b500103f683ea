import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/lib/batcher.js';

describe('Batcher', () => {
  it('sends a lone call at once and groups the calls that arrive while a write is in flight', async () => {
    const writes: number[][] = [];
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(
      async (inputs) => {
        writes.push(inputs);
        await gate;
        return inputs.map((i) => i * 10);
      },
      { max: 3 },
    );
    const first = b.run(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(writes).toEqual([[1]]);
    const rest = [2, 3, 4, 5].map((i) => b.run(i));
    release();
    gate = Promise.resolve();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50]);
    expect(writes).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('never puts two calls with the same key in one write, and fails only the calls of a failed write', async () => {
    const writes: string[][] = [];
    let block = true;
    const b = new Batcher<string, string>(
      async (inputs) => {
        writes.push(inputs);
        if (block) {
          block = false;
          await new Promise((r) => setTimeout(r, 10));
        }
        if (inputs.includes('zboom')) throw new Error('write failed');
        return inputs.map((i) => i.toUpperCase());
      },
      { max: 10, key: (s) => s[0]! },
    );
    const first = b.run('x');
    const calls = ['a1', 'b1', 'a2', 'zboom'].map((s) => b.run(s).catch((e: Error) => e.message));
    expect(await first).toBe('X');
    expect(await Promise.all(calls)).toEqual(['write failed', 'write failed', 'A2', 'write failed']);
    expect(writes).toEqual([['x'], ['a1', 'b1', 'zboom'], ['a2']]);
  });
});
