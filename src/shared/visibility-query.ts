/** A value that no visibility query can match as written; refused before any call. */
export class QueryValueError extends Error {
  override name = 'QueryValueError';
}

/**
 * A string value in a Temporal visibility query, quoted so that it stays one value: single-quoted, an
 * apostrophe doubled (o'brien@contoso.com is matched as written). Measured against the server (test/e2e/
 * visibility-query.test.ts): a backslash is kept as written yet escapes a quote after it, and a value holding a
 * double quote, or starting or ending with an apostrophe, matches nothing however it is written. Such values
 * (and control characters) are refused, never sent as a query they would change or silently miss.
 */
export function queryValue(value: string): string {
  // eslint-disable-next-line no-control-regex -- refusing control characters is what this pattern is for
  if (/[\\"\u0000-\u001f\u007f]|^'|'$/.test(value)) {
    throw new QueryValueError(
      `${JSON.stringify(value.slice(0, 64))} cannot be searched for (backslashes, double quotes, control characters and ` +
        `apostrophes at either end are not allowed)`,
    );
  }
  return `'${value.replaceAll("'", "''")}'`;
}

/** A parenthesised list of values, for `IN`. */
export function queryValues(values: readonly string[]): string {
  return `(${values.map(queryValue).join(', ')})`;
}
