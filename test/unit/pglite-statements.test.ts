import { describe, expect, it } from 'vitest';
import { statementCount } from '../../src/db/pglite-statements.js';

describe('statementCount', () => {
  it.each([
    ['select 1', 1],
    ['select 1;', 1],
    ['  ', 0],
    ['select 1; select 2', 2],
    ["select 'a;b'", 1],
    ["select 'it''s; fine'", 1],
    ['select "odd;name" from t', 1],
    ["select E'a\\';b'", 1],
    ['select $$a;b$$', 1],
    ['select $tag$ a; b $tag$; select 2', 2],
    ['select 1 -- a; comment\n', 1],
    ['select 1 /* a; b */', 1],
    ["insert into t values ('x;y'); update t set a = ';'", 2],
  ])('%j holds %i statement(s)', (sql, count) => {
    expect(statementCount(sql)).toBe(count);
  });
});
