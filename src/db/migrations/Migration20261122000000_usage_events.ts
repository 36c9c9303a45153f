import { Migration } from '@mikro-orm/migrations';

/**
 * Usage events: one row per use of a token (verification or request to Keymint), written in
 * batches. Stats read them by token and time; pruning reads them by time alone.
 */
export class Migration20261122000000_usage_events extends Migration {
  override up(): void {
    this.addSql(`
      create table "usage_events" (
        "id" uuid not null primary key,
        "token_id" uuid not null,
        "occurred_at" timestamptz(3) not null,
        "endpoint" text null,
        "method" text null,
        "client_ip" text null,
        "user_agent" text null,
        "outcome" text not null,
        "blocked" boolean not null,
        "block_reason" text null,
        "status_code" smallint null,
        "response_time_ms" double precision null,
        constraint "usage_events_token_id_foreign" foreign key ("token_id") references "tokens" ("id") on update cascade on delete cascade
      );`);
    this.addSql(`create index "usage_events_token_time_index" on "usage_events" ("token_id", "occurred_at");`);
    this.addSql(`create index "usage_events_time_index" on "usage_events" ("occurred_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "usage_events";`);
  }
}
