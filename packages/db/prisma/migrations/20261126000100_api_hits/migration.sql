-- CreateTable
CREATE TABLE "api_hits" (
    "service" TEXT NOT NULL,
    "hits" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_hits_pkey" PRIMARY KEY ("service")
);

-- CreateTable
CREATE TABLE "api_hit_batches" (
    "batch_id" UUID NOT NULL,
    "service" TEXT NOT NULL,
    "hits" BIGINT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_hit_batches_pkey" PRIMARY KEY ("batch_id")
);

-- CreateIndex
CREATE INDEX "api_hit_batches_recorded_at_idx" ON "api_hit_batches"("recorded_at");
