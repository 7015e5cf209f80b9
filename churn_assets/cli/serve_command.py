"""`serve`: the scoring service (FastAPI on uvicorn) following @champion; see docs/serving.md."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from churn_assets.cli.errors import CliError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve", help="the online scoring service (POST /predict, GET /customers/ID)",
        description="Serve models:/<model_name>@champion over HTTP, following the alias "
        "without a restart (YAML serving.poll_seconds), logging every answer to "
        "prediction_log ($CHURN_PREDICTION_LOG_URL). Needs the [serve] extra. For several "
        "worker processes run gunicorn -k uvicorn.workers.UvicornWorker "
        "'churn_assets.serving.service:app_from_environment()'.",
        epilog="example: python -m churn_assets serve --host 127.0.0.1 --port 8000")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.set_defaults(run=run)


def _one_openmp_thread() -> None:
    """A service answers many small requests at once: one OpenMP thread per predict call (the
    model library's default is one per core, which spins against the other requests' threads:
    2x slower per single-row call on 2 busy cores). OpenMP reads the setting when it loads,
    before this command runs, so the command starts itself again with it set."""
    if os.environ.get("OMP_NUM_THREADS") or Path(sys.argv[0]).name != "__main__.py":
        return
    os.environ["OMP_NUM_THREADS"] = "1"
    os.execv(sys.executable, [sys.executable, "-m", "churn_assets", *sys.argv[1:]])


def run(args: argparse.Namespace) -> int:
    _one_openmp_thread()
    try:
        import uvicorn

        from churn_assets.serving.app import create_app
        from churn_assets.serving.service import build_service
    except ImportError as error:
        raise CliError(f"the service needs the [serve] extra ({error.name} is missing): "
                       "pip install -e '.[serve]'") from error
    from churn_assets.serving.settings import ServiceEnvironment

    settings = args.settings
    app = create_app(build_service(getattr(args, "config", None) or settings.dataset_config,
                                   ServiceEnvironment.from_settings(settings)))
    print(f"serving on http://{args.host}:{args.port} (docs at /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
