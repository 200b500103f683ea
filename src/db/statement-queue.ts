/**
 * Statements of one transaction, sent one after another on its connection while the caller goes on
 * preparing the next ones: the database executes a chunk while Node plans and serialises the
 * following one (the sync writer, auto-classify's assignment writes). pg would queue concurrent
 * queries itself, but that is deprecated. After the first failure nothing more is sent: the
 * transaction is aborted anyway.
 */
import type pg from 'pg';

export class StatementQueue {
  private tail: Promise<void> = Promise.resolve();
  private firstError: Error | null = null;

  constructor(private readonly client: pg.ClientBase) {}

  /** The first statement that failed (later ones were not sent). */
  get error(): Error | null {
    return this.firstError;
  }

  /** Queues a statement; `onResult` sees its result (e.g. to count rows). */
  push(sql: string, params?: unknown[], onResult?: (r: pg.QueryResult) => void): void {
    this.tail = this.tail.then(() =>
      this.firstError
        ? undefined
        : this.client.query(sql, params).then(
            (r) => onResult?.(r),
            (err: Error) => {
              this.firstError = err;
            },
          ),
    );
  }

  /** A read after the statements queued so far; its failure is the queue's too. */
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
  query<R extends unknown[]>(config: pg.QueryArrayConfig): Promise<pg.QueryArrayResult<R>>;
  query(config: pg.QueryConfig | pg.QueryArrayConfig): Promise<pg.QueryResult | pg.QueryArrayResult> {
    const p = this.tail.then(() => {
      if (this.firstError) throw this.firstError;
      return this.client.query(config as pg.QueryConfig);
    });
    this.tail = p.then(
      () => {},
      (err: Error) => {
        this.firstError ??= err;
      },
    );
    return p;
  }

  /**
   * Lets the queued statements go out before the caller's next stretch of synchronous work: the
   * queue advances in promise callbacks, which run only when the caller yields to the event loop.
   */
  async yieldToDatabase(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.firstError) throw this.firstError;
  }

  /** Waits until nothing is running any more, failed or not (before a ROLLBACK). */
  async settled(): Promise<void> {
    await this.tail;
  }

  /** Waits for every queued statement; throws the first failure. */
  async drain(): Promise<void> {
    await this.tail;
    if (this.firstError) throw this.firstError;
  }
}
