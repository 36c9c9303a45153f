import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // GraphQL types must come from one module instance, or graphql-js refuses them
    // ("Cannot use GraphQLScalarType from another module or realm").
    server: { deps: { inline: [/@pothos\//, /graphql-yoga/, /@graphql-tools\//, /@envelop\//] } },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
