"""Dataset description: a small YAML file that tells the pipeline what a churn table looks like.

The schema is typed (pydantic): a missing key, an unknown key or a value of the wrong kind is
an error that names the key, so a typo never silently falls back to a default. Relative
paths (``source``, ``landing``) resolve against the YAML file's folder, so a config works
from any working directory.

The optional ``tuning``, ``promotion`` and ``drift`` sections are the dataset's defaults for
run-level settings; a run can override them from the launchpad (see ``defs/assets``).
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "dataset.yaml"
CONFIG_ENV_VAR = "CHURN_DATASET_CONFIG"
REQUIRED_KEYS = ("source", "target", "positive_label", "id_column", "model_name")
RETRAIN_POLICIES = ("on_drift", "always")

# YAML lists become tuples; lax parsing only for these (a list is not a tuple to strict mode).
Columns = Annotated[tuple[str, ...], Strict(False)]
Bound = Annotated[tuple[float | None, float | None], Strict(False)]


class ConfigError(ValueError):
    """The dataset YAML is missing a key, has an unknown one, or a value of the wrong kind."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SplitConfig(_Section):
    valid_fraction: float = 0.15
    test_fraction: float = 0.15
    salt: str = "churn-split-v1"

    @model_validator(mode="after")
    def _leaves_room_for_training(self) -> SplitConfig:
        if not (self.valid_fraction > 0 and self.test_fraction > 0
                and self.valid_fraction + self.test_fraction < 0.9):
            raise ValueError("'split' fractions must be positive and leave at least 10% "
                             "for training")
        return self


class TuningConfig(_Section):
    n_trials: int = Field(50, ge=1)
    timeout_seconds: float | None = 600.0
    seed: int = 42
    early_stopping_rounds: int = Field(50, ge=1)
    max_estimators: int = Field(2000, ge=1)
    n_jobs: int = 2
    # Trials fitted at once, each with n_jobs // parallel_trials threads: XGBoost's threads
    # scale poorly on small tables, whole trials side by side do not.
    parallel_trials: int = Field(2, ge=1)
    sample_rows: int | None = Field(50_000, ge=1000)  # tune on a stratified sample above this
    # Refit the chosen parameters on train + valid before the test scoring (rounds scaled
    # from early stopping). Off: on train/valid-only evidence it did not help (see issue 7).
    refit_on_train_valid: bool = False
    # Small tables: score each trial by stratified k-fold CV over train + valid (mean
    # out-of-fold log-loss) instead of the one valid split, whose noise can pick the
    # parameters. The final fit, early stopping and threshold still use train and valid.
    cv_folds: int | None = Field(None, ge=2, le=20)


class SegmentSpec(_Section):
    """A numeric column cut into left-closed bands, e.g. tenure [0, 12, 24, 48, .inf]."""

    column: str
    bins: Annotated[tuple[float, ...], Strict(False)] = ()


class PromotionConfig(_Section):
    """The champion/challenger rule (``registry.promotion_rule``); defaults as documented."""

    min_f1: float = 0.55
    min_roc_auc: float = 0.75
    min_delta: float = 0.0
    roc_auc_margin: float = Field(0.02, ge=0)
    resamples: int = Field(1000, ge=100)
    seed: int = 0
    level: float = Field(0.95, gt=0, lt=1)
    # Column names (categorical) or {column, bins} (numeric bands); none by default.
    segments: Annotated[tuple[str | SegmentSpec, ...], Strict(False)] = ()
    segment_margin: float = Field(0.05, ge=0)
    segment_min_rows: int = Field(100, ge=1)


class DriftConfig(_Section):
    drifted_share: float = 0.5
    wasserstein_threshold: float = 0.1
    stattest_p_value: float = 0.05
    jensen_shannon_threshold: float = 0.1
    large_sample_size: int = 1000
    retrain_policy: str = "on_drift"  # or "always": retrain on every new snapshot
    # The retraining policy (churn_assets.monitoring.retraining_policy): performance decay
    # retrains; drift alone only after `consecutive_drifted` drifted snapshots in a row;
    # never twice within `cooldown_hours` unless forced.
    consecutive_drifted: int = Field(2, ge=1)
    cooldown_hours: float = Field(24.0, ge=0)
    retrain_on_decay: bool = True
    decay_margin: float = Field(0.02, ge=0)  # tolerated drop below the champion's test figure
    bootstrap_resamples: int = Field(1000, ge=100)

    @field_validator("retrain_policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in RETRAIN_POLICIES:
            raise ValueError(f"must be one of {', '.join(RETRAIN_POLICIES)}")
        return value


class ExpectationsConfig(_Section):
    min_rows: int = 200
    ranges: dict[str, Bound] = Field(default_factory=dict)
    value_sets: dict[str, Annotated[tuple[Any, ...], Strict(False)]] = Field(default_factory=dict)


class EconomicsConfig(_Section):
    """Campaign economics (optional; see ``model.economics`` for the profit formula)."""

    contact_cost: float = Field(ge=0)
    incentive_cost: float = Field(ge=0)
    retention_rate: float = Field(gt=0, le=1)  # share of contacted churners the offer keeps
    customer_value: float | str  # a number or arithmetic over columns, e.g. MonthlyCharges * 12

    @field_validator("customer_value")
    @classmethod
    def _arithmetic_only(cls, value: float | str) -> float | str:
        from churn_assets.model.economics import expression_columns

        expression_columns(value)  # refuses anything but + - * / over numbers and columns
        return value


DECISION_POLICIES = ("f1", "expected_profit", "capacity")


class DecisionConfig(_Section):
    """Whom to contact (``model.decision_policy``): f1 (default), expected_profit, capacity."""

    policy: str = "f1"
    capacity: float | None = Field(None, gt=0)  # a count (>= 1) or a share of the list (< 1)

    @model_validator(mode="after")
    def _complete(self) -> DecisionConfig:
        if self.policy not in DECISION_POLICIES:
            raise ValueError(f"'decision.policy' must be one of {', '.join(DECISION_POLICIES)}")
        if self.policy == "capacity" and self.capacity is None:
            raise ValueError("'decision.capacity' is required by the capacity policy")
        return self


ENGINEERED_KINDS = ("tenure_band", "ratio", "mapping")


class EngineeredFeature(_Section):
    """One engineered feature. ``tenure_band``: the band index of ``inputs[0]`` by the lower
    ``edges``; ``ratio``: ``inputs[0] / inputs[1]`` where the divisor is positive, else
    ``inputs[2]`` if given; ``mapping``: ``inputs[0]``'s text (trimmed, any case) looked up
    in ``mapping``. Computed only when every input is a kept feature column."""

    name: str
    kind: str
    inputs: Columns
    edges: Annotated[tuple[float, ...], Strict(False)] = ()
    mapping: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete_for_its_kind(self) -> EngineeredFeature:
        counts = {"tenure_band": (1,), "ratio": (2, 3), "mapping": (1,)}
        where = f"engineered feature '{self.name}'"
        if self.kind not in ENGINEERED_KINDS:
            raise ValueError(f"{where}: kind '{self.kind}' is not one of "
                             f"{', '.join(ENGINEERED_KINDS)}")
        if len(self.inputs) not in counts[self.kind]:
            raise ValueError(f"{where}: a {self.kind} reads "
                             f"{' or '.join(map(str, counts[self.kind]))} input column(s), "
                             f"got {len(self.inputs)}")
        if self.kind == "tenure_band" and (not self.edges
                                           or list(self.edges) != sorted(set(self.edges))):
            raise ValueError(f"{where}: 'edges' must be increasing lower band edges")
        if self.kind == "mapping" and not self.mapping:
            raise ValueError(f"{where}: 'mapping' must map values to numbers")
        return self

    def declaration(self) -> dict[str, Any]:
        """Plain JSON-able data, the form the shipped preprocessor reads."""
        return {"name": self.name, "kind": self.kind, "inputs": list(self.inputs),
                **({"edges": list(self.edges)} if self.edges else {}),
                **({"mapping": dict(self.mapping)} if self.mapping else {})}


class DatasetConfig(_Section):
    source: str
    target: str
    positive_label: str | int | float
    id_column: str
    model_name: str
    categorical: Columns = ()
    numeric: Columns = ()
    drop: Columns = ()
    engineered: Annotated[tuple[EngineeredFeature, ...], Strict(False)] = ()
    landing: str = "data/landing/"
    experiment_name: str = "churn_assets"
    split: SplitConfig = SplitConfig()
    tuning: TuningConfig = TuningConfig()
    promotion: PromotionConfig = PromotionConfig()
    drift: DriftConfig = DriftConfig()
    expectations: ExpectationsConfig = ExpectationsConfig()
    economics: EconomicsConfig | None = None  # off by default: no expected values
    decision: DecisionConfig = DecisionConfig()
    config_path: str = ""  # where it was read from; set by the loader, never by the YAML

    @model_validator(mode="after")
    def _engineered_names_unique(self) -> DatasetConfig:
        names = [feature.name for feature in self.engineered]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"'engineered' names must be unique: {', '.join(repeated)}")
        return self

    @model_validator(mode="after")
    def _policy_has_economics(self) -> DatasetConfig:
        if self.decision.policy != "f1" and self.economics is None:
            raise ValueError(f"'decision.policy' {self.decision.policy} needs an 'economics' "
                             "section")
        return self

    def engineered_declarations(self) -> list[dict[str, Any]]:
        return [feature.declaration() for feature in self.engineered]


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
    return sorted(set(model.model_fields) - {"config_path"})


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error as a sentence that names the YAML key."""
    loc = tuple(p for p in error["loc"] if not str(p).startswith(("function-", "union[")))
    key = ".".join(str(p) for p in loc if not isinstance(p, int))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}' (known: {', '.join(_known_keys(DatasetConfig, loc))})"
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


def _resolve(location: str, base: Path) -> str:
    if "://" in location or Path(location).is_absolute():
        return location
    resolved = str((base / location).resolve())
    return resolved + "/" if location.endswith("/") else resolved


def parse_dataset_config(raw: Any, base_dir: Path, config_path: str = "") -> DatasetConfig:
    """Validate a parsed YAML mapping and turn it into a DatasetConfig."""
    if not isinstance(raw, dict):
        raise ConfigError("the dataset config must be a YAML mapping")
    missing = [key for key in REQUIRED_KEYS if raw.get(key) in (None, "")]
    if missing:
        raise ConfigError(f"missing required key '{missing[0]}'")
    if "config_path" in raw:
        raise ConfigError("unknown key 'config_path': it is set by the loader, not the YAML")
    if isinstance(raw["positive_label"], bool):
        raise ConfigError("'positive_label' was read as a boolean: quote it, e.g. \"Yes\"")
    values = {key: ([] if value is None and key in ("categorical", "numeric", "drop", "engineered")
                    else value)
              for key, value in raw.items()}
    try:
        config = DatasetConfig.model_validate(values)
    except ValidationError as error:
        raise ConfigError(_describe(error.errors()[0])) from None
    return config.model_copy(update={
        "source": _resolve(str(config.source), base_dir),
        "landing": _resolve(str(config.landing), base_dir),
        "config_path": config_path,
    })


def config_file_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The YAML named by ``path``, else ``$CHURN_DATASET_CONFIG``, else the bundled one."""
    return Path(path or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH).expanduser()


def load_dataset_config(path: str | os.PathLike[str] | None = None) -> DatasetConfig:
    """Load and validate the dataset YAML (see ``config_file_path`` for which one)."""
    chosen = config_file_path(path)
    if not chosen.is_file():
        raise ConfigError(f"dataset config not found: {chosen}")
    with chosen.open() as handle:
        raw = yaml.safe_load(handle)
    try:
        return parse_dataset_config(raw, chosen.resolve().parent, str(chosen.resolve()))
    except ConfigError as error:
        raise ConfigError(f"{chosen}: {error}") from error
