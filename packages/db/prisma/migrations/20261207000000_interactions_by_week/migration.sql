-- Raw interactions partitioned by week of occurred_at (Monday 00:00 UTC to the next), so that
-- TRACKER_RETENTION_DAYS removes old raw rows a whole partition at a time (DETACH CONCURRENTLY + DROP,
-- packages/db/src/retention.ts) instead of a DELETE that bloats the table. A partitioned table's unique
-- keys must contain occurred_at, so one row per event id (a redelivered or resent event is stored once
-- even when its occurred_at differs) is kept by interaction_ids. Aggregates are not partitioned: they
-- keep their whole history. Partitions are created on demand (ensure_interaction_partitions) by the
-- processor; there is no default partition (it would forbid DETACH CONCURRENTLY).

-- The week an instant falls in: its Monday 00:00 UTC, whatever the session's TimeZone.
CREATE FUNCTION "interactions_week"(t TIMESTAMPTZ) RETURNS TIMESTAMPTZ
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT date_trunc('week', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;

-- One row: the first instant raw rows are kept from (null: everything is kept). Set by the retention
-- run before it drops anything; no partition before it is created again.
CREATE TABLE "raw_retention" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "raw_from" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "raw_retention_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "raw_retention_one_row" CHECK ("id" = 1)
);
INSERT INTO "raw_retention" ("id") VALUES (1);

ALTER TABLE "interactions" RENAME TO "interactions_unpartitioned";
ALTER TABLE "interactions_unpartitioned" DROP CONSTRAINT "interactions_pkey";
DROP INDEX "interactions_occurred_at_idx", "interactions_user_id_occurred_at_idx",
  "interactions_action_occurred_at_idx", "interactions_role_occurred_at_idx",
  "interactions_page_occurred_at_idx", "interactions_stored_at_idx";

CREATE TABLE "interactions" (LIKE "interactions_unpartitioned" INCLUDING DEFAULTS)
  PARTITION BY RANGE ("occurred_at");

-- Creates the weekly partitions of interactions that hold the given instants and do not exist yet,
-- except weeks before raw_retention.raw_from (dropped by retention: never created again). Returns how
-- many it created. Concurrent callers (several processors) serialise on an advisory lock; a new
-- partition is attached (SHARE UPDATE EXCLUSIVE on interactions), so inserts and reads go on meanwhile.
CREATE FUNCTION "ensure_interaction_partitions"(instants TIMESTAMPTZ[]) RETURNS INTEGER
  LANGUAGE plpgsql AS $$
DECLARE
  w TIMESTAMPTZ;
  horizon TIMESTAMPTZ;
  part TEXT;
  made INTEGER := 0;
BEGIN
  FOR w IN SELECT DISTINCT interactions_week(t) FROM unnest(instants) AS t WHERE t IS NOT NULL ORDER BY 1 LOOP
    part := 'interactions_' || to_char(w AT TIME ZONE 'UTC', 'YYYYMMDD');
    CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
    PERFORM pg_advisory_xact_lock(7412, 0);
    SELECT raw_from INTO horizon FROM raw_retention;
    CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL OR w < horizon;
    EXECUTE format('CREATE TABLE %I (LIKE interactions INCLUDING DEFAULTS)', part);
    EXECUTE format('ALTER TABLE interactions ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, w, w + interval '7 days');
    made := made + 1;
  END LOOP;
  RETURN made;
END $$;

-- The existing rows' weeks, and this week and the next two (the processor keeps them ahead too).
SELECT ensure_interaction_partitions(
  ARRAY(SELECT DISTINCT interactions_week(occurred_at) FROM interactions_unpartitioned)
  || ARRAY[now(), now() + interval '7 days', now() + interval '14 days']);

INSERT INTO "interactions" SELECT * FROM "interactions_unpartitioned";

CREATE TABLE "interaction_ids" (
    "event_id" UUID NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL
);
INSERT INTO "interaction_ids" ("event_id", "occurred_at")
  SELECT "event_id", "occurred_at" FROM "interactions_unpartitioned" ORDER BY "occurred_at";
DROP TABLE "interactions_unpartitioned";

-- Indexes after the rows: built once from the data rather than grown row by row.
ALTER TABLE "interaction_ids" ADD CONSTRAINT "interaction_ids_pkey" PRIMARY KEY ("event_id");
-- Retention prunes ids by occurred_at; ids arrive roughly in time order, so a BRIN index is enough.
CREATE INDEX "interaction_ids_occurred_at_idx" ON "interaction_ids" USING BRIN ("occurred_at");

-- The primary key also serves keyset pages newest first (scanned backwards).
ALTER TABLE "interactions" ADD CONSTRAINT "interactions_pkey" PRIMARY KEY ("occurred_at", "event_id");
CREATE INDEX "interactions_user_id_occurred_at_idx" ON "interactions"("user_id", "occurred_at" DESC);
CREATE INDEX "interactions_action_occurred_at_idx" ON "interactions"("action", "occurred_at" DESC);
CREATE INDEX "interactions_role_occurred_at_idx" ON "interactions"("role", "occurred_at" DESC);
CREATE INDEX "interactions_page_occurred_at_idx" ON "interactions"("page", "occurred_at" DESC);
CREATE INDEX "interactions_stored_at_idx" ON "interactions"("stored_at", "event_id");
