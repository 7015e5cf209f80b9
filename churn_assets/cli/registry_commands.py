"""`champion`, `promote`, `rollback`, `report`: the registry, by hand."""

from __future__ import annotations

import argparse
import getpass

from churn_assets.cli.champion_summary import champion_lines, no_champion_line
from churn_assets.cli.errors import CliError
from churn_assets.cli.store import open_store
from churn_assets.names import CHAMPION
from churn_assets.registry.manual import promote_version
from churn_assets.registry.model_registry import current_champion_version, rollback

# mlflow is imported where it is used: `python -m churn_assets generate`, `init` and
# `--help` never open the registry.


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def _audit_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--reason", required=True, help=f"why you {what} (recorded on the "
                        "model versions)")
    parser.add_argument("--by", default=_user(),
                        help="who asks (recorded; default: your user name)")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    champion = commands.add_parser(
        "champion", help="who holds @champion and why (version, decision tags, metrics)",
        description="Show the version behind models:/<model_name>@champion, why it got there "
        "(the promotion, manual promotion or rollback record), the other aliases and the "
        "test/validation metrics of its training run. Exit code 1 when there is no champion.")
    champion.set_defaults(run=show_champion)

    promote = commands.add_parser(
        "promote", help="put a chosen version on @champion by hand",
        description="Move @champion to a registered version, skipping the promotion rule but "
        "not the fresh-process load check. The old champion becomes @previous_champion; who "
        "and why are tagged on both versions.",
        epilog="example: python -m churn_assets promote --version 3 --reason 'A/B test won'")
    promote.add_argument("--version", required=True, help="the registered version number")
    _audit_arguments(promote, "promote it")
    promote.set_defaults(run=promote_by_hand)

    back = commands.add_parser(
        "rollback", help="move @champion back (default: to @previous_champion)",
        description="Move @champion back to @previous_champion, or to --to VERSION, after the "
        "fresh-process load check. The displaced champion becomes @previous_champion.",
        epilog="example: python -m churn_assets rollback --reason 'complaints about v4'")
    back.add_argument("--to", metavar="VERSION", help="target version "
                      "(default: @previous_champion)")
    _audit_arguments(back, "roll back")
    back.set_defaults(run=roll_back)

    report = commands.add_parser(
        "report", help="print the champion's model card",
        description="Print the model card (the registered version's description, markdown).")
    report.add_argument("--version", help="another registered version (default: the champion)")
    report.set_defaults(run=print_report)


def show_champion(args: argparse.Namespace) -> int:
    lines = champion_lines(open_store(args.config, args.settings))
    print("\n".join(lines))
    return 0 if len(lines) > 1 else 1


def promote_by_hand(args: argparse.Namespace) -> int:
    store = open_store(args.config, args.settings)
    outcome = promote_version(store.client, store.model_name, args.version,
                              tracking_uri=store.tracking_uri, requested_by=args.by,
                              reason=args.reason)
    was = f"v{outcome.previous_champion_version}" if outcome.previous_champion_version \
        else "nobody"
    print(f"{store.model_name} v{outcome.version} is @{CHAMPION} (was {was}); load check "
          f"{outcome.load_check.text()}")
    return 0


def roll_back(args: argparse.Namespace) -> int:
    store = open_store(args.config, args.settings)
    outcome = rollback(store.client, store.model_name, tracking_uri=store.tracking_uri,
                       requested_by=args.by, reason=args.reason, target_version=args.to)
    print(f"{store.model_name} @{CHAMPION} rolled back from v{outcome.from_version} to "
          f"v{outcome.to_version}; load check {outcome.load_check.text()}")
    return 0


def print_report(args: argparse.Namespace) -> int:
    from mlflow.exceptions import MlflowException

    store = open_store(args.config, args.settings)
    version = args.version or current_champion_version(store.client, store.model_name)
    if version is None:
        raise CliError(no_champion_line(store))
    try:
        details = store.client.get_model_version(store.model_name, str(version))
    except MlflowException:
        raise CliError(f"{store.model_name} has no version {version}") from None
    if not (details.description or "").strip():
        raise CliError(f"{store.model_name} v{version} has no model card (its description "
                       "is empty)")
    print(details.description)
    return 0
