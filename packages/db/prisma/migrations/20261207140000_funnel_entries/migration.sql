-- What funnels read for their entries instead of raw rows (packages/db/src/reports/funnel-first.ts),
-- kept by the processor's batch statement like every aggregate (definition: src/aggregates/catalog.ts),
-- rebuilt and reconciled with them, filled for the rows already stored by this migration's fill.

-- An interaction as funnels order them (time, then event id), with the role the entry reports:
-- composite values compare field by field, so LEAST and ORDER BY keep that order.
CREATE TYPE "tracker_first_event" AS ("at" TIMESTAMPTZ(3), "event_id" UUID, "role" "Role");

-- Each user's first interaction per action and UTC day.
CREATE TABLE "agg_user_action_first_1d" (
    "action" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "first" tracker_first_event NOT NULL,

    CONSTRAINT "agg_user_action_first_1d_pkey" PRIMARY KEY ("action", "user_id", "bucket")
) WITH (fillfactor = 90);

-- A processor of the previous version does not keep this table: the merge function its batch
-- statement calls is renamed, so its batches fail and are retried (offsets kept) until it is
-- replaced, instead of committing rows the table misses (as in 20261207130000_retention_activity).
ALTER FUNCTION tracker_cum_add_slots(INT[], INT[]) RENAME TO tracker_cum_sum_slots;
