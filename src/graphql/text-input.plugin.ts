import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import {
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLFieldResolver,
  type GraphQLInputType,
  type GraphQLResolveInfo,
} from 'graphql';
import { BadUserInputError, ValidationError } from '../errors/errors.js';
import { unstorableText, unstorableTextMessage } from '../text.js';

/**
 * Text that PostgreSQL cannot store never reaches it: every String and ID argument of every field,
 * however deep in an input object or list, is checked before the resolver runs. A NUL (U+0000) or
 * an unpaired surrogate is refused with a ValidationError naming the field where the field's result
 * union has one, BAD_USER_INPUT otherwise. Input fields that the resolver sanitizes itself (what a
 * resource server saw in a request it did not write) are marked with SANITIZED_TEXT and skipped.
 */

const pluginName = 'textInput';

/** Marks an input field whose text is cleaned by its resolver rather than refused. */
export const SANITIZED_TEXT = { sanitizedText: true } as const;

interface Problem {
  /** Where, from the argument: ['input', 'tags', '2']. */
  path: string[];
}

type Check = (args: Record<string, unknown>) => Problem | null;

// Pothos plugins register themselves by merging into its global namespace.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      textInput: TextInputPlugin<Types>;
    }
  }
}

export class TextInputPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (Object.keys(fieldConfig.args).length === 0) return resolver;
    // Built from the finished GraphQL field on first use: input types are not built yet here.
    let check: Check | undefined;
    return (parent, args, context, info) => {
      check ??= checkFor(info.parentType.getFields()[info.fieldName]!.args);
      const problem = check(args as Record<string, unknown>);
      if (problem) throw refusal(problem, info);
      return resolver(parent, args, context, info);
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, TextInputPlugin);

export default pluginName;

function checkFor(args: readonly GraphQLArgument[]): Check {
  const texts = args.filter((arg) => carriesText(arg.type, new Set()));
  if (texts.length === 0) return () => null;
  return (values) => {
    for (const arg of texts) {
      const problem = findUnstorable(values[arg.name], arg.type, [arg.name]);
      if (problem) return problem;
    }
    return null;
  };
}

/** Whether any String or ID can be reached through this type (so the check can be skipped when none can). */
function carriesText(type: GraphQLInputType, seen: Set<string>): boolean {
  const named = getNamedType(type);
  if (isScalarType(named)) return named.name === 'String' || named.name === 'ID';
  if (!isInputObjectType(named) || seen.has(named.name)) return false;
  seen.add(named.name);
  return Object.values(named.getFields()).some((field) => !field.extensions?.sanitizedText && carriesText(field.type, seen));
}

function findUnstorable(value: unknown, type: GraphQLInputType, path: string[]): Problem | null {
  if (value === null || value === undefined) return null;
  const nullable = getNullableType(type) as GraphQLInputType;
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return findUnstorable(value, nullable.ofType, path);
    for (let index = 0; index < value.length; index += 1) {
      const problem = findUnstorable(value[index], nullable.ofType, [...path, String(index)]);
      if (problem) return problem;
    }
    return null;
  }
  if (isInputObjectType(nullable)) {
    const object = value as Record<string, unknown>;
    for (const field of Object.values(nullable.getFields())) {
      if (field.extensions?.sanitizedText) continue;
      const problem = findUnstorable(object[field.name], field.type, [...path, field.name]);
      if (problem) return problem;
    }
    return null;
  }
  return typeof value === 'string' && unstorableText(value) ? { path } : null;
}

function refusal(problem: Problem, info: GraphQLResolveInfo): Error {
  const returnType = getNamedType(info.returnType);
  const typed = isUnionType(returnType) && returnType.getTypes().some((member) => member.name === 'ValidationError');
  if (!typed) return new BadUserInputError(unstorableTextMessage(problem.path.join('.')), problem.path[0]!);
  // Field errors are relative to the mutation's `input`, like every other ValidationError.
  const path = problem.path[0] === 'input' && problem.path.length > 1 ? problem.path.slice(1) : problem.path;
  return ValidationError.forField(path, unstorableTextMessage(path.join('.')));
}
