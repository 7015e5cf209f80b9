"""Dataset description: a small YAML file that tells the pipeline what a churn table looks like.

The schema is typed (pydantic): a missing key, an unknown key or a value of the wrong kind is
an error that names the key, so a typo never silently falls back to a default. Relative
paths (``source``, ``landing``) resolve against the YAML file's folder, so a config works
from any working directory.

The optional ``tuning``, ``promotion`` and ``drift`` sections are the dataset's defaults for
run-level settings; a run can override them from the launchpad (see ``defs/assets``).
Here: the top-level keys and the loader; the sections are ``dataset_sections`` and, those the
model layer owns, ``model.sections``; the error wording ``config_errors``, SQL URL recognition
``sql_urls``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import Field, Strict, ValidationError, model_validator

from churn_assets.config_errors import ConfigError, describe_error
from churn_assets.config_section import Section
from churn_assets.dataset_sections import (
    Columns,
    DriftConfig,
    EngineeredFeature,
    ExpectationsConfig,
    LeakageConfig,
    PromotionConfig,
    ServingConfig,
    SplitConfig,
)
from churn_assets.environment import PROJECT_ROOT
from churn_assets.model.sections import DecisionConfig, EconomicsConfig, ModelConfig, TuningConfig
from churn_assets.sql_urls import is_sql_url

if TYPE_CHECKING:
    from churn_assets.model.economics import Economics

DEFAULT_CONFIG_PATH = PROJECT_ROOT / "dataset.yaml"
REQUIRED_KEYS = ("source", "target", "positive_label", "model_name")
# Without `id_column` the loader names this derived key column; ingestion computes it from
# each row's content (churn_assets.data.row_key), so every module reading `id_column` works.
DERIVED_ID_COLUMN = "row_key"


class DatasetConfig(Section):
    source: str = Field(description="Local path or s3://bucket/key (.csv, .csv.gz, .parquet, "
                        ".xlsx), or an SQLAlchemy URL such as postgresql://host/db.")
    target: str = Field(description="The target column.")
    positive_label: str | int | float = Field(description="The target value meaning churned "
                                              "(quote \"Yes\": YAML reads bare Yes as true).")
    id_column: str = Field(DERIVED_ID_COLUMN, description="Unique id, never a feature, read "
                           "as text, the split hash key; without it a content hash 'row_key' "
                           "is derived.")
    model_name: str = Field(description="The registered model's name in MLflow.")
    # SQL sources (``source`` is an SQLAlchemy URL): exactly one of these.
    source_table: str = Field("", description="SQL source: the table to read.")
    source_query: str = Field("", description="SQL source: the query to read instead.")
    sheet: str = Field("", description="The .xlsx worksheet; empty: the first.")
    watermark_column: str = Field("", description="SQL source: a column such as updated_at "
                                  "that the landing sensor watches for a newer maximum.")
    categorical: Columns = Field((), description="Columns forced to be categorical features.")
    numeric: Columns = Field((), description="Columns forced to be numeric features.")
    drop: Columns = Field((), description="Columns never used as features (engineered ones "
                          "included). Ids, near-unique text, constant and empty columns are "
                          "dropped anyway, with the reason.")
    engineered: Annotated[tuple[EngineeredFeature, ...], Strict(False)] = Field(
        (), description="Engineered features (table below); each is computed only when all "
        "its inputs are kept feature columns.")
    landing: str = Field("data/landing/", description="Where new_customer_data_sensor looks: "
                         "a folder or s3://bucket/prefix/.")
    experiment_configs: str = Field("configs/", description="Where experiment_config_sensor "
                                    "looks for experiment configs: a folder or "
                                    "s3://bucket/prefix/.")
    experiment_name: str = Field("churn_assets", description="The MLflow experiment.")
    split: SplitConfig = SplitConfig()
    tuning: TuningConfig = TuningConfig()
    model: ModelConfig = ModelConfig()
    promotion: PromotionConfig = PromotionConfig()
    drift: DriftConfig = DriftConfig()
    expectations: ExpectationsConfig = ExpectationsConfig()
    leakage: LeakageConfig = LeakageConfig()
    economics: EconomicsConfig | None = None  # off by default: no expected values
    decision: DecisionConfig = DecisionConfig()
    serving: ServingConfig = ServingConfig()  # the online service (churn_assets.serving)
    config_path: str = ""  # where it was read from; set by the loader, never by the YAML
    experiment_config: str = ""  # the experiment config applied, if any; never by the YAML
    id_column_derived: bool = False  # no `id_column` in the YAML; set by the loader

    @property
    def is_sql_source(self) -> bool:
        return is_sql_url(self.source)

    @model_validator(mode="after")
    def _sql_source_complete(self) -> DatasetConfig:
        if is_sql_url(self.source) and bool(self.source_table) == bool(self.source_query):
            raise ValueError("'source' is an SQL URL: it needs exactly one of 'source_table' or "
                             "'source_query'")
        if not is_sql_url(self.source) and (self.source_table or self.source_query):
            raise ValueError("'source_table'/'source_query' need an SQL 'source' URL such as "
                             "postgresql://host/db")
        return self

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

    @model_validator(mode="after")
    def _profit_metric_has_economics(self) -> DatasetConfig:
        profit = [key for key in ("metric", "segment_metric")
                  if getattr(self.promotion, key) == "expected_profit"]
        if profit and self.economics is None:
            raise ValueError(f"'promotion.{profit[0]}' expected_profit needs an 'economics' "
                             "section (contact_cost, incentive_cost, retention_rate, "
                             "customer_value)")
        return self

    def campaign_economics(self) -> Economics | None:
        """The ``economics`` section as ``model.economics.Economics`` (None without it)."""
        from churn_assets.model.economics import Economics

        return Economics.from_dict(self.economics.model_dump()) if self.economics else None

    def engineered_declarations(self) -> list[dict[str, Any]]:
        return [feature.declaration() for feature in self.engineered]


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
    for key in ("config_path", "experiment_config", "id_column_derived"):
        if key in raw:
            raise ConfigError(f"unknown key '{key}': it is set by the loader, not the YAML")
    if isinstance(raw["positive_label"], bool):
        raise ConfigError("'positive_label' was read as a boolean: quote it, e.g. \"Yes\"")
    values = {key: ([] if value is None and key in ("categorical", "numeric", "drop", "engineered")
                    else value)
              for key, value in raw.items()}
    if values.get("id_column") in (None, ""):
        values.pop("id_column", None)
    try:
        config = DatasetConfig.model_validate(values)
    except ValidationError as error:
        raise ConfigError(describe_error(error.errors()[0], DatasetConfig)) from None
    return config.model_copy(update={
        "id_column_derived": raw.get("id_column") in (None, ""),
        "source": (config.source if config.is_sql_source
                   else _resolve(str(config.source), base_dir)),
        "landing": _resolve(str(config.landing), base_dir),
        "experiment_configs": _resolve(str(config.experiment_configs), base_dir),
        "config_path": config_path,
    })


def config_file_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The YAML named by ``path``, else the bundled one (the entry points pass
    ``$CHURN_DATASET_CONFIG`` through ``Settings.dataset_config``)."""
    return Path(path or DEFAULT_CONFIG_PATH).expanduser()


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
