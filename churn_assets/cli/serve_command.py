"""`serve`: the scoring service (FastAPI on uvicorn) following @champion; see docs/serving.md."""

from __future__ import annotations

import argparse

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


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from churn_assets.serving.app import create_app
        from churn_assets.serving.service import build_service
    except ImportError as error:
        raise CliError(f"the service needs the [serve] extra ({error.name} is missing): "
                       "pip install -e '.[serve]'") from error
    app = create_app(build_service(getattr(args, "config", None)))
    print(f"serving on http://{args.host}:{args.port} (docs at /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
