-- agg_user_cum in two hash partitions by user_id, so that a time-filtered /api/stats reads the
-- per-user counts of each half on its own connection, side by side (one CPU core each), instead of
-- all users in one statement. Writes and other reads go through agg_user_cum as before.
ALTER TABLE "agg_user_cum" RENAME TO "agg_user_cum_unsplit";
ALTER TABLE "agg_user_cum_unsplit" RENAME CONSTRAINT "agg_user_cum_pkey" TO "agg_user_cum_unsplit_pkey";

CREATE TABLE "agg_user_cum" (
    "period" INTEGER NOT NULL,
    "user_id" TEXT NOT NULL,
    "cum" INTEGER[] NOT NULL,

    CONSTRAINT "agg_user_cum_pkey" PRIMARY KEY ("period", "user_id")
) PARTITION BY HASH ("user_id");

CREATE TABLE "agg_user_cum_0" PARTITION OF "agg_user_cum"
  FOR VALUES WITH (MODULUS 2, REMAINDER 0) WITH (fillfactor = 70);
CREATE TABLE "agg_user_cum_1" PARTITION OF "agg_user_cum"
  FOR VALUES WITH (MODULUS 2, REMAINDER 1) WITH (fillfactor = 70);

INSERT INTO "agg_user_cum" (period, user_id, cum)
SELECT period, user_id, cum FROM "agg_user_cum_unsplit" ORDER BY period, user_id;

DROP TABLE "agg_user_cum_unsplit";
