-- Cumulative interaction counts per user and 128-day period (UTC days from 2000-01-01; period p covers
-- days p*128 .. p*128+127): cum[i] = the user's interactions from the period's start to the end of its
-- i-th day. The array runs from the period's first day to the user's last active day in it (zeros
-- before their first), so a user's count over any day-aligned range is a difference of two elements
-- per period: per-user counts for a time filter read one row per user instead of one per user and day.

-- Adds `delta` (cumulative counts from a period's first day, zeros before its first non-zero day) to
-- `cum`: element-wise, each array carried on with its last value where it is the shorter one. Only
-- the elements from delta's first non-zero day on are touched (for live traffic: the last one or two).
CREATE FUNCTION tracker_cum_merge(cum INT[], delta INT[]) RETURNS INT[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  lc INT := coalesce(cardinality(cum), 0);
  ld INT := coalesce(cardinality(delta), 0);
  first INT := coalesce(cardinality(array_positions(delta, 0)), 0) + 1;
BEGIN
  IF ld = 0 THEN
    RETURN cum;
  END IF;
  IF ld > lc THEN
    cum := cum || array_fill(CASE WHEN lc > 0 THEN cum[lc] ELSE 0 END, ARRAY[ld - lc]);
    lc := ld;
  END IF;
  FOR i IN first..lc LOOP
    cum[i] := cum[i] + delta[least(i, ld)];
  END LOOP;
  RETURN cum;
END
$$;

-- CreateTable
CREATE TABLE "agg_user_cum" (
    "period" INTEGER NOT NULL,
    "user_id" TEXT NOT NULL,
    "cum" INTEGER[] NOT NULL,

    CONSTRAINT "agg_user_cum_pkey" PRIMARY KEY ("period", "user_id")
) WITH (fillfactor = 70);

INSERT INTO "agg_user_cum" (period, user_id, cum)
WITH d AS (
  SELECT s.user_id, (floor(extract(epoch FROM s.occurred_at - TIMESTAMPTZ '2000-01-01 00:00:00+00') / 86400))::int AS day,
         count(*)::int AS n
    FROM interactions s GROUP BY 1, 2
), p AS (
  SELECT user_id, day / 128 AS period, day % 128 + 1 AS idx, n FROM d
), m AS (
  SELECT period, user_id, min(idx) AS mn, max(idx) AS mx FROM p GROUP BY 1, 2
)
SELECT period, user_id, array_fill(0, ARRAY[min(mn) - 1]) || array_agg(c ORDER BY i) FROM (
  SELECT m.period, m.user_id, m.mn, g.i,
         (sum(coalesce(p.n, 0)) OVER (PARTITION BY m.period, m.user_id ORDER BY g.i))::int AS c
    FROM m CROSS JOIN LATERAL generate_series(m.mn, m.mx) AS g(i)
    LEFT JOIN p ON p.user_id = m.user_id AND p.period = m.period AND p.idx = g.i) x
 GROUP BY 1, 2 ORDER BY 1, 2;
