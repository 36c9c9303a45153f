import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_initial } from './Migration20261121000000_initial.js';
import { Migration20261122000000_usage_events } from './Migration20261122000000_usage_events.js';
import { Migration20261123000000_teams_and_lineage } from './Migration20261123000000_teams_and_lineage.js';
import { Migration20261124000000_lifecycle } from './Migration20261124000000_lifecycle.js';
import { Migration20261204000000_hostile_callers } from './Migration20261204000000_hostile_callers.js';

/**
 * Every migration, in order. The Migrator reads this list instead of globbing the folder, so the
 * same code runs under tsx, vitest and a compiled build. `npm run migration:create` writes new
 * files into this folder; add each one here.
 */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261121000000_initial', class: Migration20261121000000_initial },
  { name: 'Migration20261122000000_usage_events', class: Migration20261122000000_usage_events },
  { name: 'Migration20261123000000_teams_and_lineage', class: Migration20261123000000_teams_and_lineage },
  { name: 'Migration20261124000000_lifecycle', class: Migration20261124000000_lifecycle },
  { name: 'Migration20261204000000_hostile_callers', class: Migration20261204000000_hostile_callers },
];
