import { writeFileSync } from 'node:fs';
import { printContract } from './schema.js';

/** `npm run schema`: regenerates schema.graphql from the code. */
const target = new URL('../schema.graphql', import.meta.url);
writeFileSync(target, printContract());
console.log(`wrote ${target.pathname}`);
