/** Shared GraphQL shapes: page info and the generic paginated list. */
import type { ObjectRef } from '@pothos/core';
import { builder } from './builder.js';
import type { Page } from '../lib/pagination.js';

export const PageInfo = builder.objectRef<Page<unknown>>('PageInfo').implement({
  description: 'Position of a page in a paginated list (per_page is at most 100)',
  fields: (t) => ({
    page: t.exposeInt('page'),
    perPage: t.exposeInt('perPage'),
    total: t.exposeInt('total'),
    pages: t.exposeInt('pages'),
  }),
});

export function pageType<T>(name: string, item: ObjectRef<SchemaTypesOf, T>) {
  return builder.objectRef<Page<T>>(name).implement({
    fields: (t) => ({
      items: t.field({ type: [item], resolve: (p) => p.items }),
      pageInfo: t.field({ type: PageInfo, resolve: (p) => p as Page<unknown> }),
    }),
  });
}

type SchemaTypesOf = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
