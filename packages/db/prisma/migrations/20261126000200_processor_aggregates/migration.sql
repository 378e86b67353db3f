-- Processor: raw identify calls, exact aggregates kept incrementally in the same transaction as the
-- raw rows, and the pipeline status the query service shows. Definitions: apps/processor/README.md.

-- CreateTable
CREATE TABLE "identifies" (
    "event_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "traits" JSONB NOT NULL DEFAULT '{}',
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "kafka_partition" INTEGER NOT NULL,
    "kafka_offset" BIGINT NOT NULL,
    "stored_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identifies_pkey" PRIMARY KEY ("event_id")
);

-- CreateTable
CREATE TABLE "agg_time_action" (
    "grain" INTEGER NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "role" "Role" NOT NULL,
    "action" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_action_pkey" PRIMARY KEY ("grain", "bucket", "role", "action")
);

-- CreateTable
CREATE TABLE "agg_time_page" (
    "grain" INTEGER NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "page" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_time_page_pkey" PRIMARY KEY ("grain", "bucket", "page")
);

-- CreateTable
CREATE TABLE "agg_page_action" (
    "page" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "action" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_page_action_pkey" PRIMARY KEY ("page", "role", "action")
);

-- CreateTable
CREATE TABLE "agg_user_action" (
    "user_id" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "action" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_user_action_pkey" PRIMARY KEY ("user_id", "role", "action")
);

-- CreateTable
CREATE TABLE "agg_user_page" (
    "user_id" TEXT NOT NULL,
    "page" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_user_page_pkey" PRIMARY KEY ("user_id", "page")
);

-- CreateTable
CREATE TABLE "agg_user_time" (
    "grain" INTEGER NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "user_id" TEXT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "agg_user_time_pkey" PRIMARY KEY ("grain", "bucket", "user_id")
);

-- CreateTable
CREATE TABLE "pipeline_status" (
    "consumer_group" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "stored_offset" BIGINT,
    "committed_offset" BIGINT,
    "high_watermark" BIGINT,
    "lag" BIGINT,
    "last_batch_at" TIMESTAMPTZ(3),
    "last_batch_size" INTEGER,
    "newest_event_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pipeline_status_pkey" PRIMARY KEY ("consumer_group", "topic", "partition")
);

-- CreateIndex
CREATE INDEX "identifies_user_id_occurred_at_idx" ON "identifies"("user_id", "occurred_at");

-- CreateIndex
CREATE INDEX "agg_time_page_page_idx" ON "agg_time_page"("page", "grain", "bucket");

-- CreateIndex
CREATE INDEX "agg_page_action_action_idx" ON "agg_page_action"("action", "page");

-- CreateIndex
CREATE INDEX "agg_user_action_action_idx" ON "agg_user_action"("action", "user_id");

-- CreateIndex
CREATE INDEX "agg_user_action_role_idx" ON "agg_user_action"("role", "user_id");

-- CreateIndex
CREATE INDEX "agg_user_page_page_idx" ON "agg_user_page"("page", "user_id");

-- CreateIndex
CREATE INDEX "agg_user_time_user_idx" ON "agg_user_time"("user_id", "grain", "bucket");

-- CreateIndex
CREATE INDEX "users_first_seen_idx" ON "users"("first_seen");
