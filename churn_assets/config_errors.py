"""The dataset YAML's errors in words: one sentence that names the key (a pydantic error
as pydantic words it names a location, a type and a class; a person needs the YAML key)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel


class ConfigError(ValueError):
    """The dataset YAML is missing a key, has an unknown one, or a value of the wrong kind."""



_KIND_NAMES = {"int": "int", "float": "float", "string": "str", "bool": "bool", "list": "list",
               "tuple": "list", "dict": "mapping", "model": "mapping"}


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        # An optional section (``economics``) is ``X | None``: its keys are X's.
        annotation = next((a for a in typing.get_args(annotation) if isinstance(a, type)
                           and issubclass(a, BaseModel)), annotation)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(set(model.model_fields) - {"config_path", "experiment_config",
                                             "id_column_derived"})


def describe_error(error: dict[str, Any], schema: type[BaseModel]) -> str:
    """One pydantic error as a sentence that names the YAML key."""
    loc = tuple(p for p in error["loc"] if not str(p).startswith(("function-", "union[")))
    key = ".".join(str(p) for p in loc if not isinstance(p, int))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}' (known: {', '.join(_known_keys(schema, loc))})"
    if kind == "missing":
        return f"missing required key '{key}'"
    if kind in ("model_type", "dict_type") and len(loc) == 1:
        return f"'{key}' must be a mapping, got {type(error['input']).__name__}"
    if kind in ("tuple_type", "list_type") and key in ("categorical", "numeric", "drop",
                                                        "engineered"):
        return f"'{key}' must be a list of column names"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        expected = _KIND_NAMES.get(kind.split("_")[0], kind.split("_")[0])
        return f"'{key}' must be of type {expected}, got {error['input']!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message if message.startswith("'") else f"'{key}' {message}"
