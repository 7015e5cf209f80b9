# The project's one image: Dagster webserver, daemon, code server, every run, the MLflow server
# and the S3 stand-in all start from it (deploy/compose.yaml). Layers from the least to the most
# often changed, so a code-only change rebuilds only the last COPY.
#   make image                                   # base made here by debootstrap (no registry)
#   docker build --build-arg BASE=python:3.11-slim .   # where a registry is reachable
ARG BASE=churn-base:latest
FROM ${BASE}

# Python 3.11 from Debian on the debootstrap base (python:3.11-slim brings its own);
# libgomp1 for XGBoost/LightGBM threads, tini as PID 1 (signals, reaping step processes).
RUN set -eux; \
    pkgs="libgomp1 tini"; \
    command -v python3.11 >/dev/null || pkgs="$pkgs python3.11 python3.11-venv"; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs; \
    apt-get clean; rm -rf /var/lib/apt/lists/*; \
    python3.11 -m venv /opt/venv

# The locked dependencies, exactly (the lock is a full freeze: --no-deps), minus what only a
# developer runs (browser tests, linters, audits, pytest), moto's CloudFormation extras
# (cfn-lint and the sympy/networkx it drags in: 140 MB the S3 stand-in never imports) and the
# mypy type checker Feast pulls in through SQLAlchemy[mypy] (75 MB, a plugin for type checking
# that nothing imports at run time), and uv (the Makefile's installer: here it runs from /tmp).
# uv (pinned, used only here) fetches in parallel: the cold build's largest cost. The CA bundle
# is the system's, which the debootstrap base extends with the host's CAs. Test suites inside
# the numeric libraries go too (~200 MB). (Stripping the wheels' shared libraries would save
# ~130 MB more but breaks the ones auditwheel patched, e.g. numpy's OpenBLAS.)
ARG UV_VERSION=0.13.9
COPY requirements.lock /tmp/requirements.lock
RUN set -eux; \
    grep -v -E '^(playwright|ruff|vulture|pip-audit|pip_audit|cyclonedx-python-lib|pip-requirements-parser|pip_api|license-expression|boolean\.py|packageurl-python|py-serializable|CacheControl|syrupy|pytest|pytest-xdist|iniconfig|pluggy|execnet|cfn-lint|sympy|mpmath|networkx|aws-xray-sdk|mypy|mypy_extensions|librt|ast_serialize|pathspec|uv)==' \
        /tmp/requirements.lock > /tmp/runtime.lock; \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt /opt/venv/bin/pip install --quiet \
        --no-cache-dir --disable-pip-version-check --target /tmp/uv "uv==${UV_VERSION}"; \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt UV_NATIVE_TLS=1 /tmp/uv/bin/uv pip install \
        --no-cache --python /opt/venv/bin/python --no-deps --compile-bytecode \
        -r /tmp/runtime.lock; \
    /tmp/uv/bin/uv pip check --python /opt/venv/bin/python; \
    cd /opt/venv/lib/python3.11/site-packages; \
    for pkg in pandas numpy scipy sklearn pyarrow matplotlib bokeh lightgbm shap; do \
        find "$pkg" -depth -type d -name tests -exec rm -rf {} +; \
    done; \
    rm -rf /tmp/uv /tmp/requirements.lock /tmp/runtime.lock

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    CHURN_DEPLOYMENT=prod

RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin churn \
    && mkdir -p /opt/dagster/home /app /data \
    && chown churn:churn /opt/dagster/home /data
WORKDIR /app

# The project last: data and settings change rarely, the package often.
COPY --chown=root:root pyproject.toml dataset.yaml workspace.yaml ./
COPY --chown=root:root data/customers.csv data/customers.csv
COPY --chown=root:root configs/ configs/
COPY --chown=root:root deploy/ deploy/
COPY --chown=root:root churn_assets/ churn_assets/
RUN cp deploy/dagster.docker.yaml /opt/dagster/home/dagster.yaml \
    && python -m compileall -q churn_assets

USER churn
ENTRYPOINT ["tini", "--", "/app/deploy/entrypoint.sh"]
CMD ["python", "-m", "churn_assets", "--help"]
