/**
 * Shared GraphQL shapes. Lists are Relay connections (edges { cursor node }, pageInfo, totalCount);
 * pageInfo also carries the REST-style page numbers, so both paging styles read the same result.
 */
import type { ArgBuilder, ObjectRef } from '@pothos/core';
import { builder } from './builder.js';
import { encodeCursor, type Page } from '../lib/pagination.js';

export const PageInfo = builder.objectRef<Page<unknown>>('PageInfo').implement({
  description: 'Relay page info plus page numbers (per_page is at most 100)',
  fields: (t) => ({
    hasNextPage: t.boolean({ resolve: (p) => p.offset + p.items.length < p.total }),
    hasPreviousPage: t.boolean({ resolve: (p) => p.offset > 0 }),
    startCursor: t.string({ nullable: true, resolve: (p) => (p.items.length ? encodeCursor(p.offset) : null) }),
    endCursor: t.string({ nullable: true, resolve: (p) => (p.items.length ? encodeCursor(p.offset + p.items.length - 1) : null) }),
    page: t.exposeInt('page'),
    perPage: t.exposeInt('perPage'),
    pages: t.exposeInt('pages'),
  }),
});

/** `<Name>Connection` and `<Name>Edge` for a Page<T> result. */
/** The builder's resolved type parameters. */
export type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

export function connectionType<T>(name: string, node: ObjectRef<Types, T>) {
  const Edge = builder.objectRef<{ node: T; cursor: string }>(`${name}Edge`).implement({
    fields: (t) => ({
      cursor: t.exposeString('cursor'),
      node: t.field({ type: node, resolve: (e) => e.node as never }),
    }),
  });
  return builder.objectRef<Page<T>>(`${name}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [Edge], resolve: (p) => p.items.map((n, i) => ({ node: n, cursor: encodeCursor(p.offset + i) })) }),
      nodes: t.field({ type: [node], resolve: (p) => p.items as never }),
      pageInfo: t.field({ type: PageInfo, resolve: (p) => p as Page<unknown> }),
      totalCount: t.exposeInt('total'),
    }),
  });
}

/** The paging arguments every list field accepts. */
export function pagingArgs(t: ArgBuilder<Types>) {
  return {
    first: t.int({ description: 'Relay: at most this many items (≤ 100)' }),
    after: t.string({ description: 'Relay: items after this cursor' }),
    page: t.int({ description: 'page number, from 1' }),
    perPage: t.int({ description: 'items per page (default 20, at most 100)' }),
  };
}
