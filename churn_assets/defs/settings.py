"""Run-level settings: a launchpad value overrides the dataset YAML's default, field by field.

Each asset declares its own ``dg.Config`` next to it (one hop from the setting to its use);
this module only merges such a config over the YAML section of the same key names.
"""

from __future__ import annotations

from typing import TypeVar

import dagster as dg
from pydantic import BaseModel

from churn_assets.dataset_config import ConfigError

Section = TypeVar("Section", bound=BaseModel)

OWNERS = ["team:ml-platform"]


def effective(defaults: Section, overrides: dg.Config, section: str) -> Section:
    """``defaults`` (a dataset YAML section) with every non-empty launchpad value applied."""
    given = {key: value for key, value in overrides.model_dump().items() if value is not None}
    try:
        return type(defaults).model_validate(defaults.model_dump() | given)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"launchpad config for '{section}': {error}") from error


def as_metadata(section: str, values: BaseModel) -> dict[str, object]:
    """Effective settings as flat metadata/params keys, e.g. ``tuning.n_trials``."""
    return {f"{section}.{key}": value for key, value in values.model_dump().items()}
