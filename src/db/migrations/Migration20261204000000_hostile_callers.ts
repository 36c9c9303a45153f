import { Migration } from '@mikro-orm/migrations';

/**
 * Sessions are ordered: a user's recorded claims remember the issue time (`iat`) of the session
 * they came from, so an older session can no longer overwrite a newer one's. And a token is never
 * valid after an ancestor expires: a child whose expiry is later than an ancestor's (possible when
 * a parent's expiry was shortened after it minted the child) gets the ancestor's.
 */
export class Migration20261204000000_hostile_callers extends Migration {
  override up(): void {
    this.addSql(`alter table "users" add column "claims_issued_at" timestamptz(3) null;`);
    this.addSql(`
      update "tokens" as "child" set "expires_at" = "earliest"."expires_at"
      from (
        select "t"."id", min("a"."expires_at") as "expires_at"
        from "tokens" as "t" join "tokens" as "a" on "a"."id" = any("t"."ancestor_ids")
        where "a"."expires_at" is not null
        group by "t"."id"
      ) as "earliest"
      where "child"."id" = "earliest"."id" and ("child"."expires_at" is null or "child"."expires_at" > "earliest"."expires_at");`);
  }
}
