-- One table per time grain instead of a `grain` column: the rows a query reads (e.g. 90 day
-- buckets) are then packed in a few pages instead of being scattered among the quarter-hour rows.
-- Existing aggregate rows are moved over.

-- CreateTable
CREATE TABLE "agg_time_action_15m" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "role" "Role" NOT NULL,
    "action" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_action_15m_pkey" PRIMARY KEY ("bucket", "role", "action")
) WITH (fillfactor = 70);

INSERT INTO "agg_time_action_15m" (bucket, role, action, n) SELECT bucket, role, action, n FROM "agg_time_action" WHERE grain = 15;

-- CreateTable
CREATE TABLE "agg_time_action_1h" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "role" "Role" NOT NULL,
    "action" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_action_1h_pkey" PRIMARY KEY ("bucket", "role", "action")
) WITH (fillfactor = 70);

INSERT INTO "agg_time_action_1h" (bucket, role, action, n) SELECT bucket, role, action, n FROM "agg_time_action" WHERE grain = 60;

-- CreateTable
CREATE TABLE "agg_time_action_1d" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "role" "Role" NOT NULL,
    "action" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_action_1d_pkey" PRIMARY KEY ("bucket", "role", "action")
) WITH (fillfactor = 70);

INSERT INTO "agg_time_action_1d" (bucket, role, action, n) SELECT bucket, role, action, n FROM "agg_time_action" WHERE grain = 1440;

-- CreateTable
CREATE TABLE "agg_time_total_15m" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_total_15m_pkey" PRIMARY KEY ("bucket")
) WITH (fillfactor = 70);

INSERT INTO "agg_time_total_15m" (bucket, n) SELECT bucket, sum(n) FROM "agg_time_action" WHERE grain = 15 GROUP BY bucket;

-- CreateTable
CREATE TABLE "agg_time_total_1h" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_total_1h_pkey" PRIMARY KEY ("bucket")
) WITH (fillfactor = 70);

INSERT INTO "agg_time_total_1h" (bucket, n) SELECT bucket, sum(n) FROM "agg_time_action" WHERE grain = 60 GROUP BY bucket;

-- CreateTable
CREATE TABLE "agg_time_total_1d" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_total_1d_pkey" PRIMARY KEY ("bucket")
) WITH (fillfactor = 70);

INSERT INTO "agg_time_total_1d" (bucket, n) SELECT bucket, sum(n) FROM "agg_time_action" WHERE grain = 1440 GROUP BY bucket;

-- CreateTable
CREATE TABLE "agg_time_page_1h" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "page" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_page_1h_pkey" PRIMARY KEY ("bucket", "page")
) WITH (fillfactor = 70);

-- CreateIndex
CREATE INDEX "agg_time_page_1h_page_idx" ON "agg_time_page_1h"("page", "bucket");

INSERT INTO "agg_time_page_1h" (bucket, page, n) SELECT bucket, page, n FROM "agg_time_page" WHERE grain = 60;

-- CreateTable
CREATE TABLE "agg_time_page_1d" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "page" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_page_1d_pkey" PRIMARY KEY ("bucket", "page")
) WITH (fillfactor = 70);

-- CreateIndex
CREATE INDEX "agg_time_page_1d_page_idx" ON "agg_time_page_1d"("page", "bucket");

INSERT INTO "agg_time_page_1d" (bucket, page, n) SELECT bucket, page, n FROM "agg_time_page" WHERE grain = 1440;

-- CreateTable
CREATE TABLE "agg_user_time_1d" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "user_id" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_user_time_1d_pkey" PRIMARY KEY ("bucket", "user_id")
) WITH (fillfactor = 70);

-- CreateIndex
CREATE INDEX "agg_user_time_1d_user_idx" ON "agg_user_time_1d"("user_id", "bucket");

INSERT INTO "agg_user_time_1d" (bucket, user_id, n) SELECT bucket, user_id, n FROM "agg_user_time" WHERE grain = 1440;

DROP TABLE "agg_time_action";

DROP TABLE "agg_time_page";

DROP TABLE "agg_user_time";

-- Interactions per user and directory prefix of the page ('/docs/' for '/docs/a/b', up to 9 levels):
-- keeps the per-user count histograms of page prefix filters such as /docs/*.
-- CreateTable
CREATE TABLE "agg_user_prefix" (
    "user_id" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_user_prefix_pkey" PRIMARY KEY ("user_id", "prefix")
) WITH (fillfactor = 70);

INSERT INTO "agg_user_prefix" (user_id, prefix, n)
SELECT s.user_id, p.prefix, count(*)
  FROM interactions s CROSS JOIN LATERAL (
    SELECT array_to_string((string_to_array(s.page, '/'))[1:k], '/') || '/' AS prefix
      FROM generate_series(1, least(cardinality(string_to_array(s.page, '/')) - 1, 9)) AS k) p
 GROUP BY 1, 2;

-- Per-user count histograms: how many users have exactly n matching interactions, per dimension
-- ('all' with key '', 'role', 'action', 'page', 'prefix' with the value as key). Gini and usersWithActions for
-- those filters read a few hundred rows instead of one row per user. Rows whose users reached 0 stay
-- (harmless; readers and reconcile ignore them).
-- CreateTable
CREATE TABLE "agg_user_hist" (
    "dim" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "n" BIGINT NOT NULL,
    "users" BIGINT NOT NULL,

    CONSTRAINT "agg_user_hist_pkey" PRIMARY KEY ("dim", "key", "n")
) WITH (fillfactor = 70);

-- Population counts: users per current role (event_role ''), and users with at least one
-- interaction recorded with role event_role, per current role.
-- CreateTable
CREATE TABLE "agg_population" (
    "event_role" TEXT NOT NULL,
    "user_role" "Role" NOT NULL,
    "users" BIGINT NOT NULL,

    CONSTRAINT "agg_population_pkey" PRIMARY KEY ("event_role", "user_role")
) WITH (fillfactor = 70);

INSERT INTO "agg_user_hist" (dim, key, n, users)
SELECT 'all', '', n, count(*) FROM (SELECT user_id, count(*) AS n FROM interactions GROUP BY user_id) x GROUP BY n
UNION ALL
SELECT 'role', role::text, n, count(*) FROM (SELECT user_id, role, count(*) AS n FROM interactions GROUP BY 1, 2) x GROUP BY 2, 3
UNION ALL
SELECT 'action', action, n, count(*) FROM (SELECT user_id, action, count(*) AS n FROM interactions GROUP BY 1, 2) x GROUP BY 2, 3
UNION ALL
SELECT 'page', page, n, count(*) FROM (SELECT user_id, page, count(*) AS n FROM interactions GROUP BY 1, 2) x GROUP BY 2, 3
UNION ALL
SELECT 'prefix', prefix, n, count(*) FROM agg_user_prefix GROUP BY 2, 3;

INSERT INTO "agg_population" (event_role, user_role, users)
SELECT '', role, count(*) FROM users GROUP BY role
UNION ALL
SELECT e.role::text, u.role, count(*) FROM (SELECT DISTINCT user_id, role FROM interactions) e JOIN users u USING (user_id) GROUP BY 1, 2;

-- The users table is scanned by role for population counts no longer; first_seen is only read
-- with a time filter, where a sequential scan of users is as good.
DROP INDEX "users_first_seen_idx";
