import { getAvailableTranspilers } from 'dependency-cruiser';

/**
 * The import rules `npm run check:deps` enforces on src/ (see STYLE.md, "Which way the arrows
 * run"). Type-only imports count: a cycle through `import type` still ties the modules together.
 */

// Without a TypeScript compiler it supports, dependency-cruiser skips every .ts file and reports
// "no dependency violations" for the 0 modules it read: refuse to run instead of passing.
const typescript = getAvailableTranspilers().find((transpiler) => transpiler.name === 'typescript');
if (!typescript?.available) {
  throw new Error(`dependency-cruiser cannot read src/ without typescript ${typescript?.version ?? ''} (found: ${typescript?.currentVersion ?? 'none'})`);
}

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Imports flow one way, from the door to the foundations: no module may reach itself again.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'auth-not-on-modules',
      severity: 'error',
      comment:
        'src/auth holds the pure pieces below the domain (session JWTs, permission matching, scopes); ' +
        'what authenticates a request through a module sits above the modules, outside src/auth.',
      from: { path: '^src/auth/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import the check cannot resolve is a dependency it cannot see, and a cycle it could miss.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Count `import type` and `import { type X }` too: they are gone from the emitted JavaScript,
    // but not from the design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
    // Packages such as mikro-orm-pglite publish only an exports map: resolve as Node and tsc do.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
