"""`targets`: whom to call — the champion's contact list, best first, with reasons."""

from __future__ import annotations

import argparse
from pathlib import Path

from churn_assets.cli.errors import CliError
from churn_assets.cli.score_command import score_frame
from churn_assets.cli.store import open_store
from churn_assets.data.sources import read_source
from churn_assets.model.contact_list import SCORE_PARAMS, contact_list, served_decision
from churn_assets.names import CHAMPION, PREDICTION, PROBABILITY
from churn_assets.registry.model_registry import current_champion_version


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "targets", help="the contact list: whom to call, best first, with reasons",
        description="Score customers with models:/<model_name>@champion and write the ones its "
        "decision policy contacts (dataset YAML `decision`; without `economics`, the customers "
        "above the decision threshold), best first: by expected value with economics, else by "
        "churn probability. Each row has reason_1..3.",
        epilog="example: python -m churn_assets targets --top 200 --out calls.csv")
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="customers (.csv or .parquet; default: the dataset YAML's source)")
    parser.add_argument("--top", type=int, metavar="N", help="at most the N best of the list")
    parser.add_argument("--out", type=Path, metavar="FILE", required=True,
                        help="write .csv or .parquet here")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import mlflow

    if args.out.suffix not in (".csv", ".parquet"):
        raise CliError(f"--out must end in .csv or .parquet, got '{args.out.name}'")
    if args.top is not None and args.top < 1:
        raise CliError(f"--top must be at least 1, got {args.top}")
    store = open_store(args.config, args.settings)
    version = current_champion_version(store.client, store.model_name)
    if version is None:
        raise CliError(f"no @{CHAMPION} for '{store.model_name}' in {store.tracking_uri}: "
                       "train first (python -m churn_assets train)")
    id_column = store.config.id_column
    table = read_source(args.file or store.config.source, text_columns=[id_column])
    model = mlflow.pyfunc.load_model(f"models:/{store.model_name}/{version}")
    scores = score_frame(model, table.frame, id_column, store.config.target, SCORE_PARAMS)
    scored = contact_list(scores[[id_column]], scores, served_decision(model))
    if "contact" in scored:
        chosen = scored[scored["contact"] == 1].sort_values("rank")
    else:
        chosen = scored[scored[PREDICTION] == 1].sort_values(PROBABILITY, ascending=False,
                                                             kind="stable")
    chosen = chosen.head(args.top) if args.top else chosen
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix == ".parquet":
        chosen.to_parquet(args.out, index=False)
    else:
        chosen.to_csv(args.out, index=False)
    worth = (f", expected value {chosen['expected_value'].sum():,.0f}"
             if "expected_value" in chosen else "")
    print(f"wrote {len(chosen)} customers to contact (of {len(scored)} scored{worth}) by "
          f"{store.model_name} v{version} to {args.out}")
    return 0
