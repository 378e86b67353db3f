-- Funnel definitions saved by name (PUT /api/funnels/saved/:name), as the query service validated them.
CREATE TABLE "saved_funnels" (
    "name" TEXT NOT NULL,
    "definition" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "saved_funnels_pkey" PRIMARY KEY ("name")
);
