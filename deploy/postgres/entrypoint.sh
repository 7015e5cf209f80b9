#!/bin/sh
# First start (empty volume): a cluster with scram passwords, the role and its databases;
# every start: the server on all interfaces of the stack's private network.
set -eu
password=$(sed -n 's/^POSTGRES_PASSWORD=//p' /run/secrets/churn.env 2>/dev/null | tail -1)
user="${POSTGRES_USER:-churn}"
if [ -z "$password" ]; then
  echo "postgres: no POSTGRES_PASSWORD in /run/secrets/churn.env (make up writes it from deploy/.env)" >&2
  exit 2
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$password" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=scram-sha-256 \
    --auth-host=scram-sha-256 -E UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  for db in dagster mlflow crm; do
    PGPASSWORD="$password" createdb -h /run/postgresql -U "$user" "$db"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres: initialised databases dagster, mlflow, crm for role $user"
fi
unset password
exec postgres -D "$PGDATA" -c listen_addresses='*'
