/** Writes the GraphQL SDL to schema.graphql (committed; a test fails when it is stale). */
import { writeFileSync } from 'node:fs';
import { printSdl } from '../schema/index.js';

writeFileSync(new URL('../../schema.graphql', import.meta.url), printSdl() + '\n');
console.log('wrote schema.graphql');
