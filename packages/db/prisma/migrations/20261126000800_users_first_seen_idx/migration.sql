-- The population of a stats request with `to` is the users first seen before it: every user
-- (agg_population) minus those first seen since, which this index finds without reading the table.
-- CreateIndex
CREATE INDEX "users_first_seen_idx" ON "users"("first_seen", "role");
