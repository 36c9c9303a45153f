import { PGliteKnexDialect } from 'mikro-orm-pglite';

/**
 * How many statements a piece of SQL holds, reading it as PostgreSQL does: a `;` inside a quoted
 * literal ('...', E'...'), a quoted identifier ("..."), a dollar-quoted body ($tag$...$tag$) or a
 * comment separates nothing.
 */
export function statementCount(sql: string): number {
  let count = 0;
  let pending = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      i = closingQuote(sql, i, c);
      pending = true;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i, i + 64))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64))![0];
      const end = sql.indexOf(tag, i + tag.length);
      i = end < 0 ? sql.length : end + tag.length;
      pending = true;
    } else if (c === ';') {
      if (pending) count += 1;
      pending = false;
      i += 1;
    } else {
      if (!/\s/.test(c)) pending = true;
      i += 1;
    }
  }
  return count + (pending ? 1 : 0);
}

/** Past the quote that closes the one at `start` (a doubled quote is an escaped one). */
function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else if (sql[i] === '\\' && quote === "'" && /[eE]/.test(sql[start - 1] ?? '')) {
      i += 2; // E'...\'...' escapes with a backslash
    } else {
      i += 1;
    }
  }
  return sql.length;
}

/**
 * The PGlite adapter runs a raw statement through `exec` (several statements, no parameters, no
 * row shape) whenever its text splits on `;` into more than one part, so a value holding a `;`
 * (the ORM writes values into the SQL text) turned a query into garbage. Here only SQL that really
 * holds several statements goes to `exec`.
 */
export function patchPgliteStatementSplitting(): void {
  const prototype = PGliteKnexDialect.prototype as unknown as {
    _query(connection: PgliteConnection, obj: QueryObject): Promise<QueryObject>;
  };
  // An upgrade that renames the method must not leave the old behaviour silently in place.
  if (typeof prototype._query !== 'function') throw new Error('mikro-orm-pglite no longer has PGliteKnexDialect.prototype._query: review src/db/pglite-statements.ts');
  prototype._query = async function query(connection, obj) {
    if (!obj.sql) throw new Error('The query is empty');
    obj.response =
      obj.method === 'raw' && statementCount(obj.sql) > 1 ? await connection.exec(obj.sql) : await connection.query(obj.sql, obj.bindings ?? []);
    return obj;
  };
}

interface PgliteConnection {
  exec(sql: string): Promise<unknown>;
  query(sql: string, bindings: readonly unknown[]): Promise<unknown>;
}

interface QueryObject {
  sql?: string;
  method?: string;
  bindings?: readonly unknown[];
  response?: unknown;
}
