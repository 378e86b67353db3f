-- Aggregate rows are incremented in place (n = n + k) far more often than inserted. Free space in
-- each page lets PostgreSQL do those updates as HOT updates (no index maintenance, since n is not
-- indexed). Storage parameters are outside schema.prisma's scope.
ALTER TABLE "agg_time_action" SET (fillfactor = 70);
ALTER TABLE "agg_time_page" SET (fillfactor = 70);
ALTER TABLE "agg_page_action" SET (fillfactor = 70);
ALTER TABLE "agg_user_action" SET (fillfactor = 70);
ALTER TABLE "agg_user_page" SET (fillfactor = 70);
ALTER TABLE "agg_user_time" SET (fillfactor = 70);
