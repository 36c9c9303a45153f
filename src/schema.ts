import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './graphql/scalars.js';
import './modules/common/errors.schema.js';
import './modules/user/user.schema.js';
import './modules/team/team.schema.js';
import './modules/team/team.mutations.js';
import './modules/token/token.schema.js';
import './modules/token/token.mutations.js';
import './modules/token/token-oversight.schema.js';
import './modules/token/token-events.schema.js';
import './modules/verification/verification.schema.js';
import './modules/usage/usage.schema.js';
import './modules/audit/audit.schema.js';
import './modules/exchange/exchange.schema.js';

export const schema: GraphQLSchema = builder.toSchema();

/** The public contract as checked in to schema.graphql: sorted, so diffs show real changes only. */
export function printContract(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
