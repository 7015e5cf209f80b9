"""Dataset description: a small YAML file that tells the pipeline what a churn table looks like.

Relative paths in the YAML (``source``, ``landing``) are resolved against the YAML file's
folder, so a config works from any working directory. Unknown keys are errors that name
the key: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "dataset.yaml"
CONFIG_ENV_VAR = "CHURN_DATASET_CONFIG"


class ConfigError(ValueError):
    """The dataset YAML is missing a key, has an unknown one, or a value of the wrong kind."""


@dataclass(frozen=True)
class SplitConfig:
    valid_fraction: float = 0.15
    test_fraction: float = 0.15
    salt: str = "churn-split-v1"


@dataclass(frozen=True)
class TuningConfig:
    n_trials: int = 50
    timeout_seconds: float | None = 600.0
    seed: int = 42
    early_stopping_rounds: int = 50
    max_estimators: int = 2000
    n_jobs: int = 2


@dataclass(frozen=True)
class PromotionConfig:
    min_f1: float = 0.55
    min_roc_auc: float = 0.75
    min_delta: float = 0.0


@dataclass(frozen=True)
class DriftConfig:
    drifted_share: float = 0.5
    wasserstein_threshold: float = 0.1
    stattest_p_value: float = 0.05
    jensen_shannon_threshold: float = 0.1
    large_sample_size: int = 1000
    retrain_policy: str = "on_drift"  # or "always": retrain on every new snapshot


@dataclass(frozen=True)
class ExpectationsConfig:
    min_rows: int = 200
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    value_sets: dict[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetConfig:
    source: str
    target: str
    positive_label: Any
    id_column: str
    model_name: str
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    landing: str = "data/landing/"
    experiment_name: str = "churn_assets"
    split: SplitConfig = SplitConfig()
    tuning: TuningConfig = TuningConfig()
    promotion: PromotionConfig = PromotionConfig()
    drift: DriftConfig = DriftConfig()
    expectations: ExpectationsConfig = ExpectationsConfig()
    config_path: str = ""


_REQUIRED = ("source", "target", "positive_label", "id_column", "model_name")
_SECTIONS: dict[str, type] = {
    "split": SplitConfig,
    "tuning": TuningConfig,
    "promotion": PromotionConfig,
    "drift": DriftConfig,
    "expectations": ExpectationsConfig,
}
_LISTS = ("categorical", "numeric", "drop")


def _check_kind(key: str, default: Any, value: Any) -> None:
    """Scalars must match their default's kind (an int is fine where a float is expected)."""
    if value is None or default is None or default is dataclasses.MISSING:
        return
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}.get(type(default))
    if kinds and (not isinstance(value, kinds) or (isinstance(value, bool) and kinds != (bool,))):
        raise ConfigError(f"'{key}' must be of type {type(default).__name__}, got {value!r}")


def _build_section(name: str, cls: type, raw: Any) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"'{name}' must be a mapping, got {type(raw).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown key '{name}.{unknown[0]}' (known: {', '.join(sorted(known))})")
    values = dict(raw)
    for spec in dataclasses.fields(cls):
        _check_kind(f"{name}.{spec.name}", spec.default, values.get(spec.name, spec.default))
    try:
        if cls is ExpectationsConfig:
            values["ranges"] = {k: tuple(v) for k, v in (raw.get("ranges") or {}).items()}
            values["value_sets"] = {k: tuple(v) for k, v in (raw.get("value_sets") or {}).items()}
        return cls(**values)
    except (TypeError, AttributeError) as error:
        raise ConfigError(f"'{name}' has a value of the wrong kind: {error}") from error


def _resolve(location: str, base: Path) -> str:
    if "://" in location or Path(location).is_absolute():
        return location
    resolved = str((base / location).resolve())
    return resolved + "/" if location.endswith("/") else resolved


def parse_dataset_config(raw: Any, base_dir: Path, config_path: str = "") -> DatasetConfig:
    """Validate a parsed YAML mapping and turn it into a DatasetConfig."""
    if not isinstance(raw, dict):
        raise ConfigError("the dataset config must be a YAML mapping")
    missing = [key for key in _REQUIRED if raw.get(key) in (None, "")]
    if missing:
        raise ConfigError(f"missing required key '{missing[0]}'")
    top_level = {f.name for f in dataclasses.fields(DatasetConfig)} - {"config_path"}
    unknown = sorted(set(raw) - top_level)
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}' (known: {', '.join(sorted(top_level))})")
    values: dict[str, Any] = {k: v for k, v in raw.items() if k not in _SECTIONS}
    for name in _LISTS:
        items = raw.get(name) or []
        if not isinstance(items, list):
            raise ConfigError(f"'{name}' must be a list of column names")
        values[name] = tuple(str(item) for item in items)
    for name, cls in _SECTIONS.items():
        values[name] = _build_section(name, cls, raw.get(name))
    if isinstance(raw["positive_label"], bool):
        raise ConfigError("'positive_label' was read as a boolean: quote it, e.g. \"Yes\"")
    if values["drift"].retrain_policy not in ("on_drift", "always"):
        raise ConfigError("'drift.retrain_policy' must be 'on_drift' or 'always'")
    split = values["split"]
    if not (split.valid_fraction > 0 and split.test_fraction > 0
            and split.valid_fraction + split.test_fraction < 0.9):
        raise ConfigError("'split' fractions must be positive and leave at least 10% for training")
    values["source"] = _resolve(str(raw["source"]), base_dir)
    values["landing"] = _resolve(str(raw.get("landing", "data/landing/")), base_dir)
    values["config_path"] = config_path
    return DatasetConfig(**values)


def load_dataset_config(path: str | os.PathLike[str] | None = None) -> DatasetConfig:
    """Load the YAML named by ``path``, else ``$CHURN_DATASET_CONFIG``, else the bundled one."""
    chosen = Path(path or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH).expanduser()
    if not chosen.is_file():
        raise ConfigError(f"dataset config not found: {chosen}")
    with chosen.open() as handle:
        raw = yaml.safe_load(handle)
    try:
        return parse_dataset_config(raw, chosen.resolve().parent, str(chosen.resolve()))
    except ConfigError as error:
        raise ConfigError(f"{chosen}: {error}") from error
