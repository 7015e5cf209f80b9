"""`init`: read a table once and write a first dataset YAML for it (see data/dataset_proposal)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import yaml

from churn_assets.cli.errors import CliError
from churn_assets.data.dataset_proposal import propose_dataset
from churn_assets.data.sources import read_source
from churn_assets.dataset_config import is_sql_url, load_dataset_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "init", help="propose a dataset YAML for a table (file, s3:// or database URL)",
        description="Read the table once and write a dataset YAML: positive label, id column "
        "(none: a row key derived from the content), column roles and validation checks, each "
        "choice explained in a comment. Edit it, then train with CHURN_DATASET_CONFIG=YAML.",
        epilog="example: python -m churn_assets init data/customers.csv --target Churn "
        "--out my_dataset.yaml")
    parser.add_argument("source", metavar="FILE_OR_URL",
                        help="CSV, Parquet or .xlsx path, s3:// URI, or SQLAlchemy URL")
    parser.add_argument("--target", required=True, metavar="COL", help="the churn column")
    parser.add_argument("--out", type=Path, default=Path("dataset.yaml"), metavar="YAML",
                        help="where to write (default: dataset.yaml; never overwritten)")
    parser.add_argument("--positive-label", metavar="VALUE", help="the value meaning churned")
    parser.add_argument("--id-column", metavar="COL", help="the unique customer id")
    parser.add_argument("--model-name", metavar="NAME", help="registered model name")
    parser.add_argument("--sheet", default="", help="Excel sheet (default: the first)")
    parser.add_argument("--table", default="", help="database table (with a database URL)")
    parser.add_argument("--query", default="", help="database query (with a database URL)")
    parser.set_defaults(run=run)


def _model_name(source: str, table: str) -> str:
    stem = table or Path(source.split("?")[0]).name.split(".")[0] or "table"
    return "churn-" + (re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "table")


def _written_source(source: str, out: Path) -> str:
    # Relative paths in the YAML resolve against its folder: write the path from there.
    if "://" in source:
        return source
    path, folder = Path(source).resolve(), out.resolve().parent
    return os.path.relpath(path, folder) if path.is_relative_to(folder) else str(path)


def _label(value: str | None):
    if value is None:
        return None
    return int(value) if re.fullmatch(r"-?\d+", value) else value


def run(args: argparse.Namespace) -> int:
    if args.out.exists():
        raise CliError(f"{args.out} exists: choose another --out (init never overwrites)")
    if is_sql_url(args.source) and bool(args.table) == bool(args.query):
        raise CliError("a database URL needs exactly one of --table or --query")
    table = read_source(args.source, _s3_client(args.source), sheet=args.sheet,
                        table=args.table, query=args.query,
                        text_columns=[args.id_column] if args.id_column else [])
    keys = {k: v for k, v in (("source_table", args.table), ("source_query", args.query),
                              ("sheet", args.sheet)) if v}
    proposal = propose_dataset(
        table.frame, _written_source(args.source, args.out), args.target,
        model_name=args.model_name or _model_name(args.source, args.table),
        positive_label=_label(args.positive_label), id_column=args.id_column,
        source_keys=keys)
    header = [f"# Proposed by `python -m churn_assets init` from {table.uri}",
              f"# ({len(table.frame)} rows, {table.frame.shape[1]} columns). Edit freely; "
              "each choice and why:", *(f"#   {reason}" for reason in proposal.reasons)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + yaml.safe_dump(
        proposal.config, sort_keys=False, allow_unicode=True, width=100,
        default_flow_style=None))
    load_dataset_config(args.out)  # what was written loads as a dataset YAML
    print(f"wrote {args.out}: {len(proposal.reasons)} choices explained at the top",
          file=sys.stdout)
    return 0


def _s3_client(source: str):
    if not source.startswith("s3://"):
        return None
    import boto3

    return boto3.client("s3")
