"""The parser and the one place that turns failures into one line and an exit code.

Exit codes: 0 done, 1 the command failed or was refused (one line on stderr), 2 bad usage
(argparse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from churn_assets.cli import (
    generate_command,
    init_command,
    registry_commands,
    score_command,
    serve_command,
    targets_command,
    train_command,
)
from churn_assets.cli.errors import CliError
from churn_assets.environment import Settings, current

PROG = "python -m churn_assets"
EPILOG = """\
The model name and MLflow store are the ones the assets use: the dataset YAML's model_name
(--config, else $CHURN_DATASET_CONFIG, else ./dataset.yaml) and $MLFLOW_TRACKING_URI (else
./mlruns/mlflow.db). `python -m churn_assets COMMAND --help` describes a command."""


CONFIG_HELP = "dataset YAML (default: $CHURN_DATASET_CONFIG, else dataset.yaml)"


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions; keeps `example:` epilogs on one line, copy-pasteable."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example"):
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


class _CommandParser(argparse.ArgumentParser):
    """Every sub-command: examples kept as written, and --config after the command too."""

    def __init__(self, **kwargs):
        super().__init__(formatter_class=_Formatter, **kwargs)
        # SUPPRESS: when absent here, the value given before the command stays.
        self.add_argument("--config", metavar="YAML", default=argparse.SUPPRESS,
                          help=CONFIG_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train, inspect and operate the churn model without the Dagster UI.")
    parser.add_argument("--config", metavar="YAML", help=CONFIG_HELP)
    commands = parser.add_subparsers(title="commands", dest="command", required=True,
                                     metavar="COMMAND", parser_class=_CommandParser)
    generate_command.add_parser(commands)
    init_command.add_parser(commands)
    train_command.add_parser(commands)
    score_command.add_parser(commands)
    targets_command.add_parser(commands)
    registry_commands.add_parsers(commands)
    serve_command.add_parser(commands)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    # Imported here: each is a module the sub-commands load anyway.
    from mlflow.exceptions import MlflowException

    from churn_assets.data.source_errors import SourceError
    from churn_assets.dataset_config import ConfigError
    from churn_assets.registry.manual import PromotionRefused
    from churn_assets.registry.model_registry import RollbackRefused

    return (CliError, ConfigError, SourceError, RollbackRefused, PromotionRefused,
            MlflowException, OSError, TimeoutError)


def _one_line(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    first = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    return first if len(first) <= 400 else first[:397] + "..."


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """``settings``: the deployment's (default: read from this process's environment)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.settings = settings or current()
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except _expected_errors() as error:
        print(f"{PROG} {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 1
