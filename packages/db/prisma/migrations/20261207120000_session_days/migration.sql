-- Per-UTC-day totals of the sessions table, by role ('' = every session; a role = the sessions holding
-- an event with it): GET /api/sessions/stats reads whole days here and only the range's partial days
-- from `sessions` (packages/db/src/aggregates/session-days.ts). Kept in each batch's transaction from
-- the sessions rows it deletes and writes; filled from `sessions` by this migration's fill, by rebuild;
-- compared with a recount from `sessions` by reconcile.

-- A session's duration class: 0 for a duration of 0, else 1 + floor(12 · ln(milliseconds)) (classes
-- ~9% wide). Only its order matters: the median is found by counting classes per day, then read
-- exactly among the range's sessions of one class (sessions_duration_bucket_started_at_idx).
CREATE FUNCTION session_duration_bucket(started TIMESTAMPTZ, ended TIMESTAMPTZ) RETURNS INTEGER
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT CASE WHEN ended <= started THEN 0
                    ELSE 1 + floor(12 * ln(extract(epoch FROM ended - started)::float8 * 1000))::int END $$;

ALTER TABLE "sessions"
  ADD COLUMN "duration_bucket" INTEGER NOT NULL GENERATED ALWAYS AS (session_duration_bucket("started_at", "ended_at")) STORED;
-- With ended_at, the median's read is an index-only scan.
CREATE INDEX "sessions_duration_bucket_started_at_idx" ON "sessions" ("duration_bucket", "started_at", "ended_at");

CREATE TABLE "session_days" (
    "day" DATE NOT NULL,
    "role" TEXT NOT NULL,
    "sessions" BIGINT NOT NULL,
    "bounces" BIGINT NOT NULL,
    "duration_ms" BIGINT NOT NULL,
    "page_views" BIGINT NOT NULL,

    CONSTRAINT "session_days_pkey" PRIMARY KEY ("day", "role")
);

-- Per page: sessions that entered on it, that ended on it, that included it.
CREATE TABLE "session_day_pages" (
    "day" DATE NOT NULL,
    "role" TEXT NOT NULL,
    "page" TEXT NOT NULL,
    "entries" BIGINT NOT NULL,
    "exits" BIGINT NOT NULL,
    "sessions" BIGINT NOT NULL,

    CONSTRAINT "session_day_pages_pkey" PRIMARY KEY ("day", "role", "page")
);

-- Sessions per duration class (session_duration_bucket).
CREATE TABLE "session_day_durations" (
    "day" DATE NOT NULL,
    "role" TEXT NOT NULL,
    "bucket" INTEGER NOT NULL,
    "sessions" BIGINT NOT NULL,

    CONSTRAINT "session_day_durations_pkey" PRIMARY KEY ("day", "role", "bucket")
);
