#!/usr/bin/env bash
# `make image`: the project image and the stack's PostgreSQL and Redis images, all on BASE.
# The two small images build beside the large one (their apt downloads overlap its wheel
# downloads and unpacking: about a minute off a cold build); their output goes to a log that is
# shown when they fail. Every build is waited for: none is left running when one fails.
# Each image carries a hash of everything its build reads (label churn.inputs): when the three
# images exist with the current hash nothing is built (the legacy builder's check of its cached
# layers took 3-40 s of every `make up`).
#   deploy/build_images.sh BASE IMAGE PG_IMAGE REDIS_IMAGE
set -uo pipefail
base="$1" image="$2" pg_image="$3" redis_image="$4"
here="$(cd "$(dirname "$0")" && pwd)"

# The build context as .dockerignore lets it through, plus the base's tag.
inputs="$(cd "$here/.." && { echo "$base"; find Dockerfile .dockerignore requirements.lock \
  pyproject.toml dataset.yaml workspace.yaml data/customers.csv configs deploy churn_assets \
  -type f ! -name '*.pyc' ! -path '*/__pycache__/*' ! -path deploy/.env \
  ! -path 'deploy/secrets/*' -print0 | sort -z | xargs -0 sha1sum; } | sha1sum | cut -c1-16)"
current=1
for name in "$image" "$pg_image" "$redis_image"; do
  label="$(docker image inspect -f '{{index .Config.Labels "churn.inputs"}}' "$name" 2>/dev/null)"
  [ "$label" = "$inputs" ] || current=0
done
if [ "$current" = 1 ]; then
  echo "image: $image, $pg_image, $redis_image up to date (inputs $inputs)"
  exit 0
fi

logs="$(mktemp -d /tmp/churn-build.XXXXXX)"
trap 'rm -rf "$logs"' EXIT
build() {
  DOCKER_BUILDKIT=0 docker build --force-rm --build-arg BASE="$base" \
    --label churn.inputs="$inputs" -t "$@"
}

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
