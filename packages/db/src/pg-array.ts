/**
 * PostgreSQL array literals ('{"a","b",NULL}') built in one pass, for the columns of set-based
 * inserts (`unnest($1::text[], ...)`). node-postgres serialises a JS array itself, but element by
 * element through two regex replacements each; a batch of a few thousand rows with JSON properties
 * spent more CPU there than in decoding the Kafka records.
 */

const SPECIAL = /["\\]/;
const SPECIAL_ALL = /["\\]/g;

/** A text[] literal: every element quoted (so '', 'NULL', braces and commas stay text), null as NULL. */
export function textArray(values: readonly (string | null | undefined)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    parts[i] =
      v === null || v === undefined
        ? 'NULL'
        : SPECIAL.test(v)
          ? `"${v.replace(SPECIAL_ALL, '\\$&')}"`
          : `"${v}"`;
  }
  return `{${parts.join(',')}}`;
}

/** A numeric array literal (int[], bigint[], float8[]): finite numbers or integer strings. */
export function numberArray(values: readonly (number | bigint | string)[]): string {
  for (const v of values) {
    if (typeof v === 'number' ? !Number.isFinite(v) : !/^-?\d+$/.test(String(v))) {
      throw new TypeError(`not a finite number: ${String(v)}`);
    }
  }
  return `{${values.join(',')}}`;
}

/** A boolean[] literal. */
export function booleanArray(values: readonly boolean[]): string {
  return `{${values.map((v) => (v ? 't' : 'f')).join(',')}}`;
}
