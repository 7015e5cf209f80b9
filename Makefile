# Every target creates .venv and installs the locked dependencies when they are missing
# or when requirements.lock / pyproject.toml changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
# dagster.yaml in the repo root is the instance config; it keeps its state in .dagster_home/
# (a path relative to the root, where every recipe runs; bare `dg`/`dagster` read it too).
export DAGSTER_HOME ?= $(CURDIR)

.PHONY: train test dev bench bench-serve lint audit mlflow-ui data lock clean system-packages test-ui \
	screenshots serve image up down
# pytest-xdist workers for `make test`: two per core. The long tests wait part of the time
# (servers starting, sensors ticking, runs in other processes): over the suite's first
# 5 minutes (its heaviest modules), sampled every 0.5 s beside other niced work, one worker
# per core left a single thread runnable 8 % of the time and the suite used 471 CPU s; two
# per core used 576 CPU s in the same time (+22 %). Whole test modules stay on one worker
# (--dist loadscope), so a module-scoped trained workspace is built once; they are handed
# out longest first (churn_assets_tests/conftest.py, --no-loadscope-reorder), and the 25
# slowest tests are printed at the end.
TEST_WORKERS ?= $(shell echo $$(( 2 * $$(nproc) )))
# The tests' temporary files (Dagster's and MLflow's SQLite stores, PostgreSQL clusters, MLflow
# artifacts) go to a folder on tmpfs when the machine has one, removed afterwards (mode 1777 as
# /tmp: the PostgreSQL clusters run as user postgres inside it); on disk,
# SQLite's fsync on every commit cost 3.5-4.4 s of a 24-41 s whole-graph test run (profiled).
TEST_TMP_PARENT ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo $${TMPDIR:-/tmp})
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# uv (its pin is in requirements.lock) installs the same locked versions as pip: a fresh venv
# with empty caches took 31 s wall / 11 CPU s against pip's 156 s / 123 CPU s (2 cores, load 7).
# Where uv cannot reach an index (it does not read pip's configuration), pip installs instead.
# Both write every module's bytecode at install (uv only when asked; pip by default): where
# PYTHONDONTWRITEBYTECODE=1 is set (CI sandboxes, containers) Python never writes it itself, and
# every process compiled MLflow, pandas and the rest from source again: importing numpy,
# pandas, MLflow and XGBoost took 10.8 CPU s without the files, 3.2 with them (2 cores, load 5).
LOCKED_INSTALL = $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) $(1) \
	|| $(PY) -m pip install --quiet --disable-pip-version-check $(1)
# Before each command that starts many processes: the project's own modules (compileall
# rewrites only what changed since), and once the libraries of a .venv installed before its
# installs wrote bytecode (an install with nothing new to add compiles nothing; the deps
# recipe marks the venvs it made with $(VENV_BYTECODE)).
VENV_BYTECODE := $(VENV)/.bytecode
BYTECODE = { test -e $(VENV_BYTECODE) || { $(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null 2>&1; \
	touch $(VENV_BYTECODE); }; } && \
	$(PY) -m compileall -q -j 0 churn_assets churn_dev churn_assets_tests benchmarks >/dev/null

# Lines of requirements.lock marked `# [serve]` belong to the optional serving extra: only
# `make serve` and `make test` install them (SERVE_STAMP), so `make train` does not grow.
$(DEPS_STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check \
		"$$(grep '^uv==' requirements.lock)" || true
	$(call LOCKED_INSTALL,-r <(grep -v '# \[serve\]' requirements.lock))
	$(call LOCKED_INSTALL,--no-deps -e .)
	@rm -f $(VENV)/.deps-* $(VENV)/.serve-* && touch $@ $(VENV_BYTECODE)

SERVE_STAMP := $(VENV)/.serve-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
$(SERVE_STAMP): $(DEPS_STAMP)
	$(call LOCKED_INSTALL,--no-deps -r <(grep '# \[serve\]' requirements.lock))
	@touch $@

## Services the tests start for real: PostgreSQL (production instance, prediction log),
## Chromium (UI) and Redis (the online store).
system-packages:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql)
	@command -v chromium >/dev/null || \
		($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)
	@command -v redis-server >/dev/null || \
		($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server)

## Materialize the whole graph on the bundled data, then show the champion.
train: $(DEPS_STAMP)
	@$(BYTECODE)
	$(VENV)/bin/dg launch --assets '*'
	$(PY) -m churn_assets champion

## The test suite (the same set-up as train): definitions check, lint, then every test.
test: $(DEPS_STAMP) $(SERVE_STAMP) system-packages lint
	@$(BYTECODE)
	$(VENV)/bin/dg check defs
	@# The vulnerability audit mostly waits on the network (~15 s): it runs beside the tests and
	@# its findings are printed after them. They fail `make audit`, not the tests (the database
	@# changes without our code changing, and may be unreachable).
	@tmp=$$(mktemp -d $(TEST_TMP_PARENT)/churn-tests.XXXXXX) && trap 'rm -rf "$$tmp"' EXIT && \
	chmod 1777 "$$tmp" && \
	{ $(MAKE) --no-print-directory audit > "$$tmp/audit.txt" 2>&1 & } && \
	echo "test files in $$tmp" && TMPDIR=$$tmp $(PY) -m pytest -n $(TEST_WORKERS) \
		--dist loadscope --no-loadscope-reorder --durations=25; \
	status=$$?; wait; cat "$$tmp/audit.txt"; exit $$status

## Only the browser test of the Dagster and MLflow UIs (Debian's chromium, Playwright).
test-ui: $(DEPS_STAMP) system-packages
	$(PY) -m pytest -m slow churn_assets_tests/ui

## The README's pictures (docs/images/*.png, tracked) retaken by the browser test.
screenshots: $(DEPS_STAMP) system-packages
	CHURN_UPDATE_README_IMAGES=1 $(PY) -m pytest -m slow churn_assets_tests/ui

## The Dagster UI on http://127.0.0.1:3000 with the daemon (sensors, schedule).
dev: $(DEPS_STAMP)
	@$(BYTECODE)
	$(VENV)/bin/dagster dev --host 127.0.0.1 --port 3000

## Speed and memory figures, measured side by side.
bench: $(DEPS_STAMP) $(SERVE_STAMP)
	@$(BYTECODE)
	$(PY) -m benchmarks.bench

## The scoring service against `mlflow models serve`, side by side (docs/serving.md).
bench-serve: $(DEPS_STAMP) $(SERVE_STAMP) system-packages
	$(PY) -m benchmarks.serve_bench

## The MLflow UI over the local store on http://127.0.0.1:5000.
mlflow-ui: $(DEPS_STAMP)
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db --host 127.0.0.1 --port 5000

## The scoring service on http://127.0.0.1:8000 (POST /predict, GET /customers/ID, /docs);
## it follows @champion without a restart (docs/serving.md).
serve: $(SERVE_STAMP)
	$(PY) -m churn_assets serve --host 127.0.0.1 --port 8000

## The project's image (every component and every run start from it) and the stack's PostgreSQL
## and Redis images, on a Debian bookworm base made here by debootstrap and cached by its recipe's hash (no
## image registry needed); `make image BASE=python:3.11-slim` where a registry is reachable.
IMAGE ?= churn-assets:latest
PG_IMAGE ?= churn-postgres:latest
REDIS_IMAGE ?= churn-redis:latest
BASE ?=
export IMAGE PG_IMAGE REDIS_IMAGE
image:
	@$(PYTHON) deploy/preflight.py image
	@base="$(BASE)"; if [ -z "$$base" ]; then base="$$($(SUDO) deploy/base/build_base.sh)" || exit 2; fi; \
	  deploy/build_images.sh "$$base" $(IMAGE) $(PG_IMAGE) $(REDIS_IMAGE)

## The stack (deploy/compose.yaml) on 127.0.0.1: Dagster UI :3000, MLflow :5000. Creates
## deploy/.env with random secrets when absent; refuses with one line when something is wrong.
up:
	@$(PYTHON) deploy/preflight.py up
	@$(MAKE) --no-print-directory image
	@$(PYTHON) deploy/stack.py up

## Stops the stack and its run containers; the volumes (runs, models, data) stay.
down:
	@$(PYTHON) deploy/stack.py down

## Lint (ruff) and dead code (vulture over the product package: a name only the tests or the
## benchmarks use counts as dead; tools/vulture_allowlist.py lists the reviewed exceptions).
lint: $(DEPS_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/vulture

## Known vulnerabilities in the locked dependencies (pip-audit on requirements.lock). Fails on
## a finding not documented in audit-ignore.txt; says "audit NOT done" (and passes) when the
## vulnerability database cannot be reached, rather than reporting a clean result.
audit: $(DEPS_STAMP)
	@rm -f $(VENV)/pip-audit.json
	-@$(VENV)/bin/pip-audit -r requirements.lock --no-deps --disable-pip \
	    --progress-spinner off --format json --output $(VENV)/pip-audit.json 2>/dev/null
	@$(PY) tools/audit_summary.py $(VENV)/pip-audit.json

## Regenerate the bundled data set with the project's own generator.
data: $(DEPS_STAMP)
	$(PY) -m churn_assets.generator --rows 7043 --seed 7 --out data/customers.csv

## Re-resolve the dependency ranges in pyproject.toml into requirements.lock (slow: a full
## resolution from scratch; to add one package, `pip install -c requirements.lock pkg` in
## .venv and `pip freeze --exclude-editable > requirements.lock` instead).
lock:
	rm -rf /tmp/churn-lock-venv && $(PYTHON) -m venv /tmp/churn-lock-venv
	/tmp/churn-lock-venv/bin/pip install --quiet -e '.[dev]'
	/tmp/churn-lock-venv/bin/pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf .dagster_home mlruns .churn_storage
