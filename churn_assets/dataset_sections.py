"""The sections of the dataset YAML (``split``, ``promotion``, ``drift``, ``leakage``,
``expectations``, ``engineered``, ``serving``; the model layer owns ``tuning``, ``model``,
``economics`` and ``decision``: ``model.sections``): one pydantic class each, strict, unknown
keys refused. ``dataset_config.DatasetConfig`` holds them; the launchpad's run settings are
derived from the same fields (``defs/settings.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, Strict, field_validator, model_validator

from churn_assets.config_section import Section
from churn_assets.model.metric_registry import FLOOR_METRICS, METRICS, PROMOTION_METRICS

RETRAIN_POLICIES = ("on_drift", "always")

# YAML lists become tuples; lax parsing only for these (a list is not a tuple to strict mode).
Columns = Annotated[tuple[str, ...], Strict(False)]
Bound = Annotated[tuple[float | None, float | None], Strict(False)]


class SplitConfig(Section):
    valid_fraction: float = Field(0.15, description="Share of customers in the valid split.")
    test_fraction: float = Field(0.15, description="Share of customers in the test split.")
    salt: str = Field("churn-split-v1", description="Salt of the id hash that assigns splits; "
                      "a new salt reshuffles every customer.")

    @model_validator(mode="after")
    def _leaves_room_for_training(self) -> SplitConfig:
        if not (self.valid_fraction > 0 and self.test_fraction > 0
                and self.valid_fraction + self.test_fraction < 0.9):
            raise ValueError("'split' fractions must be positive and leave at least 10% "
                             "for training")
        return self


class SegmentSpec(Section):
    """A numeric column cut into left-closed bands, e.g. tenure [0, 12, 24, 48, .inf]."""

    column: str = Field(description="A column of the raw rows.")
    bins: Annotated[tuple[float, ...], Strict(False)] = Field(
        (), description="Band edges of a numeric column; empty for a categorical one.")


class PromotionConfig(Section):
    """The champion/challenger rule (``registry.promotion_rule``); defaults as documented.
    The launchpad's ``PromotionSettings`` and ``TrialSettings`` are derived from these fields."""

    metric: str = Field("roc_auc", description="Metric the candidate must beat the champion "
                        "on: " + ", ".join(PROMOTION_METRICS) + " (expected_profit: per "
                        "customer, needs 'economics'; model.metric_registry).")
    # Opt-in: absolute floors fit one table's base rate (F1 of flagging everyone is
    # 2p/(1+p)); by default the table's own baselines judge a first model (`baselines`).
    min_f1: float | None = Field(None, description="Floor on test F1; empty: none.")
    min_roc_auc: float | None = Field(None, description="Floor on test ROC-AUC; empty: none.")
    floors: dict[str, float] = Field(default_factory=dict, description="Floors on test "
                                     + ", ".join(FLOOR_METRICS) + "; min_f1 and min_roc_auc "
                                     "are floors too.")
    baselines: bool = Field(True, description="A first model must beat the test rows' own "
                            "baselines: ROC-AUC interval above 0.5, F1 above flagging "
                            "everyone, not clearly worse than a logistic regression "
                            "(registry.first_model).")
    baseline_margin: float = Field(0.02, ge=0, description="ROC-AUC a first model may lose "
                                   "to the logistic regression (its delta's whole interval "
                                   "below minus this refuses it).")
    min_delta: float = Field(0.0, description="Practical margin: the lower bound of the "
                             "candidate's gain in the metric must be above this (its units).")
    # Re-seeded retrains of identical data differ by a few thousandths of ROC-AUC on fresh
    # rows (refit variance, which the test-row bootstrap cannot see): such gains go to the
    # trial instead of moving @champion at once (docs/trust.md).
    at_once_margin: float | None = Field(None, ge=0, description="Immediate promotion needs "
                                         "the gain's lower bound above min_delta plus this "
                                         "(metric units); smaller gains go on trial. Empty: "
                                         "half the metric's typical gain (ROC-AUC 0.005).")
    roc_auc_margin: float = Field(0.02, ge=0, description="The lower bound of the ROC-AUC "
                                  "delta must be above minus this.")
    resamples: int = Field(1000, ge=100, description="Bootstrap resamples.")
    seed: int = Field(0, description="Bootstrap seed.")
    level: float = Field(0.95, gt=0, lt=1, description="Interval level.")
    # Column names (categorical) or {column, bins} (numeric bands); none by default.
    segments: Annotated[tuple[str | SegmentSpec, ...], Strict(False)] = Field(
        (), description="Segments that may not regress.")
    segment_metric: str | None = Field(None, description="The metric segments are judged "
                                       "on (a promotion metric); empty: 'metric'.")
    segment_margin: float = Field(0.05, ge=0, description="How much of the segment metric a "
                                  "segment may lose (its units).")
    segment_min_rows: int = Field(100, ge=1, description="Smaller segments are shown, never "
                                  "block.")
    # F1 on a handful of churners is noise (a calibrated model that flags none of 8
    # two-year-contract churners "loses" all its F1 there).
    segment_min_positives: int = Field(30, ge=1, description="Segments with fewer churners "
                                       "are shown, never block.")
    # The challenger on trial (``registry.sequential_evidence``).
    trial_alpha: float = Field(0.05, gt=0, lt=1, description="False-promotion error of a "
                               "challenger trial, over all its looks.")
    trial_max_snapshots: int = Field(6, ge=1, description="Labeled snapshots after which an "
                                     "undecided trial is retired.")
    # Limits on the served model, measured by the fresh-process load check; None: off.
    max_model_mb: float | None = Field(None, gt=0, description="Largest served model artifact "
                                       "(MB); empty: no limit.")
    max_p95_latency_ms_per_1000: float | None = Field(
        None, gt=0, description="Slowest p95 predict time on 1,000 raw rows (ms); empty: no "
        "limit.")
    max_peak_memory_mb: float | None = Field(None, gt=0, description="Largest peak memory of "
                                             "the load check's process (MB); empty: no limit.")

    @field_validator("metric", "segment_metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in PROMOTION_METRICS:
            raise ValueError(f"must be one of {', '.join(PROMOTION_METRICS)}, not '{value}'")
        return value

    @field_validator("floors")
    @classmethod
    def _known_floors(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(FLOOR_METRICS))
        if unknown:
            raise ValueError(f"unknown floor '{unknown[0]}' (known: {', '.join(FLOOR_METRICS)})")
        return value

    def at_once_bar(self) -> float:
        """What the gain's lower bound must exceed for an immediate promotion."""
        margin = self.at_once_margin
        if margin is None:
            margin = METRICS[self.metric].typical_gain / 2
        return self.min_delta + margin

    def effective_floors(self) -> dict[str, float]:
        """min_f1 and min_roc_auc, overridden by ``floors`` where both name a metric."""
        named = {"f1": self.min_f1, "roc_auc": self.min_roc_auc}
        return {k: v for k, v in named.items() if v is not None} | dict(self.floors)


class DriftConfig(Section):
    drifted_share: float = Field(0.5, description="Share of drifted features that counts as "
                                 "dataset drift.")
    wasserstein_threshold: float = Field(0.1, description="Normed Wasserstein distance above "
                                         "which a numeric feature drifted.")
    stattest_p_value: float = Field(0.05, description="KS / chi-square p-value below which a "
                                    "feature drifted, small samples.")
    jensen_shannon_threshold: float = Field(0.1, description="Jensen-Shannon distance above "
                                            "which a category drifted.")
    large_sample_size: int = Field(1000, description="Rows from which the distance tests "
                                   "replace the p-value tests.")
    retrain_policy: str = Field("on_drift", description="'on_drift' (the retraining policy) or "
                                "'always' (retrain on every snapshot).")
    # The retraining policy (churn_assets.monitoring.retraining_policy): performance decay
    # retrains; drift alone only after `consecutive_drifted` drifted snapshots in a row;
    # never twice within `cooldown_hours` unless forced.
    consecutive_drifted: int = Field(2, ge=1, description="Drifted labeled snapshots in a row "
                                     "before drift alone retrains.")
    cooldown_hours: float = Field(24.0, ge=0, description="No retraining within this many "
                                  "hours of the last one unless forced.")
    retrain_on_decay: bool = Field(True, description="Retrain when the champion's realized or "
                                   "estimated F1/ROC-AUC decayed.")
    decay_margin: float = Field(0.02, ge=0, description="Decay: the metric's whole interval is "
                                "below the champion's test figure minus this.")
    bootstrap_resamples: int = Field(1000, ge=100, description="Resamples behind each "
                                     "interval.")

    @field_validator("retrain_policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in RETRAIN_POLICIES:
            raise ValueError(f"must be one of {', '.join(RETRAIN_POLICIES)}")
        return value


class LeakageConfig(Section):
    """The check for columns written after the outcome (``data.leakage``), on train rows
    before tuning; the limits were chosen on train rows of generated tables and Telco
    (docs/trust.md)."""

    check: bool = Field(True, description="Stop before tuning when a column may leak the "
                        "outcome.")
    max_auc: float = Field(0.85, gt=0.5, le=1, description="A column whose out-of-fold "
                           "ROC-AUC alone (or its missingness's) reaches this is a suspect.")
    max_churners_only: float = Field(0.2, gt=0, le=1, description="A column is a suspect when "
                                     "this share of churners holds values no non-churner "
                                     "holds.")
    allow: dict[str, str] = Field(default_factory=dict, description="Columns known before a "
                                  "customer leaves despite strong evidence: {column: reason}.")

    @field_validator("allow")
    @classmethod
    def _reasons_given(cls, value: dict[str, str]) -> dict[str, str]:
        blank = [column for column, reason in value.items() if not str(reason).strip()]
        if blank:
            raise ValueError(f"needs a reason for '{blank[0]}' (why it is known before a "
                             "customer leaves)")
        return value


class ExpectationsConfig(Section):
    min_rows: int = Field(200, description="Fewest rows a snapshot may have.")
    ranges: dict[str, Bound] = Field(default_factory=dict, description="Per column [low, "
                                     "high] (null: open), e.g. {tenure: [0, null]}.")
    value_sets: dict[str, Annotated[tuple[Any, ...], Strict(False)]] = Field(
        default_factory=dict, description="Per column the values allowed, e.g. {Contract: "
        "[Month-to-month, One year, Two year]}.")


# Each engineered kind and how many input columns it reads (the shipped preprocessor computes
# them: model.preprocessing).
ENGINEERED_INPUTS = {"tenure_band": (1,), "ratio": (2, 3), "mapping": (1,)}


class EngineeredFeature(Section):
    """One engineered feature. ``tenure_band``: the band index of ``inputs[0]`` by the lower
    ``edges``; ``ratio``: ``inputs[0] / inputs[1]`` where the divisor is positive, else
    ``inputs[2]`` if given; ``mapping``: ``inputs[0]``'s text (trimmed, any case) looked up
    in ``mapping``. Computed only when every input is a kept feature column."""

    name: str = Field(description="The feature's column name.")
    kind: str = Field(description="tenure_band, ratio or mapping.")
    inputs: Columns = Field(description="The columns it reads.")
    edges: Annotated[tuple[float, ...], Strict(False)] = Field(
        (), description="tenure_band: increasing lower band edges.")
    mapping: dict[str, float] = Field(default_factory=dict, description="mapping: text value "
                                      "to number.")

    @model_validator(mode="after")
    def _complete_for_its_kind(self) -> EngineeredFeature:
        counts = ENGINEERED_INPUTS
        where = f"engineered feature '{self.name}'"
        if self.kind not in counts:
            raise ValueError(f"{where}: kind '{self.kind}' is not one of "
                             f"{', '.join(counts)}")
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


class ServingConfig(Section):
    """YAML ``serving``: read at start and again every poll, so a change needs no restart."""

    poll_seconds: float = Field(30.0, gt=0, description="How often the registry is asked "
                                "whether @champion or @challenger moved.")
    challenger_share: float = Field(0.0, ge=0, le=1, description="0: @challenger scores every "
                                    "request in shadow (logged, not answered); > 0: this "
                                    "share of customers, sticky by id, get its answer.")
    max_rows: int = Field(10_000, ge=1, description="Rows one POST /predict may carry.")
    max_body_bytes: int = Field(20_000_000, ge=1_000, description="Largest request body.")
    log_batch_rows: int = Field(500, ge=1, description="Log rows written per database call.")
    log_flush_seconds: float = Field(0.5, gt=0, description="Longest wait before a partial "
                                     "batch is written.")
    log_predictions: bool = Field(True, description="false: answers are not logged and no "
                                  "shadow scoring runs (for measuring what logging costs; the "
                                  "log is the service's audit trail).")
