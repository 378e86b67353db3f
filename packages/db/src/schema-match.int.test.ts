import { readFileSync } from 'node:fs';
import { type Attribute, type Field, getSchema, type Model } from '@mrleebo/prisma-ast';
import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_CUM_PARTS } from './aggregates/catalog.js';

// Prisma's schema engine (which would diff the two) cannot be downloaded here, so this test does the
// comparison itself: every model, column, type, nullability, default presence, key and index declared
// in schema.prisma must exist in the database that the SQL migrations produce, and vice versa.

const schema = getSchema(readFileSync(new URL('../prisma/schema.prisma', import.meta.url), 'utf8'));
const models = schema.list.filter((b): b is Model => b.type === 'model');
const enums = schema.list.filter((b) => b.type === 'enum') as Array<{
  name: string;
  enumerators: Array<{ type: string; name: string }>;
}>;

const attr = (f: Field, name: string): Attribute | undefined => f.attributes?.find((a) => a.name === name);
const attrArg = (a: Attribute | undefined): unknown => a?.args?.[0]?.value;
const blockAttrs = (m: Model, name: string) =>
  m.properties.filter(
    (p) => p.type === 'attribute' && (p as { name?: string }).name === name,
  ) as unknown as Attribute[];
const tableName = (m: Model) => String(attrArg(blockAttrs(m, 'map')[0]) ?? m.name).replaceAll('"', '');
const fields = (m: Model) => m.properties.filter((p): p is Field => p.type === 'field');
const columnName = (f: Field) => String(attrArg(attr(f, 'map')) ?? f.name).replaceAll('"', '');

function expectedType(f: Field): string {
  const db = f.attributes?.find((a) => a.group === 'db');
  if (db?.name === 'Uuid') return 'uuid';
  if (db?.name === 'Date') return 'date';
  if (db?.name === 'Timestamptz') return `timestamptz(${(db.args?.[0]?.value as string) ?? '6'})`;
  const base: Record<string, string> = {
    String: 'text',
    Int: 'int4',
    BigInt: 'int8',
    Boolean: 'bool',
    Json: 'jsonb',
    DateTime: 'timestamp(3)',
    Float: 'float8',
  };
  // Unsupported("name"): a type Prisma does not model (a composite), named as PostgreSQL names it.
  const unsupported = f.fieldType as { name?: string; params?: string[] };
  const type =
    unsupported.name === 'Unsupported'
      ? String(unsupported.params?.[0]).replaceAll('"', '')
      : (base[f.fieldType as string] ?? String(f.fieldType));
  return f.array ? `_${type}` : type;
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('schema');
});
afterAll(async () => db.drop());

describe('the migrated database matches schema.prisma', () => {
  it('has exactly the tables of the models (plus Prisma bookkeeping)', async () => {
    // Partitions are storage of their table (Prisma has no notion of them): not counted here.
    const { rows } = await db.pool.query<{ table_name: string }>(
      `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    );
    const expected = [...models.map(tableName), '_prisma_migrations'].sort();
    expect(rows.map((r) => r.table_name).sort()).toEqual(expected);
  });

  it('has the enums with the same values', async () => {
    const { rows } = await db.pool.query<{ typname: string; labels: string[] }>(
      `SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`,
    );
    const actual = Object.fromEntries(rows.map((r) => [r.typname, r.labels]));
    const wanted = Object.fromEntries(
      enums.map((e) => [e.name, e.enumerators.filter((x) => x.type === 'enumerator').map((x) => x.name)]),
    );
    expect(actual).toEqual(wanted);
  });

  for (const model of models) {
    it(`table ${tableName(model)}: columns, types, nullability, defaults, keys, indexes`, async () => {
      const table = tableName(model);
      const { rows: cols } = await db.pool.query<{
        column_name: string;
        type: string;
        not_null: boolean;
        has_default: boolean;
      }>(
        `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type_full,
                CASE WHEN t.typtype = 'e' THEN t.typname
                     WHEN t.typname = 'timestamptz' THEN 'timestamptz(' || a.atttypmod || ')'
                     WHEN t.typname = 'timestamp' THEN 'timestamp(' || a.atttypmod || ')'
                     ELSE t.typname END AS type,
                a.attnotnull AS not_null, a.atthasdef AS has_default
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid
          WHERE c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped`,
        [table],
      );
      const actual = Object.fromEntries(
        cols.map((c) => [c.column_name, { type: c.type, notNull: c.not_null, hasDefault: c.has_default }]),
      );
      const expected = Object.fromEntries(
        fields(model).map((f) => [
          columnName(f),
          { type: expectedType(f), notNull: !f.optional, hasDefault: attr(f, 'default') !== undefined },
        ]),
      );
      expect(actual).toEqual(expected);

      const { rows: idx } = await db.pool.query<{
        name: string;
        def: string;
        is_primary: boolean;
        is_unique: boolean;
      }>(
        `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS def, x.indisprimary AS is_primary, x.indisunique AS is_unique
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
          WHERE t.relname = $1`,
        [table],
      );
      const primary = idx.filter((i) => i.is_primary);
      const idField = fields(model).find((f) => attr(f, 'id'));
      const columnOf = new Map(fields(model).map((f) => [f.name, columnName(f)]));
      // A single-column @id, or a composite @@id([a, b], map: "...").
      const compositeId = (blockAttrs(model, 'id')[0]?.args ?? [])
        .map((x) => x.value as { type?: string; args?: unknown[] })
        .find((v) => v.type === 'array')
        ?.args?.map((c) => columnOf.get(String(c)));
      const expectedPrimary = idField ? `(${columnName(idField)})` : `(${(compositeId ?? []).join(', ')})`;
      expect(primary.map((p) => p.def.replace(/.*USING btree /, ''))).toEqual([expectedPrimary]);
      const declared = Object.fromEntries(
        blockAttrs(model, 'index').map((a) => {
          const values = (a.args ?? []).map(
            (x) => x.value as { type?: string; key?: string; value?: unknown; args?: unknown[] },
          );
          const map = values.find((v) => v.key === 'map');
          // `type: Brin` (etc.) declares the index method; btree is the default.
          const type = values.find((v) => v.key === 'type')?.value;
          const using = type ? `USING ${String(type).toLowerCase()} ` : '';
          const cols = (values.find((v) => v.type === 'array')?.args ?? []).map((c) => {
            if (typeof c === 'string') return columnOf.get(c);
            const fn = c as { name: string; params?: Array<{ key: string; value: string }> };
            const desc = fn.params?.some((p) => p.key === 'sort' && p.value === 'Desc');
            return `${columnOf.get(fn.name)}${desc ? ' DESC' : ''}`;
          });
          return [String(map?.value ?? '').replaceAll('"', ''), `${using}(${cols.join(', ')})`];
        }),
      );
      const secondary = Object.fromEntries(
        idx
          .filter((i) => !i.is_primary)
          .map((i) => [i.name, i.def.replace(/.*USING btree /, '').replace(/.* (USING \w+ )/, '$1')]),
      );
      expect(secondary).toEqual(declared);
    });
  }

  it('splits agg_user_cum into the USER_CUM_PARTS hash partitions the statistics read one by one', async () => {
    const { rows } = await db.pool.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
         FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
        WHERE h.inhparent = 'agg_user_cum'::regclass ORDER BY 1`,
    );
    expect(rows).toEqual(
      Array.from({ length: USER_CUM_PARTS }, (_, k) => ({
        name: `agg_user_cum_${k}`,
        bound: `FOR VALUES WITH (modulus ${USER_CUM_PARTS}, remainder ${k})`,
      })),
    );
  });
});
