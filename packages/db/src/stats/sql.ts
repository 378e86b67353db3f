// The SQL builder of the statistics: parameters, filter conditions and counts over a source's time ranges.
import type { Normalized } from './input.js';
import { decomposeRange, type GroupBy, type Source, type TimeRange } from './plan.js';

/** Positional parameters: every value reaches SQL as $n, never as text. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return `$${this.values.length}${cast ? `::${cast}` : ''}`;
  }
}

/**
 * An instant as PostgreSQL reads it: ISO 8601, but a year past 9999 without the `+0` of JavaScript's
 * expanded years (`+010000-01-01…`, which PostgreSQL refuses; the bucket after 9999-12-31 is one).
 */
export const pgTime = (t: number): string => new Date(t).toISOString().replace(/^\+0*/, '');

export const ts = (t: number | null, unbounded: 'infinity' | '-infinity') =>
  t === null ? unbounded : pgTime(t);

/** WHERE conditions for the filter dimensions on `alias` (a source's table or raw interactions). */
export function conditions(p: Params, alias: string, f: Normalized, sourceName: string): string[] {
  const out: string[] = [];
  if (f.userId !== undefined) out.push(`${alias}.user_id = ${p.add(f.userId)}`);
  if (f.role !== undefined) out.push(`${alias}.role = ${p.add(f.role, '"Role"')}`);
  if (f.action !== undefined) out.push(`${alias}.action = ${p.add(f.action)}`);
  if (f.page !== undefined) {
    if (!f.page.prefix) out.push(`${alias}.page = ${p.add(f.page.value)}`);
    else if (sourceName === 'reference' || !f.page.pages)
      out.push(`starts_with(${alias}.page, ${p.add(f.page.value)})`);
    // The matching pages were resolved once from the small page table; then each is an index lookup.
    else out.push(`${alias}.page = ANY(${p.add(f.page.pages)}::text[])`);
  }
  return out;
}

export const whereClause = (conds: string[]) => (conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : '');
export const andClause = (conds: string[]) => conds.map((c) => ` AND ${c}`).join('');

export function keyExpr(group: GroupBy, alias: string): string {
  switch (group) {
    case 'action':
      return `${alias}.action`;
    case 'page':
      return `${alias}.page`;
    case 'user':
      return `${alias}.user_id`;
    default:
      return 'NULL::text';
  }
}

export function rangesRelation(p: Params, ranges: TimeRange[]): string {
  return `unnest(${p.add(ranges.map((r) => ts(r.start, '-infinity')))}::timestamptz[],
                 ${p.add(ranges.map((r) => ts(r.end, 'infinity')))}::timestamptz[], ${p.add(ranges.map((r) => r.label))}::int[])
           AS r(s, e, label)`;
}

/** The time ranges a source must read for [from, to), or null when it has no time dimension. */
export function rangesFor(src: Source, f: Normalized): TimeRange[] | null {
  if (!src.raw && src.grains.length === 0) return null;
  return decomposeRange(f.from, f.to, src.grains);
}

/**
 * `SELECT key, label, n`: interaction counts from `src` under the filters, per group key and range
 * label. Aggregate buckets for the aligned parts of the ranges (the table of each grain), raw rows
 * for the rest.
 */
export function countSql(
  p: Params,
  src: Source,
  f: Normalized,
  group: GroupBy,
  ranges: TimeRange[] | null,
): string {
  const parts: string[] = [];
  if (ranges === null) {
    parts.push(
      `SELECT ${keyExpr(group, 't')} AS key, 0 AS label, t.${src.count} AS n FROM ${src.table} t${whereClause(conditions(p, 't', f, src.name))}`,
    );
  } else {
    // NOTE: LATERAL makes every range its own index range scan; as a join the planner tends to hash
    // the whole table against the list of ranges.
    const grains = src.raw ? [] : [...new Set(ranges.filter((r) => r.grain > 0).map((r) => r.grain))];
    for (const grain of grains) {
      const table = src.tables![grain]!;
      parts.push(
        `SELECT x.key, r.label, x.n FROM ${rangesRelation(
          p,
          ranges.filter((r) => r.grain === grain),
        )}
           CROSS JOIN LATERAL (
             SELECT ${keyExpr(group, 't')} AS key, t.${src.count} AS n FROM ${table} t
              WHERE t.bucket >= r.s AND t.bucket < r.e${andClause(conditions(p, 't', f, src.name))}) x`,
      );
    }
    const raw = src.raw ? ranges : ranges.filter((r) => r.grain === 0);
    if (raw.length > 0) {
      parts.push(
        `SELECT x.key, r.label, x.n FROM ${rangesRelation(p, raw)}
           CROSS JOIN LATERAL (
             SELECT ${keyExpr(group, 'i')} AS key, count(*)::bigint AS n FROM interactions i
              WHERE i.occurred_at >= r.s AND i.occurred_at < r.e${andClause(conditions(p, 'i', f, 'raw'))}
              GROUP BY 1) x`,
      );
    }
  }
  if (parts.length === 0) return 'SELECT NULL::text AS key, 0 AS label, 0::bigint AS n WHERE FALSE';
  return `SELECT key, label, sum(n)::bigint AS n FROM (${parts.join('\n UNION ALL \n')}) x GROUP BY key, label`;
}

/** Conditions on a users row for "known users matching the user-level filters". */
export function populationConditions(p: Params, alias: string, f: Normalized): string[] {
  const out: string[] = [];
  if (f.userId !== undefined) out.push(`${alias}.user_id = ${p.add(f.userId)}`);
  if (f.role !== undefined) out.push(`${alias}.role = ${p.add(f.role, '"Role"')}`);
  if (f.to !== null) out.push(`${alias}.first_seen < ${p.add(pgTime(f.to), 'timestamptz')}`);
  return out;
}
