"""The dataset YAML's sections that the model layer reads and owns: ``tuning``, ``model``
(which families compete), ``economics`` and ``decision``, with the names they accept taken
from their owners here (``families``, ``decision_policy``, ``economics``).
``dataset_config.DatasetConfig`` gathers them with the other sections."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, Strict, field_validator, model_validator

from churn_assets.config_section import Section
from churn_assets.model.decision_policy import POLICIES as DECISION_POLICIES
from churn_assets.model.economics import expression_columns
from churn_assets.model.families import DEFAULT_FAMILY, FAMILY_NAMES

DEFAULT_FAMILIES = (DEFAULT_FAMILY,)


class TuningConfig(Section):
    n_trials: int = Field(50, ge=1, description="Finished trials the studies must hold, shared "
                          "by the model families; a re-run on the same data resumes them.")
    timeout_seconds: float | None = Field(600.0, description="Stop tuning after this many "
                                          "seconds (shared by the families); 0 or empty: no "
                                          "limit.")
    seed: int = Field(42, description="Sampler and model seed.")
    early_stopping_rounds: int = Field(50, ge=1, description="Rounds without a better valid "
                                       "log-loss before boosting stops.")
    max_estimators: int = Field(2000, ge=1, description="Most boosting rounds (or trees).")
    n_jobs: int = Field(2, description="Threads of the training step.")
    # Trials fitted at once, each with n_jobs // parallel_trials threads: the libraries'
    # threads scale poorly on small tables, whole trials side by side do not.
    parallel_trials: int = Field(2, ge=1, description="Trials fitted side by side, sharing "
                                 "n_jobs.")
    sample_rows: int | None = Field(50_000, ge=1000, description="Tune on a stratified sample "
                                    "of this many train (and valid) rows above it.")
    # The final fit's time grows with its rows (1,432 rounds on 700k rows: 229 s of a 1M-row
    # run); past a few hundred thousand rows the test ROC-AUC hardly moves (see issue 19).
    fit_rows: int | None = Field(250_000, ge=1000, description="Fit the chosen parameters on "
                                 "a stratified sample of this many train rows (early stopping "
                                 "on as many valid rows) above it; empty: all rows. Threshold "
                                 "and metrics still use every valid and test row.")
    # Off: on train/valid-only evidence it did not help (see issue 7).
    refit_on_train_valid: bool = Field(False, description="Refit the chosen parameters on "
                                       "train + valid (rounds scaled from early stopping) "
                                       "before the test scoring.")
    # The final fit, early stopping and threshold still use train and valid.
    cv_folds: int | None = Field(None, ge=2, le=20, description="Small tables: score each "
                                 "trial by stratified k-fold CV over train + valid (mean "
                                 "out-of-fold log-loss) instead of the valid split alone.")
    # auto by measurement: F1 on fresh rows higher out of fold on small generated tables
    # (docs/trust.md, benchmarks/threshold_bench.py); churn_assets.model.threshold_choice.
    threshold_from: str = Field(
        "auto", description="Where the F1-optimal threshold is chosen: the valid split, out "
        "of fold over train + valid (cv_folds or 5 folds, the chosen parameters refitted), "
        "or auto: out of fold below 200 valid churners.")

    @field_validator("threshold_from")
    @classmethod
    def _known_threshold_source(cls, value: str) -> str:
        if value not in ("auto", "valid", "out_of_fold"):
            raise ValueError(f"unknown threshold_from '{value}': use auto, valid or out_of_fold")
        return value


class ModelConfig(Section):
    """Which model families compete for the candidate (``churn_assets.model.families``)."""

    # Each family gets an equal share of the tuning budget (trials and timeout), in its own
    # study; the candidate is the family whose best model has the lowest valid log-loss.
    families: Annotated[tuple[str, ...], Strict(False)] = Field(
        DEFAULT_FAMILIES, min_length=1,
        description="Families that compete: " + ", ".join(FAMILY_NAMES) + "; each gets an "
        "equal share of the tuning budget, the lowest valid log-loss wins.")
    # Per family, per parameter: [low, high] for a range, a list for choices, e.g.
    # {xgboost: {max_depth: [2, 8]}}. Checked against the family's space when tuning starts.
    search_space: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-family search-space overrides.")

    @field_validator("families")
    @classmethod
    def _known_families(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in FAMILY_NAMES]
        if unknown:
            raise ValueError(f"unknown family '{unknown[0]}' (known: {', '.join(FAMILY_NAMES)})")
        if len(set(value)) != len(value):
            raise ValueError("lists a family twice")
        return value

    @field_validator("search_space")
    @classmethod
    def _families_named(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = [name for name in value if name not in FAMILY_NAMES]
        if unknown:
            raise ValueError(f"names unknown family '{unknown[0]}' "
                             f"(known: {', '.join(FAMILY_NAMES)})")
        return value


class EconomicsConfig(Section):
    """Campaign economics (optional; see ``model.economics`` for the profit formula)."""

    contact_cost: float = Field(ge=0, description="Cost of one contact.")
    incentive_cost: float = Field(ge=0, description="The offer, paid by every contacted "
                                  "customer who accepts it.")
    retention_rate: float = Field(gt=0, le=1, description="Share of contacted churners the "
                                  "offer keeps.")
    customer_value: float | str = Field(description="A number, or + - * / over columns and "
                                        "numbers, e.g. MonthlyCharges * 12.")

    @field_validator("customer_value")
    @classmethod
    def _arithmetic_only(cls, value: float | str) -> float | str:
        expression_columns(value)  # refuses anything but + - * / over numbers and columns
        return value


class DecisionConfig(Section):
    """Whom to contact (``model.decision_policy``): f1 (default), expected_profit, capacity."""

    policy: str = Field("f1", description="Whom to contact: f1 (the F1 threshold), "
                        "expected_profit (expected value > 0), capacity (the best N by "
                        "expected value); the last two need 'economics'.")
    capacity: float | None = Field(None, gt=0, description="The capacity policy's size: a "
                                   "count (>= 1) or a share of the list (< 1).")

    @model_validator(mode="after")
    def _complete(self) -> DecisionConfig:
        if self.policy not in DECISION_POLICIES:
            raise ValueError(f"'decision.policy' must be one of {', '.join(DECISION_POLICIES)}")
        if self.policy == "capacity" and self.capacity is None:
            raise ValueError("'decision.capacity' is required by the capacity policy")
        return self
