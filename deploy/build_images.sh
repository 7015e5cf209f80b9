#!/usr/bin/env bash
# `make image`: the project image and the stack's PostgreSQL and Redis images, all on BASE.
# The two small images build beside the large one (their apt downloads overlap its wheel
# downloads and unpacking: about a minute off a cold build); their output goes to a log that is
# shown when they fail. Every build is waited for: none is left running when one fails.
#   deploy/build_images.sh BASE IMAGE PG_IMAGE REDIS_IMAGE
set -uo pipefail
base="$1" image="$2" pg_image="$3" redis_image="$4"
here="$(cd "$(dirname "$0")" && pwd)"
logs="$(mktemp -d /tmp/churn-build.XXXXXX)"
trap 'rm -rf "$logs"' EXIT
build() { DOCKER_BUILDKIT=0 docker build --force-rm --build-arg BASE="$base" -t "$@"; }

build "$pg_image" "$here/postgres" >"$logs/postgres" 2>&1 & pg=$!
build "$redis_image" "$here/redis" >"$logs/redis" 2>&1 & redis=$!
build "$image" "$here/.."; status=$?
failed=0
for side in postgres:$pg redis:$redis; do
  if ! wait "${side#*:}"; then
    failed=1
    tail -n 25 "$logs/${side%%:*}" >&2
    echo "image: the ${side%%:*} image did not build; its last lines are above" >&2
  fi
done
[ "$status" = 0 ] && [ "$failed" = 0 ]
