-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'USER', 'GUEST');

-- CreateTable
CREATE TABLE "interactions" (
    "event_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "action" TEXT NOT NULL,
    "page" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "session_id" TEXT,
    "properties" JSONB NOT NULL DEFAULT '{}',
    "user_agent" TEXT,
    "is_bot" BOOLEAN NOT NULL DEFAULT false,
    "kafka_partition" INTEGER NOT NULL,
    "kafka_offset" BIGINT NOT NULL,
    "stored_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "interactions_pkey" PRIMARY KEY ("event_id")
);

-- CreateTable
CREATE TABLE "users" (
    "user_id" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'GUEST',
    "traits" JSONB NOT NULL DEFAULT '{}',
    "action_count" BIGINT NOT NULL DEFAULT 0,
    "first_seen" TIMESTAMPTZ(3) NOT NULL,
    "last_seen" TIMESTAMPTZ(3) NOT NULL,
    "identified_at" TIMESTAMPTZ(3),
    "role_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("user_id")
);

-- CreateIndex
CREATE INDEX "interactions_occurred_at_idx" ON "interactions"("occurred_at" DESC, "event_id" DESC);

-- CreateIndex
CREATE INDEX "interactions_user_id_occurred_at_idx" ON "interactions"("user_id", "occurred_at" DESC);

-- CreateIndex
CREATE INDEX "interactions_action_occurred_at_idx" ON "interactions"("action", "occurred_at" DESC);

-- CreateIndex
CREATE INDEX "interactions_role_occurred_at_idx" ON "interactions"("role", "occurred_at" DESC);

-- CreateIndex
CREATE INDEX "interactions_page_occurred_at_idx" ON "interactions"("page", "occurred_at" DESC);

-- CreateIndex
CREATE INDEX "users_action_count_idx" ON "users"("action_count");

-- CreateIndex
CREATE INDEX "users_role_idx" ON "users"("role");
