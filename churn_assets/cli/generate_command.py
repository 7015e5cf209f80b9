"""`generate`: synthetic customers (the bundled data's generator) with drift knobs."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from churn_assets.cli.errors import CliError
from churn_assets.generator import TARGET_CHURN_RATE, DistributionShift, write_customers

KNOB_HELP = {
    "month_to_month_share": "share of month-to-month contracts (covariate drift)",
    "fiber_share": "share of fiber-optic internet customers",
    "no_internet_share": "share of customers without internet",
    "electronic_check_share": "share paying by electronic check",
    "senior_share": "share of senior citizens",
    "charges_multiplier": "multiplies monthly charges",
    "tenure_multiplier": "multiplies tenure (months)",
    "concept_shift": "0..1: changes how features relate to churn (concept drift); "
                     "1 reverses the contract and tenure effects",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "generate", help="write synthetic customers (CSV/Parquet), optionally drifted",
        description="Write seeded synthetic customers with the Telco churn schema. The knobs "
        "move the population away from the bundled data (defaults reproduce it).",
        epilog="example: python -m churn_assets generate --rows 2000 --seed 8 "
        "--month-to-month-share 0.85 --out data/landing/shifted.csv")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE",
                        help="where to write: .csv or .parquet")
    parser.add_argument("--rows", type=int, default=7043, help="customers (default 7043)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--churn-rate", type=float, default=TARGET_CHURN_RATE,
                        help=f"churn rate of the reference population "
                        f"(default {TARGET_CHURN_RATE})")
    knobs = parser.add_argument_group("drift knobs")
    for knob in fields(DistributionShift):
        knobs.add_argument(f"--{knob.name.replace('_', '-')}", type=float, default=knob.default,
                           metavar="X", help=f"{KNOB_HELP[knob.name]} (default {knob.default})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.out.suffix not in (".csv", ".parquet"):
        raise CliError(f"--out must end in .csv or .parquet, got '{args.out.name}'")
    if args.rows < 1:
        raise CliError(f"--rows must be positive, got {args.rows}")
    if not 0 <= args.concept_shift <= 1:
        raise CliError(f"--concept-shift must be between 0 and 1, got {args.concept_shift}")
    print(write_customers(args))
    return 0
