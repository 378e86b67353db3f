-- Query service: the live stream (/api/stream) reads the rows stored since its last poll, every
-- second, by (stored_at, event_id). Without this index each poll would scan the whole table.

-- CreateIndex
CREATE INDEX "interactions_stored_at_idx" ON "interactions"("stored_at", "event_id");
