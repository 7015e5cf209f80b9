"""`score FILE`: the champion's churn scores for a table of raw customer rows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from churn_assets.cli.errors import CliError
from churn_assets.cli.store import open_store
from churn_assets.data.row_key import with_row_key
from churn_assets.data.sources import read_source
from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.names import CHAMPION, OUTPUT_COLUMNS, PREDICTION
from churn_assets.registry.model_registry import current_champion_version


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "score", help="score a CSV/Parquet file with the champion",
        description="Load models:/<model_name>@champion and score raw customer rows (the "
        "target column, if present, is ignored). Writes the id column, churn_probability "
        "and churn_prediction.",
        epilog="example: python -m churn_assets score data/customers.csv --out scores.parquet")
    parser.add_argument("file", metavar="FILE", help="customers to score (.csv or .parquet)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="write .csv or .parquet here (default: CSV on standard output)")
    parser.add_argument("--reasons", action="store_true",
                        help="add reason_1..3: the three raw columns pushing each score most")
    parser.set_defaults(run=run)


def _missing_inputs(model, frame: pd.DataFrame) -> list[str]:
    # MLflow's own error for a missing column dumps the whole frame; name the columns instead.
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return []
    return [c for c in schema.required_input_names() if c not in frame.columns]


def _last_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def score_frame(model, frame: pd.DataFrame, id_column: str, target: str,
                params: dict | None = None) -> pd.DataFrame:
    if id_column not in frame.columns:
        raise CliError(f"the file has no id column '{id_column}' (dataset YAML id_column)")
    rows = frame.drop(columns=[target], errors="ignore")
    missing = _missing_inputs(model, rows)
    if missing:
        raise CliError(f"the file lacks columns the champion needs: {', '.join(missing)}")
    try:
        scores = predict_in_batches(model, rows, params=params)
    except Exception as error:  # the model's own message, without MLflow's frame dump
        raise CliError(f"the champion could not score these rows: {_last_line(error)}") \
            from error
    extra = [c for c in scores.columns if c not in OUTPUT_COLUMNS]  # only when asked for
    return pd.concat([frame[[id_column]].reset_index(drop=True),
                      scores[[*OUTPUT_COLUMNS, *extra]].reset_index(drop=True)], axis=1)


def run(args: argparse.Namespace) -> int:
    import mlflow

    if args.out is not None and args.out.suffix not in (".csv", ".parquet"):
        raise CliError(f"--out must end in .csv or .parquet, got '{args.out.name}'")
    store = open_store(args.config, args.settings)
    version = current_champion_version(store.client, store.model_name)
    if version is None:
        raise CliError(f"no @{CHAMPION} for '{store.model_name}' in {store.tracking_uri}: "
                       "train first (python -m churn_assets train)")
    table = read_source(args.file, text_columns=[store.config.id_column],
                        sheet=store.config.sheet)
    frame, _ = with_row_key(table.frame, store.config)  # no id in the YAML: the derived key
    # By number: the version reported below is the one that scored, even if the alias moves.
    model = mlflow.pyfunc.load_model(f"models:/{store.model_name}/{version}")
    scores = score_frame(model, frame, store.config.id_column, store.config.target,
                         params={"reasons": True} if args.reasons else None)
    if args.out is None:
        scores.to_csv(sys.stdout, index=False)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix == ".parquet":
        scores.to_parquet(args.out, index=False)
    else:
        scores.to_csv(args.out, index=False)
    print(f"wrote {len(scores)} scores ({scores[PREDICTION].mean():.1%} predicted to churn) "
          f"by {store.model_name} v{version} to {args.out}")
    return 0
