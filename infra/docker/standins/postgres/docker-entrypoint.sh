#!/usr/bin/env bash
# Entrypoint of tracker-standin/postgres (PostgreSQL 15 from Debian), after the official postgres
# image's docker-entrypoint.sh:
# - started as root: makes PGDATA and the socket directory belong to postgres, then runs itself
#   again as postgres (setpriv);
# - PGDATA without PG_VERSION: initdb with POSTGRES_USER (default postgres) and POSTGRES_PASSWORD
#   (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_INITDB_ARGS; TCP clients from
#   anywhere authenticate with POSTGRES_HOST_AUTH_METHOD (default scram-sha-256); then, on a
#   temporary server that listens on the Unix socket only, creates POSTGRES_DB (default: the user
#   name) and runs /docker-entrypoint-initdb.d/* in name order (*.sh: executable ones run, others
#   are sourced; *.sql and *.sql.gz through psql into POSTGRES_DB, stopping at the first error);
# - finally `postgres` in the foreground (listen_addresses='*' from the configuration).
# A command other than postgres (or options) runs as given.
set -Eeuo pipefail

if [[ "${1:-}" == -* ]]; then set -- postgres "$@"; fi

if [[ "${1:-}" != postgres ]]; then exec "$@"; fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

if (($(id -u) == 0)); then
  mkdir -p "$PGDATA" /var/run/postgresql
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 0700 "$PGDATA"
  chown postgres:postgres /var/run/postgresql
  chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
AUTH="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

psql_init() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"; }

run_init_files() {
  local f
  echo "running /docker-entrypoint-initdb.d/*"
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e "$f" ]] || continue
    case "$f" in
      *.sh)
        if [[ -x "$f" ]]; then
          echo "$0: running $f"
          "$f"
        else
          echo "$0: sourcing $f"
          # shellcheck disable=SC1090
          . "$f"
        fi
        ;;
      *.sql) echo "$0: running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f"; echo ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB"; echo ;;
      *) echo "$0: ignoring $f" ;;
    esac
  done
}

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$AUTH" != trust ]]; then
    echo "error: the database is not initialised and POSTGRES_PASSWORD is empty (set it, or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  echo "initialising the database cluster in $PGDATA"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS holds several options
  if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
      --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA"
  else
    initdb --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA"
  fi
  # initdb trusts local connections (socket and loopback); every other TCP client needs a password.
  printf '\nhost all all all %s\n' "$AUTH" >>"$PGDATA/pg_hba.conf"

  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
  if [[ "$POSTGRES_DB" != postgres ]]; then
    psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  run_init_files
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "PostgreSQL init process complete; ready for start up."
else
  echo "PostgreSQL database directory appears to contain a database; skipping initialisation"
fi

exec "$@"
