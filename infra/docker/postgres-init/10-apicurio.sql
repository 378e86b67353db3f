-- Run by the postgres image on the first start of an empty data volume (docker-entrypoint-initdb.d).
-- The schema registry keeps its schemas in a database of its own, next to `tracker` (POSTGRES_DB).
CREATE DATABASE apicurio;
