/** Imports every type module and builds the schema. */
import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './user.js';
import './auth.js';
import './system.js';
import './log.js';
import './inventory.js';
import './sync.js';
import './account.js';
import './dashboard.js';
import './scheduler.js';
import './classification.js';
import './alert.js';
import './drift.js';

export const schema = builder.toSchema();

export function printSdl(): string {
  return printSchema(lexicographicSortSchema(schema));
}
