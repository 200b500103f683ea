/**
 * Coalesces calls into one write for many callers (one statement instead of one round trip each).
 * A call made while nothing is in flight is sent at once, so a lone call waits for nothing; calls
 * arriving during a write go together in the next one, so under a burst batches grow to whatever
 * arrives within one round trip.
 */
export class Batcher<I, O> {
  private queue: Array<{ input: I; resolve: (o: O) => void; reject: (err: unknown) => void }> = [];
  private inFlight = false;

  /**
   * @param write  performs the batch; answers one output per input, in order (a rejection fails the whole batch)
   * @param key    inputs with the same key never share a batch (the write may assume them distinct)
   */
  constructor(
    private readonly write: (inputs: I[]) => Promise<O[]>,
    private readonly opts: { max: number; key?: (input: I) => string },
  ) {}

  run(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || !this.queue.length) return;
    const batch: typeof this.queue = [];
    const keys = new Set<string>();
    const rest: typeof this.queue = [];
    for (const call of this.queue) {
      const k = this.opts.key?.(call.input);
      if (batch.length >= this.opts.max || (k !== undefined && keys.has(k))) rest.push(call);
      else {
        batch.push(call);
        if (k !== undefined) keys.add(k);
      }
    }
    this.queue = rest;
    this.inFlight = true;
    void Promise.resolve()
      .then(() => this.write(batch.map((c) => c.input)))
      .then(
        (out) => batch.forEach((c, i) => c.resolve(out[i]!)),
        (err) => batch.forEach((c) => c.reject(err)),
      )
      .finally(() => {
        this.inFlight = false;
        this.pump();
      });
  }
}
