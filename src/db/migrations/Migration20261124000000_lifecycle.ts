import { Migration } from '@mikro-orm/migrations';

/**
 * The token lifecycle: rotation (old secrets kept, by digest, to honour a grace period and to
 * recognise reuse afterwards), the audit trail, and the keys that sign exchanged JWTs (private
 * parts encrypted with a key from the environment).
 */
export class Migration20261124000000_lifecycle extends Migration {
  override up(): void {
    this.addSql(`alter table "tokens" add column "rotated_at" timestamptz(3) null, add column "previous_secret_expires_at" timestamptz(3) null;`);

    this.addSql(`
      create table "retired_secrets" (
        "secret_hash" text not null primary key,
        "token_id" uuid not null,
        "prefix" text not null,
        "retired_at" timestamptz(3) not null,
        "valid_until" timestamptz(3) not null,
        constraint "retired_secrets_token_id_foreign" foreign key ("token_id") references "tokens" ("id") on update cascade on delete cascade
      );`);
    this.addSql(`create index "retired_secrets_token_index" on "retired_secrets" ("token_id", "valid_until" desc);`);

    this.addSql(`
      create table "audit_events" (
        "id" uuid not null primary key,
        "occurred_at" timestamptz(3) not null,
        "action" text not null,
        "actor_user_id" uuid null,
        "actor_email" text null,
        "actor_method" text not null,
        "actor_token_id" uuid null,
        "target_type" text not null,
        "target_id" text not null,
        "token_id" uuid null,
        "owner_id" uuid null,
        "team_id" uuid null,
        "client_ip" text null,
        "user_agent" text null,
        "changes" jsonb not null
      );`);
    this.addSql(`create index "audit_events_time_index" on "audit_events" ("occurred_at" desc, "id" desc);`);
    this.addSql(`create index "audit_events_token_index" on "audit_events" ("token_id", "occurred_at" desc);`);
    this.addSql(`create index "audit_events_owner_index" on "audit_events" ("owner_id", "occurred_at" desc);`);
    this.addSql(`create index "audit_events_team_index" on "audit_events" ("team_id", "occurred_at" desc);`);
    this.addSql(`create index "audit_events_actor_index" on "audit_events" ("actor_user_id", "occurred_at" desc);`);

    this.addSql(`
      create table "signing_keys" (
        "kid" text not null primary key,
        "public_jwk" jsonb not null,
        "private_jwk_encrypted" text not null,
        "created_at" timestamptz(3) not null,
        "retired_at" timestamptz(3) null,
        "publish_until" timestamptz(3) null
      );`);
  }

  override down(): void {
    this.addSql(`drop table if exists "signing_keys";`);
    this.addSql(`drop table if exists "audit_events";`);
    this.addSql(`drop table if exists "retired_secrets";`);
    this.addSql(`alter table "tokens" drop column "previous_secret_expires_at", drop column "rotated_at";`);
  }
}
