/**
 * Executes each subscription event once per distinct (payload, operation, variables, role) instead
 * of once per subscriber. Live streams hand the same payload object to every subscriber (the log
 * stream does), so 500 dashboards watching the log cost one execution per entry, not 500.
 *
 * Replaces graphql-js' subscribe() (same steps: create the source stream, then execute the
 * selection set against each payload) with a per-event execute that is memoised in a WeakMap keyed
 * by the payload object, so cached results go away with their payloads. Results depend only on the
 * payload, the document, the variables and the caller's role (field scopes are role-based).
 */
import type { Plugin } from '@envelop/core';
import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Ctx } from '../context.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

const documentIds = new WeakMap<object, number>();
let nextDocumentId = 1;
const documentId = (doc: object) => {
  let id = documentIds.get(doc);
  if (id === undefined) documentIds.set(doc, (id = nextDocumentId++));
  return id;
};

function mapEvents(source: AsyncIterable<unknown>, args: ExecutionArgs): AsyncIterableIterator<Result> {
  const ctx = args.contextValue as Partial<Ctx> | undefined;
  const key = `${documentId(args.document)}|${args.operationName ?? ''}|${ctx?.user?.role ?? ''}|${JSON.stringify(args.variableValues ?? {})}`;
  const cache = sharedResults;
  const it = source[Symbol.asyncIterator]();
  const executeFor = (payload: unknown): Result => {
    if (payload === null || typeof payload !== 'object') return execute({ ...args, rootValue: payload });
    let perPayload = cache.get(payload);
    if (!perPayload) cache.set(payload, (perPayload = new Map()));
    let result = perPayload.get(key);
    if (!result) perPayload.set(key, (result = execute({ ...args, rootValue: payload })));
    return result;
  };
  return {
    // Plain promise chains, not async/await: this runs once per event per subscriber.
    next() {
      return it.next().then((r): IteratorResult<Result> | Promise<IteratorResult<Result>> => {
        if (r.done) return r;
        const value = executeFor(r.value);
        return value instanceof Promise ? value.then((v) => ({ value: v, done: false })) : { value, done: false };
      });
    },
    async return() {
      await it.return?.();
      return { value: undefined, done: true };
    },
    async throw(err: unknown) {
      await it.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const sharedResults = new WeakMap<object, Map<string, Result>>();

async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<Result> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in (source as object))) return source as ExecutionResult;
  return mapEvents(source as AsyncIterable<unknown>, args);
}

export function useSharedSubscriptionResults(): Plugin {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(sharedSubscribe as never);
    },
  };
}
