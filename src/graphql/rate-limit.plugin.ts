import SchemaBuilder, {
  BasePlugin,
  type FieldNullability,
  type InputFieldMap,
  type PothosOutputFieldConfig,
  type SchemaTypes,
  type TypeParam,
} from '@pothos/core';
import { getNamedType, isUnionType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Budget } from '../limits/caller-rate-limits.js';

/**
 * `rateLimit: 'mint' | 'change'` on a mutation spends one unit of the caller's budget before its
 * resolver runs, after its authorization scopes have passed (this plugin wraps inside scope-auth).
 * Over budget, the resolver throws RateLimitedError, which the errors plugin turns into that member
 * of the mutation's result union.
 */

const pluginName = 'rateLimit';

/** What the plugin needs from the request context. */
export interface RateLimitContext {
  spendBudget(budget: Budget): Promise<void>;
}

// Pothos plugins declare their options by merging into its global namespace; a merged interface
// must repeat the original's type parameters, used or not.
/* eslint-disable @typescript-eslint/no-namespace, @typescript-eslint/no-unused-vars */
declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      rateLimit: RateLimitPlugin<Types>;
    }
    interface MutationFieldOptions<
      Types extends SchemaTypes,
      Type extends TypeParam<Types>,
      Nullable extends FieldNullability<Type>,
      Args extends InputFieldMap,
      ResolveReturnShape,
    > {
      /** Which of the caller's budgets one call spends. */
      rateLimit?: Budget;
    }
  }
}
/* eslint-enable @typescript-eslint/no-namespace, @typescript-eslint/no-unused-vars */

export class RateLimitPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  /**
   * A rate-limited mutation whose result union lacks RateLimitedError would answer every refusal
   * as a bare RATE_LIMITED error, not the typed result clients read: the schema does not build.
   */
  override afterBuild(schema: GraphQLSchema): GraphQLSchema {
    for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
      if (!(field.extensions?.pothosOptions as { rateLimit?: Budget } | undefined)?.rateLimit) continue;
      const result = getNamedType(field.type);
      if (!isUnionType(result) || !result.getTypes().some((member) => member.name === 'RateLimitedError')) {
        throw new Error(`Mutation.${field.name} is rate-limited: its result union must include RateLimitedError`);
      }
    }
    return schema;
  }

  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    const budget = (fieldConfig.pothosOptions as { rateLimit?: Budget }).rateLimit;
    if (!budget) return resolver;
    return async (parent, args, context, info) => {
      await (context as RateLimitContext).spendBudget(budget);
      return resolver(parent, args, context, info);
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, RateLimitPlugin);

export default pluginName;
