import { defineConfig } from 'vitest/config';

export default defineConfig({
  // GraphQL types must come from one module instance, or graphql-js refuses them ("Cannot use
  // GraphQLScalarType from another module or realm") and `instanceof GraphQLError` fails. Node
  // loads graphql's CommonJS build for everyone (its package.json has no "exports"); Vite would
  // hand ES imports its "module" build and require() the other. So every import gets the one Node
  // uses, and the packages that import it are inlined to go through the same resolution.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['test/**/*.test.ts'],
    server: { deps: { inline: [/@pothos\//, /graphql-yoga/, /@graphql-tools\//, /@envelop\//] } },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
