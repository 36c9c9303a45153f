import type { Plugin } from 'graphql-yoga';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import type { Config } from '../config.js';

/**
 * How much of the schema a stranger may learn. In production introspection is off (unless
 * GRAPHQL_INTROSPECTION=true) and "Did you mean ...?" hints are masked, since either one maps the
 * schema for someone probing it; codegen runs against the checked-in schema.graphql instead.
 */
export function schemaExposure(graphql: Config['graphql']): Plugin[] {
  const plugins: Plugin[] = [];
  if (!graphql.introspection) plugins.push(useDisableIntrospection() as Plugin);
  if (!graphql.fieldSuggestions) plugins.push(blockFieldSuggestionsPlugin({ mask: '' }) as Plugin);
  return plugins;
}
