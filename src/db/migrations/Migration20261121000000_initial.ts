import { Migration } from '@mikro-orm/migrations';

/**
 * Users, teams, memberships, tokens and revocations.
 *
 * Token names are unique per owner and scope (personal, or one team) among tokens that are not
 * revoked. A plain unique constraint cannot say "not revoked" and treats NULL teams as distinct,
 * hence the partial index over coalesce(team_id, nil uuid).
 */
export class Migration20261121000000_initial extends Migration {
  override up(): void {
    this.addSql(`
      create table "users" (
        "id" uuid not null primary key,
        "subject" text not null,
        "email" text not null,
        "name" text null,
        "permissions" text[] not null default '{}',
        "is_admin" boolean not null default false,
        "created_at" timestamptz(3) not null,
        "updated_at" timestamptz(3) not null,
        constraint "users_subject_unique" unique ("subject")
      );`);
    this.addSql(`create index "users_email_index" on "users" ("email");`);

    this.addSql(`
      create table "teams" (
        "id" uuid not null primary key,
        "name" text not null,
        "slug" text not null,
        "created_at" timestamptz(3) not null,
        constraint "teams_slug_unique" unique ("slug")
      );`);

    this.addSql(`
      create table "team_members" (
        "team_id" uuid not null,
        "user_id" uuid not null,
        "role" text check ("role" in ('OWNER', 'MEMBER')) not null,
        "joined_at" timestamptz(3) not null,
        constraint "team_members_pkey" primary key ("team_id", "user_id"),
        constraint "team_members_team_id_foreign" foreign key ("team_id") references "teams" ("id") on update cascade on delete cascade,
        constraint "team_members_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade
      );`);
    this.addSql(`create index "team_members_user_index" on "team_members" ("user_id");`);

    this.addSql(`
      create table "tokens" (
        "id" uuid not null primary key,
        "owner_id" uuid not null,
        "team_id" uuid null,
        "name" text not null,
        "description" text null,
        "prefix" text not null,
        "secret_hash" text not null,
        "permissions" text[] not null default '{}',
        "server_id" text null,
        "ip_restrictions" text[] not null default '{}',
        "time_restrictions" jsonb null,
        "usage_limits" jsonb null,
        "tags" text[] not null default '{}',
        "created_at" timestamptz(3) not null,
        "updated_at" timestamptz(3) not null,
        "expires_at" timestamptz(3) null,
        "last_used_at" timestamptz(3) null,
        "usage_count" bigint not null default 0,
        "revoked_at" timestamptz(3) null,
        constraint "tokens_secret_hash_unique" unique ("secret_hash"),
        constraint "tokens_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade,
        constraint "tokens_team_id_foreign" foreign key ("team_id") references "teams" ("id") on update cascade on delete set null
      );`);
    this.addSql(`create index "tokens_team_index" on "tokens" ("team_id");`);
    // The viewer's list: newest first, keyset-paginated on (created_at, id).
    this.addSql(
      `create index "tokens_owner_created_index" on "tokens" ("owner_id", "created_at" desc, "id" desc);`,
    );
    this.addSql(`create index "tokens_tags_index" on "tokens" using gin ("tags");`);
    this.addSql(`
      create unique index "tokens_owner_scope_name_unique" on "tokens"
        ("owner_id", coalesce("team_id", '00000000-0000-0000-0000-000000000000'::uuid), "name")
        where "revoked_at" is null;`);

    this.addSql(`
      create table "revocations" (
        "id" uuid not null primary key,
        "token_id" uuid not null,
        "revoked_at" timestamptz(3) not null,
        "revoked_by" text not null,
        "reason" text null,
        constraint "revocations_token_unique" unique ("token_id"),
        constraint "revocations_token_id_foreign" foreign key ("token_id") references "tokens" ("id") on update cascade
      );`);
  }

  override down(): void {
    this.addSql(`drop table if exists "revocations";`);
    this.addSql(`drop table if exists "tokens";`);
    this.addSql(`drop table if exists "team_members";`);
    this.addSql(`drop table if exists "teams";`);
    this.addSql(`drop table if exists "users";`);
  }
}
