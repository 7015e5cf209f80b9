"""Experiment configs: one YAML of run settings, one training run, one candidate.

An experiment config holds sections of the dataset YAML that are run settings (``tuning``,
``promotion``, ``model``) plus an optional ``description``. Its values are laid
over the dataset YAML's sections key by key and validated by the same schema, so every key
those sections accept is accepted here with no code, and a typo is an error naming the key.
Dataset facts (source, target, columns) cannot be changed by an experiment.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml
from pydantic import ValidationError

from churn_assets.config_errors import ConfigError, describe_error
from churn_assets.dataset_config import DatasetConfig

# Sections an experiment may set; one that the dataset schema does not have yet is ignored here
# (and so refused as unknown). Adding a run-settings section is adding its name.
RUN_SETTING_SECTIONS = ("tuning", "promotion", "model")
EXPERIMENT_SUFFIXES = (".yaml", ".yml")
MAX_EXPERIMENT_BYTES = 64 * 1024


class ExperimentConfigError(ConfigError):
    """The experiment config is not a mapping of known run settings."""


def content_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def allowed_sections() -> tuple[str, ...]:
    return tuple(s for s in RUN_SETTING_SECTIONS if s in DatasetConfig.model_fields)


def apply_experiment_config(config: DatasetConfig, text: str, source: str) -> DatasetConfig:
    """``config`` with the experiment's sections applied; ExperimentConfigError in one line
    naming ``source`` and the key otherwise."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ExperimentConfigError(f"experiment config {source}: not valid YAML{where}") \
            from None
    sections = allowed_sections()
    if not isinstance(raw, dict) or not raw:
        raise ExperimentConfigError(f"experiment config {source}: must be a YAML mapping of "
                                    f"{', '.join(sections)}")
    updates: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "description":
            continue
        if key not in sections:
            raise ExperimentConfigError(
                f"experiment config {source}: unknown key '{key}' (an experiment sets: "
                f"description, {', '.join(sections)})")
        if not isinstance(value, dict):
            raise ExperimentConfigError(f"experiment config {source}: '{key}' must be a "
                                        f"mapping, got {type(value).__name__}")
        current = getattr(config, key)
        try:
            updates[key] = type(current).model_validate(current.model_dump() | value)
        except ValidationError as error:
            first = error.errors()[0]
            message = describe_error(first | {"loc": (key, *first["loc"])}, DatasetConfig)
            raise ExperimentConfigError(f"experiment config {source}: {message}") from None
    return config.model_copy(update=updates | {"experiment_config": source})
