// The aggregate tables: what each one counts, its keys and how it is computed from raw rows.
/** Bucket widths in minutes. Buckets start at UTC-aligned multiples of their width. */
export const GRAIN = { quarter: 15, hour: 60, day: 1440 } as const;

/**
 * The time-bucketed rollups: one table per grain (minutes), so that a query over day buckets reads
 * densely packed day rows. Each grain divides the next larger one.
 */
export const TIME_TABLES = {
  agg_time_total: {
    [GRAIN.day]: 'agg_time_total_1d',
    [GRAIN.hour]: 'agg_time_total_1h',
    [GRAIN.quarter]: 'agg_time_total_15m',
  },
  agg_time_action: {
    [GRAIN.day]: 'agg_time_action_1d',
    [GRAIN.hour]: 'agg_time_action_1h',
    [GRAIN.quarter]: 'agg_time_action_15m',
  },
  agg_time_page: { [GRAIN.day]: 'agg_time_page_1d', [GRAIN.hour]: 'agg_time_page_1h' },
  // NOTE: no hourly per-user table: users are sparse within an hour, so it would hold about one row
  // per event; the partial days at the edges of a range are read from raw rows instead.
  agg_user_time: { [GRAIN.day]: 'agg_user_time_1d' },
} as const satisfies Record<string, Record<number, string>>;

// date_bin with a fixed UTC origin does not depend on the session's TimeZone (date_trunc would).
/** 2000-01-01 UTC: where time buckets are aligned from and agg_user_cum's day numbers start. */
export const BUCKET_ORIGIN_MS = Date.UTC(2000, 0, 1);
const ORIGIN = `TIMESTAMPTZ '${new Date(BUCKET_ORIGIN_MS).toISOString()}'`;
const bucketOf = (grain: number, col: string) => `date_bin(interval '${grain} minutes', ${col}, ${ORIGIN})`;

/**
 * One aggregate table: its key columns, its counted column and how it is computed from all raw rows
 * (rebuild, reconcile). Aggregates over interaction rows also say how to compute them from any
 * relation `src` with columns user_id, role, action, page, occurred_at: the incremental update uses
 * that over the rows a batch inserted, so incremental, rebuild and reconcile cannot drift apart.
 */
export interface AggregateDef {
  table: string;
  keys: string[];
  value: string;
  recompute: string;
  fromRows?: (src: string) => string;
  /**
   * For aggregates over page prefixes: the same as fromRows, from a relation of (user_id, prefix)
   * rows (withPrefixes), so that a statement that has them already does not compute them again.
   */
  fromPrefixes?: (prefixes: string) => string;
  /** How a stored value absorbs EXCLUDED's (default: `value + EXCLUDED.value`). */
  merge?: string;
  /** Stored rows that count (reconcile; default: value <> 0, a zero row being the same as none). */
  present?: string;
  /**
   * The batch upsert returns the stored rows (keys and new value): the histogram deltas read a
   * user's count before and after the batch from them instead of looking the rows up again.
   */
  returnsCounts?: boolean;
}

function rowAggregate(table: string, keys: string[], fromRows: (src: string) => string): AggregateDef {
  return { table, keys, value: 'n', recompute: fromRows('interactions'), fromRows };
}

function prefixAggregate(
  table: string,
  keys: string[],
  fromPrefixes: (prefixes: string) => string,
): AggregateDef {
  return { ...rowAggregate(table, keys, (src) => fromPrefixes(`(${withPrefixes(src)})`)), fromPrefixes };
}

const timeAggregates = (family: keyof typeof TIME_TABLES, cols: string[]) =>
  Object.entries(TIME_TABLES[family])
    .map(([grain, table]) => [Number(grain), table] as const)
    .sort((a, b) => b[0] - a[0])
    .map(([grain, table]) =>
      rowAggregate(
        table,
        ['bucket', ...cols],
        (src) =>
          `SELECT ${[`${bucketOf(grain, 's.occurred_at')} AS bucket`, ...cols.map((c) => `s.${c}`)].join(', ')},
                count(*)::bigint AS n
           FROM ${src} s GROUP BY ${cols.map((_, i) => `${i + 2}, `).join('')}1`,
      ),
    );

/** Deepest page prefix (number of '/' in it) with its own per-user histogram. */
export const MAX_PREFIX_DEPTH = 9;

/**
 * The directory prefixes of each row's page, up to 9 levels: '/', '/docs/', '/docs/a/' for
 * '/docs/a/b' (every prefix ending in '/'), so that a `/docs/*` filter has its own per-user counts.
 */
export const withPrefixes = (src: string) => `
  SELECT s.user_id, array_to_string(a.parts[1:k], '/') || '/' AS prefix
    FROM ${src} s
   CROSS JOIN LATERAL (SELECT string_to_array(s.page, '/') AS parts) a
   CROSS JOIN LATERAL generate_series(1, least(cardinality(a.parts) - 1, ${MAX_PREFIX_DEPTH})) AS k`;

/**
 * The users table recomputed from raw rows (interactions and identifies). A user's role is the role
 * of their latest event by occurred_at; on an exact tie the later role in enum order wins (GUEST,
 * the least privileged). Traits: per key, the value from the latest identify that has the key.
 */
export const USERS_FROM_RAW = `
  WITH ev AS (
    SELECT user_id, role, occurred_at, 1 AS track FROM interactions
    UNION ALL
    SELECT user_id, role, occurred_at, 0 AS track FROM identifies
  ), base AS (
    SELECT user_id, (array_agg(role ORDER BY occurred_at DESC, role DESC))[1] AS role,
           sum(track)::bigint AS action_count, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
      FROM ev GROUP BY user_id
  ), idf AS (
    SELECT user_id, max(occurred_at) AS identified_at FROM identifies GROUP BY user_id
  ), tr AS (
    SELECT i.user_id, jsonb_object_agg(t.key, t.value ORDER BY i.occurred_at, i.event_id) AS traits
      FROM identifies i CROSS JOIN LATERAL jsonb_each(i.traits) t GROUP BY i.user_id
  )
  SELECT b.user_id, b.role, coalesce(tr.traits, '{}'::jsonb) AS traits, b.action_count, b.first_seen,
         b.last_seen, idf.identified_at, b.last_seen AS role_at
    FROM base b LEFT JOIN idf USING (user_id) LEFT JOIN tr USING (user_id)`;

export const USER_COLUMNS = [
  'role',
  'traits',
  'action_count',
  'first_seen',
  'last_seen',
  'identified_at',
  'role_at',
] as const;

/** Days per period of agg_user_cum (UTC days counted from 2000-01-01; period p starts on day p·128). */
export const CUM_PERIOD_DAYS = 128;

/**
 * agg_user_cum's time step: half a UTC day (00:00–12:00, 12:00–24:00; migration
 * 20261127100000_user_cum_half_days), so that a time range's ends are at most 6 hours from a step
 * and the raw rows counted between them stay few.
 */
export const CUM_SLOT_MS = 43_200_000;

/** Steps per period of agg_user_cum (the length of a full period's array). */
export const CUM_PERIOD_SLOTS = (CUM_PERIOD_DAYS * 86_400_000) / CUM_SLOT_MS;

/**
 * agg_user_cum's hash partitions by user_id (agg_user_cum_0, agg_user_cum_1; migration
 * 20261127000000_user_cum_split): a time-filtered /api/stats reads them side by side.
 */
export const USER_CUM_PARTS = 2;

/**
 * agg_user_cum from any relation of interaction rows: per user and period, the cumulative counts per
 * half-day step (CUM_SLOT_MS) from the period's first step to the user's last active step in it
 * (zeros before the first). Steps before the origin are negative, and so are their periods: floor
 * division, as integer `/` and `%` truncate towards zero.
 */
const userCumFromRows = (src: string) => `
  WITH d AS (
    SELECT s.user_id, (floor(extract(epoch FROM s.occurred_at - ${ORIGIN}) / ${CUM_SLOT_MS / 1000}))::int AS slot,
           count(*)::int AS n
      FROM ${src} s GROUP BY 1, 2
  ), p AS (
    SELECT user_id, period, slot - period * ${CUM_PERIOD_SLOTS} + 1 AS idx, n
      FROM (SELECT user_id, floor(slot / ${CUM_PERIOD_SLOTS}.0)::int AS period, slot, n FROM d) q
  ), m AS (
    SELECT period, user_id, min(idx) AS mn, max(idx) AS mx FROM p GROUP BY 1, 2
  )
  SELECT period, user_id, array_fill(0, ARRAY[min(mn) - 1]) || array_agg(c ORDER BY i) AS cum FROM (
    SELECT m.period, m.user_id, m.mn, g.i,
           (sum(coalesce(p.n, 0)) OVER (PARTITION BY m.period, m.user_id ORDER BY g.i))::int AS c
      FROM m CROSS JOIN LATERAL generate_series(m.mn, m.mx) AS g(i)
      LEFT JOIN p ON p.user_id = m.user_id AND p.period = m.period AND p.idx = g.i) x
   GROUP BY 1, 2`;

/** Per-user counts for each histogram dimension, from raw rows: (dim, key, user_id, n). */
const PER_USER_COUNTS = `
  SELECT 'all' AS dim, '' AS key, user_id, count(*) AS n FROM interactions GROUP BY user_id
  UNION ALL SELECT 'role', role::text, user_id, count(*) FROM interactions GROUP BY role, user_id
  UNION ALL SELECT 'action', action, user_id, count(*) FROM interactions GROUP BY action, user_id
  UNION ALL SELECT 'page', page, user_id, count(*) FROM interactions GROUP BY page, user_id
  UNION ALL SELECT 'prefix', prefix, user_id, count(*) FROM (${withPrefixes('interactions')}) p GROUP BY prefix, user_id`;

/**
 * Each user's first interaction per action and, under action '', their first of all (agg_user_first):
 * retention's first-time cohorts. Order-independent (the merge keeps the earlier).
 */
const userFirstFromRows = (src: string) => `
  SELECT coalesce(s.action, '') AS action, s.user_id, min(s.occurred_at) AS first_at
    FROM ${src} s GROUP BY GROUPING SETS ((s.action, s.user_id), (s.user_id))`;

/**
 * Interactions per action ('' for all), quarter-hour and user (agg_user_action_15m): when each user
 * was active. Quarter-hours, so that the days, weeks and months of any time zone (offsets are whole
 * quarter-hours since 1972) are unions of them: retention's returns and recurring cohorts.
 */
const userActionQuartersFromRows = (src: string) => {
  const bucket = bucketOf(GRAIN.quarter, 's.occurred_at');
  return `
  SELECT coalesce(s.action, '') AS action, ${bucket} AS bucket, s.user_id, count(*)::bigint AS n
    FROM ${src} s GROUP BY GROUPING SETS ((s.action, ${bucket}, s.user_id), (${bucket}, s.user_id))`;
};

/**
 * Each user's first interaction per action and UTC day (agg_user_action_first_1d), as funnels order
 * interactions (time, then event id) with its role: a funnel's entries over whole days.
 */
const userActionDayFirstFromRows = (src: string) => {
  const bucket = bucketOf(GRAIN.day, 's.occurred_at');
  return `
  SELECT * FROM (
    SELECT DISTINCT ON (s.action, s.user_id, ${bucket}) s.action, s.user_id, ${bucket} AS bucket,
           ROW(s.occurred_at, s.event_id, s.role)::tracker_first_event AS first
      FROM ${src} s ORDER BY s.action, s.user_id, ${bucket}, s.occurred_at, s.event_id) f`;
};

export const AGGREGATES: AggregateDef[] = [
  ...timeAggregates('agg_time_total', []),
  ...timeAggregates('agg_time_action', ['role', 'action']),
  ...timeAggregates('agg_time_page', ['page']),
  rowAggregate(
    'agg_page_action',
    ['page', 'role', 'action'],
    (src) => `SELECT s.page, s.role, s.action, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2, 3`,
  ),
  rowAggregate(
    'agg_user_action',
    ['user_id', 'role', 'action'],
    (src) => `SELECT s.user_id, s.role, s.action, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2, 3`,
  ),
  {
    ...rowAggregate(
      'agg_user_page',
      ['user_id', 'page'],
      (src) => `SELECT s.user_id, s.page, count(*)::bigint AS n FROM ${src} s GROUP BY 1, 2`,
    ),
    returnsCounts: true,
  },
  {
    ...prefixAggregate(
      'agg_user_prefix',
      ['user_id', 'prefix'],
      (prefixes) => `SELECT p.user_id, p.prefix, count(*)::bigint AS n FROM ${prefixes} p GROUP BY 1, 2`,
    ),
    returnsCounts: true,
  },
  ...timeAggregates('agg_user_time', ['user_id']),
  {
    table: 'agg_user_cum',
    keys: ['period', 'user_id'],
    value: 'cum',
    recompute: userCumFromRows('interactions'),
    fromRows: userCumFromRows,
    merge: 'tracker_cum_sum_slots(agg_user_cum.cum, EXCLUDED.cum)',
    present: 'TRUE',
  },
  {
    table: 'agg_user_first',
    keys: ['action', 'user_id'],
    value: 'first_at',
    recompute: userFirstFromRows('interactions'),
    fromRows: userFirstFromRows,
    merge: 'LEAST(agg_user_first.first_at, EXCLUDED.first_at)',
    present: 'TRUE',
  },
  rowAggregate('agg_user_action_15m', ['action', 'bucket', 'user_id'], userActionQuartersFromRows),
  {
    table: 'agg_user_action_first_1d',
    keys: ['action', 'user_id', 'bucket'],
    value: 'first',
    recompute: userActionDayFirstFromRows('interactions'),
    fromRows: userActionDayFirstFromRows,
    merge: 'LEAST(agg_user_action_first_1d.first, EXCLUDED.first)',
    present: 'TRUE',
  },
  {
    table: 'agg_user_hist',
    keys: ['dim', 'key', 'n'],
    value: 'users',
    recompute: `SELECT dim, key, n, count(*)::bigint AS users FROM (${PER_USER_COUNTS}) c GROUP BY dim, key, n`,
  },
  {
    table: 'agg_population',
    keys: ['event_role', 'user_role'],
    value: 'users',
    recompute: `WITH cur AS (SELECT user_id, role FROM (${USERS_FROM_RAW}) u)
      SELECT ''::text AS event_role, role AS user_role, count(*)::bigint AS users FROM cur GROUP BY role
      UNION ALL
      SELECT e.role::text, c.role, count(*)::bigint
        FROM (SELECT DISTINCT user_id, role FROM interactions) e JOIN cur c USING (user_id) GROUP BY 1, 2`,
  },
];

/** Every table rebuildAggregates() rewrites. */
export const AGGREGATE_TABLES = [...AGGREGATES.map((a) => a.table), 'users'];

/** The catalog's definition of `table` (throws for a table that is not an aggregate). */
export function aggregateDef(table: string): AggregateDef {
  const def = AGGREGATES.find((d) => d.table === table);
  if (!def) throw new Error(`no aggregate ${table}`);
  return def;
}
