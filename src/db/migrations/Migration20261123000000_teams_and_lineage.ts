import { Migration } from '@mikro-orm/migrations';

/**
 * Teams become manageable and tokens get a lineage.
 * - A token minted by an API token records its parent and every ancestor, so "is X a descendant
 *   of Y" and "revoke Y and everything below it" are one indexed query each.
 * - Teams are soft-deleted (their tokens' revocations stay visible), so the slug is unique only
 *   among live teams.
 * - Lists by team and the admin's list of every token get keyset indexes; users are found by email.
 */
export class Migration20261123000000_teams_and_lineage extends Migration {
  override up(): void {
    this.addSql(`alter table "tokens" add column "parent_id" uuid null, add column "ancestor_ids" uuid[] not null default '{}';`);
    this.addSql(
      `alter table "tokens" add constraint "tokens_parent_id_foreign" foreign key ("parent_id") references "tokens" ("id") on update cascade on delete set null;`,
    );
    this.addSql(`create index "tokens_parent_index" on "tokens" ("parent_id");`);
    this.addSql(`create index "tokens_ancestors_index" on "tokens" using gin ("ancestor_ids");`);
    this.addSql(`drop index "tokens_team_index";`);
    this.addSql(`create index "tokens_team_created_index" on "tokens" ("team_id", "created_at" desc, "id" desc);`);
    this.addSql(`create index "tokens_created_index" on "tokens" ("created_at" desc, "id" desc);`);

    this.addSql(`alter table "teams" add column "deleted_at" timestamptz(3) null;`);
    this.addSql(`alter table "teams" drop constraint "teams_slug_unique";`);
    this.addSql(`create unique index "teams_slug_unique" on "teams" ("slug") where "deleted_at" is null;`);

    this.addSql(`drop index "users_email_index";`);
    this.addSql(`create index "users_email_index" on "users" (lower("email"));`);
  }

  override down(): void {
    this.addSql(`drop index "users_email_index";`);
    this.addSql(`create index "users_email_index" on "users" ("email");`);
    this.addSql(`drop index "teams_slug_unique";`);
    this.addSql(`alter table "teams" add constraint "teams_slug_unique" unique ("slug");`);
    this.addSql(`alter table "teams" drop column "deleted_at";`);
    this.addSql(`drop index "tokens_created_index";`);
    this.addSql(`drop index "tokens_team_created_index";`);
    this.addSql(`create index "tokens_team_index" on "tokens" ("team_id");`);
    this.addSql(`alter table "tokens" drop constraint "tokens_parent_id_foreign";`);
    this.addSql(`alter table "tokens" drop column "ancestor_ids", drop column "parent_id";`);
  }
}
