-- What retention reads instead of raw rows (packages/db/src/reports/retention-table.ts), kept by the
-- processor's batch statement like every aggregate (definitions: src/aggregates/catalog.ts), rebuilt
-- and reconciled with them, filled for the rows already stored by this migration's fill.

-- Each user's first interaction per action, and under action '' their first of all.
CREATE TABLE "agg_user_first" (
    "action" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "first_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agg_user_first_pkey" PRIMARY KEY ("action", "user_id")
) WITH (fillfactor = 80);

-- Interactions per action ('' for all), UTC-aligned quarter-hour and user.
CREATE TABLE "agg_user_action_15m" (
    "action" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "user_id" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_user_action_15m_pkey" PRIMARY KEY ("action", "bucket", "user_id")
) WITH (fillfactor = 90);

-- A processor of the previous version keeps neither these tables nor the per-day session tables: the
-- merge function its batch statement calls is renamed, so its batches fail and are retried (offsets
-- kept) until it is replaced, instead of committing rows the new tables miss (as in
-- 20261127100000_user_cum_half_days).
ALTER FUNCTION tracker_cum_merge_slots(INT[], INT[]) RENAME TO tracker_cum_add_slots;
