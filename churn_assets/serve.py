"""`python -m churn_assets.serve` (`make serve`): the champion behind MLflow's REST server.

The model is ``models:/<model_name>@champion`` of the dataset YAML, resolved in the
tracking store the pipeline writes to; `--env-manager local` serves it from this
environment (no conda or virtualenv build). POST raw rows to ``/invocations``, e.g.
``{"dataframe_split": {"columns": [...], "data": [[...]]}}``; the answer holds
`churn_probability` and `churn_prediction` per row. The alias is resolved when the server
starts: restart it after a promotion or a rollback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from churn_assets.dataset_config import load_dataset_config
from churn_assets.names import CHAMPION


def serve_command(model_name: str, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "mlflow", "models", "serve",
            "-m", f"models:/{model_name}@{CHAMPION}", "--env-manager", "local",
            "--host", host, "--port", str(port)]


def main(argv: list[str] | None = None) -> None:
    from churn_assets.defs.resources.mlflow_tracking import MlflowTracking

    parser = argparse.ArgumentParser(prog="python -m churn_assets.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    uri = MlflowTracking().resolved_uri()
    command = serve_command(load_dataset_config().model_name, args.host, args.port)
    print(f"serving {command[6]} from {uri} on http://{args.host}:{args.port}/invocations",
          flush=True)
    # MLflow starts `uvicorn` by name: this environment's scripts must come first on PATH
    # (a bare `.venv/bin/python` does not put them there).
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.environ |= {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri, "PATH": path}
    os.execv(command[0], command)  # the server is this process: Ctrl-C and signals reach it


if __name__ == "__main__":
    main()
