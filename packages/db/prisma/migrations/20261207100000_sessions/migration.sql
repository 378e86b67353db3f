-- Sessions as the reports define them (packages/db/src/reports/sessions.ts): kept by the processor in
-- each batch's transaction (a user's sessions around the batch's events recomputed from raw rows),
-- rebuilt and reconciled with the other aggregates, read by GET /api/sessions/stats. Like the
-- aggregates, rows outlive the raw rows retention drops.
CREATE TABLE "sessions" (
    "user_id" TEXT NOT NULL,
    -- 's:' || the client's session id, or 't:' || the first event's epoch milliseconds.
    "session_key" TEXT NOT NULL,
    "session_id" TEXT,
    -- Inferred sessions: the first event of the chain (events less than the gap apart) the session is
    -- part of; a chain longer than the cap holds several sessions. Null for the client's sessions.
    "chain_start" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3) NOT NULL,
    "events" INTEGER NOT NULL,
    "page_views" INTEGER NOT NULL,
    "entry_page" TEXT NOT NULL,
    "exit_page" TEXT NOT NULL,
    "bounce" BOOLEAN NOT NULL,
    -- The distinct (page, role) pairs of the session's events, in that order: what the page and role
    -- filters select sessions by, and the exit rate's denominator (sessions that included a page).
    "pages" TEXT[] NOT NULL,
    "roles" TEXT[] NOT NULL,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("user_id", "session_key")
);

CREATE INDEX "sessions_started_at_idx" ON "sessions" ("started_at");
-- A user's sessions by time: the processor's refresh finds the latest one, and those near a batch's events.
CREATE INDEX "sessions_user_id_ended_at_idx" ON "sessions" ("user_id", "ended_at");

-- The sessions of the rows stored before this migration: run `pnpm db:rebuild` (or the processor's
-- reconcile CLI with --rebuild) once; an empty table is also what reconcile reports as different.
