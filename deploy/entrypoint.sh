#!/bin/sh
# Every container of the project's image starts here (tini runs it as PID 1's child).
# Secrets come from the stack's uncommitted env file, mounted read-only at
# /run/secrets/churn.env: they are read into this process's environment only, never into the
# container's configuration (which `docker inspect` shows) or a command line (which `ps` and
# the image history show). KEY=VALUE lines, no shell evaluation.
set -eu
secrets=/run/secrets/churn.env
if [ -r "$secrets" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    export "${line%%=*}=${line#*=}"
  done < "$secrets"
fi
# Settings built from a secret, so they are built here, in the process.
if [ -n "${POSTGRES_PASSWORD:-}" ]; then
  pg="${POSTGRES_USER:-churn}:${POSTGRES_PASSWORD}@${DAGSTER_PG_HOST:-postgres}:${DAGSTER_PG_PORT:-5432}"
  export DAGSTER_PG_PASSWORD="${DAGSTER_PG_PASSWORD:-$POSTGRES_PASSWORD}"
  export MLFLOW_BACKEND_STORE_URI="${MLFLOW_BACKEND_STORE_URI:-postgresql://$pg/mlflow}"
  export CHURN_SCORES_DB_URL="${CHURN_SCORES_DB_URL:-postgresql://$pg/crm}"
  export CHURN_PREDICTION_LOG_URL="${CHURN_PREDICTION_LOG_URL:-postgresql://$pg/crm}"
  unset pg
fi
if [ -n "${REDIS_PASSWORD:-}" ]; then
  export CHURN_ONLINE_STORE_URL="${CHURN_ONLINE_STORE_URL:-redis://:$REDIS_PASSWORD@${REDIS_HOST:-redis}:6379/0}"
fi
exec "$@"
