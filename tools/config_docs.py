"""docs/configuration.md's tables, generated from the schema so they cannot drift from it.

The dataset YAML's keys come from ``DatasetConfig`` (pydantic) and the launchpad's fields from
the ``dg.Config`` class of every asset and op in the definitions; key, type, default and
meaning are read from the fields themselves (their ``description``), so a new key is
documented where it is declared. ``python -m tools.config_docs`` rewrites the tables between
the markers in docs/configuration.md; ``--check`` exits 1 when they differ from the schema
(``churn_assets_tests/test_config_docs.py`` does the same).
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
COMMAND = "python -m tools.config_docs"
# Set by the loader, never by the YAML (``dataset_config.parse_dataset_config``).
LOADER_FIELDS = ("config_path", "experiment_config", "id_column_derived")


class UndocumentedField(ValueError):
    """A schema field without a ``description``: it would reach the docs without a meaning."""


def _markers(region: str) -> tuple[str, str]:
    return (f"<!-- BEGIN GENERATED {region}: {COMMAND} -->",
            f"<!-- END GENERATED {region} -->")


def _strip(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def type_text(annotation: Any) -> str:
    """A YAML reader's name for a field's type: ``list of str``, ``number or empty``."""
    annotation = _strip(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds = [type_text(arg) for arg in args if arg is not type(None)]
        text = " or ".join(dict.fromkeys(kinds))
        return f"{text} or empty" if type(None) in args else text
    if origin in (tuple, list):
        return f"list of {_grouped(type_text(args[0]))}"
    if origin is dict:
        return f"mapping of {type_text(args[0])} to {_grouped(type_text(args[1]))}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    names = {int: "int", float: "number", str: "text", bool: "bool", Any: "any"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _grouped(text: str) -> str:
    return f"({text})" if " or " in text else text


def _yaml(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_yaml(item) for item in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None or any(value == empty for empty in ("", (), [], {})):
        return "empty"
    return f"`{_yaml(value)}`"


def meaning_text(owner: str, name: str, info: FieldInfo) -> str:
    if not info.description:
        raise UndocumentedField(f"{owner}.{name} has no description: add "
                                "Field(description=...) where it is declared")
    return info.description.replace("|", "\\|").replace("\n", " ")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((model for arg in get_args(annotation) if arg is not Ellipsis
                 if (model := _model_in(arg)) is not None), None)


def section_model(info: FieldInfo) -> type[BaseModel] | None:
    """The mapping a key holds: a section (``tuning``), an optional one (``economics``), the
    items of a list (``engineered``, ``promotion.segments``); None for a plain key."""
    return _model_in(info.annotation)


def field_table(model: type[BaseModel], prefix: str, skip: tuple[str, ...] = ()) -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        rows.append(f"| `{prefix}{name}` | {type_text(info.annotation)} | {default_text(info)} "
                    f"| {meaning_text(model.__name__, name, info)} |")
    return rows


def _doc_line(model: type[BaseModel]) -> list[str]:
    text = " ".join((model.__doc__ or "").split()).replace("``", "`")
    return [text, ""] if text else []


def yaml_reference() -> str:
    """Every key of the dataset YAML: the top-level keys, then one table per section."""
    from churn_assets.dataset_config import DatasetConfig

    sections = {name: model for name, info in DatasetConfig.model_fields.items()
                if (model := section_model(info)) is not None}
    lines = ["### Top-level keys", "",
             *field_table(DatasetConfig, "", skip=(*LOADER_FIELDS, *(
                 name for name in sections if name != "engineered")))]
    for name, model in sections.items():
        info = DatasetConfig.model_fields[name]
        listed = get_origin(_strip(info.annotation)) is tuple
        title = f"`{name}[]` (each item)" if listed else f"`{name}`"
        optional = " (optional section: off when absent)" if default_text(info) == "empty" \
            and not listed else ""
        prefix = "" if listed else f"{name}."
        lines += ["", f"### {title}{optional}", "", *_doc_line(model), *field_table(model, prefix)]
        for inner_name, inner_info in model.model_fields.items():
            inner = section_model(inner_info)
            if inner is not None:
                lines += ["", f"`{prefix}{inner_name}` items may also be mappings:", "",
                          *field_table(inner, f"{prefix}{inner_name}[].")]
    return "\n".join(lines)


def launchpad_classes() -> Iterator[tuple[str, type[BaseModel]]]:
    """(``asset `name` `` or ``op `name` (job `job`)``, its ``config`` class) for every
    node of the definitions that takes run config."""
    from churn_assets.definitions import defs

    definitions = defs()
    assets = {key.to_user_string() for key in definitions.resolve_all_asset_keys()}
    seen: set[str] = set()
    for job in sorted(definitions.get_repository_def().get_all_jobs(), key=lambda j: j.name):
        for node in job.all_node_defs:
            function = getattr(getattr(node, "compute_fn", None), "decorated_fn", None)
            if node.name in seen or function is None:
                continue
            seen.add(node.name)
            config = typing.get_type_hints(function).get("config")
            if isinstance(config, type) and issubclass(config, BaseModel):
                yield (f"asset `{node.name}`" if node.name in assets
                       else f"op `{node.name}` (job `{job.name}`)"), config


def launchpad_reference() -> str:
    lines: list[str] = []
    for node, config in sorted(launchpad_classes()):
        lines += [f"### {node}: `{config.__name__}`", "", *_doc_line(config),
                  "| field | type | default | meaning |", "|---|---|---|---|"]
        for name, info in config.model_fields.items():
            lines.append(f"| `{name}` | {type_text(info.annotation)} | {default_text(info)} | "
                         f"{meaning_text(config.__name__, name, info)} |")
        nested = {section_model(info) for info in config.model_fields.values()} - {None}
        for model in sorted(nested, key=lambda model: model.__name__):
            lines += ["", f"`{model.__name__}` (items of a list field above):", "",
                      *field_table(model, "")]
        lines.append("")
    return "\n".join(lines).rstrip()


REGIONS = {"yaml": yaml_reference, "launchpad": launchpad_reference}


def render(document: str) -> str:
    """``document`` with every generated region replaced by the schema's current tables."""
    for region, build in REGIONS.items():
        begin, end = _markers(region)
        if document.count(begin) != 1 or document.count(end) != 1:
            raise ValueError(f"{DOC.name} must hold the markers {begin!r} and {end!r} once")
        head, rest = document.split(begin)
        _, tail = rest.split(end)
        document = f"{head}{begin}\n{build()}\n{end}{tail}"
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when docs/configuration.md differs from the schema")
    args = parser.parse_args(argv)
    current = DOC.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print(f"{DOC} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        DOC.write_text(wanted)
        print(f"rewrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
