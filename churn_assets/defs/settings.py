"""Run-level settings: a launchpad value overrides the dataset YAML's default, field by field.

A setting is declared once, in the YAML schema (``dataset_config``); ``launchpad_config``
derives an asset's ``dg.Config`` from it (same names, every field optional), and
``effective`` merges such a config over the YAML section.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, get_args, get_origin

import dagster as dg
from pydantic import BaseModel, Field, create_model

from churn_assets.dataset_config import ConfigError

Section = TypeVar("Section", bound=BaseModel)

OWNERS = ["team:ml-platform"]


def effective(defaults: Section, overrides: dg.Config, section: str) -> Section:
    """``defaults`` (a dataset YAML section) with every non-empty launchpad value applied."""
    # Only the section's own keys: one launchpad config may carry several sections.
    given = {key: value for key, value in overrides.model_dump().items()
             if value is not None and key in type(defaults).model_fields}
    try:
        return type(defaults).model_validate(defaults.model_dump() | given)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"launchpad config for '{section}': {error}") from error


def as_metadata(section: str, values: BaseModel) -> dict[str, object]:
    """Effective settings as flat metadata/params keys, e.g. ``tuning.n_trials``."""
    return {f"{section}.{key}": value for key, value in values.model_dump().items()}


def _launchpad_type(annotation: Any) -> Any:
    """The launchpad's type for a YAML field's: YAML lists are tuples in the schema (strict
    pydantic) and lists in Dagster's config; constraints stay with the schema, which checks
    the merged values (``effective``)."""
    annotation = get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
    if get_origin(annotation) is tuple:
        return list[get_args(annotation)[0]]
    return annotation


def launchpad_fields(section: type[BaseModel], yaml_key: str,
                     exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of the YAML schema ``section`` as launchpad fields: every one optional
    (empty = the YAML's value, see ``effective``), its description kept, the YAML key and
    default added."""
    fields: dict[str, Any] = {}
    for name, info in section.model_fields.items():
        if name in exclude:
            continue
        default = info.get_default(call_default_factory=True)
        shown = list(default) if isinstance(default, tuple) else default
        text = (f"{info.description.rstrip('.')} " if info.description else "") + \
            f"(YAML {yaml_key}.{name}, {shown})"
        fields[name] = (_launchpad_type(info.annotation) | None, Field(None, description=text))
    return fields


def launchpad_config(name: str, *field_sets: dict[str, Any], doc: str) -> type[dg.Config]:
    """A ``dg.Config`` class made of ``launchpad_fields`` (and run-only fields given as
    ``{name: (type, Field(...))}``); a name in two sets is an error."""
    fields: dict[str, Any] = {}
    for field_set in field_sets:
        repeated = sorted(set(fields) & set(field_set))
        if repeated:
            raise ValueError(f"launchpad config {name}: field '{repeated[0]}' declared twice")
        fields |= field_set
    return create_model(name, __base__=dg.Config, __doc__=doc, **fields)
