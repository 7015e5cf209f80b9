"""The promotion rule on real XGBoost models fitted on generated customers (and, where a
precise situation is clearer, on probabilities built from them)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, PromotionConfig, load_dataset_config
from churn_assets.generator import generate_customers
from churn_assets.model.metric_registry import METRICS as REGISTRY
from churn_assets.model.metric_registry import PROMOTION_METRICS
from churn_assets.model.metrics import best_f1_threshold
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.registry.promotion_metrics import promotion_metric
from churn_assets.registry.promotion_rule import (
    ScoredModel,
    Segment,
    decide_promotion,
    rule_text,
)

# at_once_margin 0: these tests isolate the other rules (the margin: test_at_once_margin).
RULES = PromotionConfig(min_f1=0.3, min_roc_auc=0.6, resamples=100, seed=7, at_once_margin=0.0,
                        segments=(
    "Contract", {"column": "tenure", "bins": [0, 12, 24, 48, float("inf")]}))
NUMERIC = ("tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen")
WEAK_COLUMNS = ("gender", "Partner", "Dependents", "PaperlessBilling")


@dataclasses.dataclass
class Fitted:
    test_rows: pd.DataFrame
    labels: np.ndarray
    strong: ScoredModel  # all features, seed 1
    strong_reseeded: ScoredModel  # same model and data, seed 2
    weak: ScoredModel  # demographic columns only


@pytest.fixture(scope="module")
def fitted() -> Fitted:
    customers = generate_customers(3000, seed=5)
    labels = (customers["Churn"] == "Yes").astype(int).to_numpy()
    categorical = tuple(c for c in customers.columns if customers[c].dtype == object
                        and c not in ("customerID", "Churn", "TotalCharges"))
    train, valid, test = slice(0, 1500), slice(1500, 2000), slice(2000, None)
    telco = tuple(load_dataset_config(DEFAULT_CONFIG_PATH).engineered_declarations())
    matrix = ChurnPreprocessor(NUMERIC, categorical, engineered=telco) \
        .fit(customers.iloc[train]).transform(customers)

    def fit(columns: list[str], seed: int) -> ScoredModel:
        model = xgb.XGBClassifier(n_estimators=120, max_depth=3, learning_rate=0.05,
                                  subsample=0.8, colsample_bytree=0.8, random_state=seed,
                                  n_jobs=1)
        model.fit(matrix.iloc[train][columns], labels[train])
        threshold = best_f1_threshold(
            labels[valid], model.predict_proba(matrix.iloc[valid][columns])[:, 1])
        return ScoredModel(model.predict_proba(matrix.iloc[test][columns])[:, 1], threshold)

    every = list(matrix.columns)
    weak = [c for c in every if any(c.startswith(f"cat__{w}=") for w in WEAK_COLUMNS)]
    return Fitted(customers.iloc[test].reset_index(drop=True), labels[test],
                  fit(every, 1), fit(every, 2), fit(weak, 1))


def decide(fitted: Fitted, candidate: ScoredModel, champion: ScoredModel | None,
           rules: PromotionConfig = RULES):
    return decide_promotion(candidate, champion, fitted.labels, fitted.test_rows, rules)


def test_clearly_better_candidate_is_promoted_with_its_interval(fitted: Fitted) -> None:
    decision = decide(fitted, fitted.strong, fitted.weak)
    assert decision.promote
    assert decision.f1_delta.low > 0 and decision.roc_auc_delta.low > 0
    assert decision.reason.startswith("promoted: ROC-AUC gain")
    assert decision.gain.text() in decision.reason  # the interval, rounded to 4 digits
    assert decision.f1_delta.text() in decision.reason
    assert "0.6666666" not in decision.reason
    assert decision.rule == rule_text(RULES) and "lower bound" in decision.rule
    assert decision.outcome == "promoted" and decision.look == 1
    assert not decision.blocking_segments


@pytest.mark.parametrize("order", ["reseeded_vs_original", "original_vs_reseeded"])
def test_same_model_retrained_with_another_seed_is_not_promoted(fitted: Fitted, order) -> None:
    pair = (fitted.strong_reseeded, fitted.strong)
    candidate, champion = pair if order == "reseeded_vs_original" else pair[::-1]
    decision = decide(fitted, candidate, champion)
    assert not decision.promote
    assert decision.gain.low <= 0 <= decision.gain.high
    assert "may be noise" in decision.reason and decision.gain.text() in decision.reason
    assert decision.outcome == "challenger" and "on trial as @challenger" in decision.reason


def _flip(model: ScoredModel, labels: np.ndarray, fix: int, break_: int) -> ScoredModel:
    """The same model with ``fix`` wrong answers made right and ``break_`` right ones made
    wrong: a net gain of a few rows."""
    probability = model.probabilities.copy()
    wrong = np.flatnonzero(model.predictions != labels)
    right = np.flatnonzero(model.predictions == labels)
    for rows, make_right in ((wrong[:fix], True), (right[:break_], False)):
        positive = labels[rows] == 1 if make_right else labels[rows] == 0
        probability[rows] = np.where(positive, 0.99, 0.01)
    return ScoredModel(probability, model.threshold)


def test_tiny_noisy_gain_is_not_promoted(fitted: Fitted) -> None:
    candidate = _flip(fitted.strong, fitted.labels, fix=14, break_=10)
    decision = decide(fitted, candidate, fitted.strong)
    assert decision.f1_delta.estimate > 0  # a gain on paper ...
    assert not decision.promote  # ... that the interval shows to be noise
    assert decision.f1_delta.low <= 0


def test_decision_is_deterministic_for_a_seed(fitted: Fitted) -> None:
    first = decide(fitted, fitted.strong_reseeded, fitted.strong)
    again = decide(fitted, fitted.strong_reseeded, fitted.strong)
    assert first == again
    other = decide(fitted, fitted.strong_reseeded, fitted.strong,
                   RULES.model_copy(update=dict(seed=8)))
    assert other.f1_delta.estimate == first.f1_delta.estimate
    assert other.f1_delta.low != first.f1_delta.low  # the seed drives the resamples


def test_better_overall_but_worse_on_one_segment_is_rejected_naming_it(fitted: Fitted) -> None:
    # Much better everywhere (probabilities pulled towards the truth) except for DSL
    # customers, whom it ranks at random (the champion's DSL scores, shuffled).
    champion, labels = fitted.strong, fitted.labels
    dsl = (fitted.test_rows["InternetService"] == "DSL").to_numpy()
    probability = 0.5 * champion.probabilities + 0.5 * labels
    probability[dsl] = np.random.default_rng(0).permutation(champion.probabilities[dsl])
    candidate = ScoredModel(probability, champion.threshold)
    rules = RULES.model_copy(update=dict(segments=("InternetService", "Contract")))

    decision = decide(fitted, candidate, champion, rules)

    assert decision.f1_delta.low > 0  # better overall, beyond noise
    assert not decision.promote and decision.outcome == "rejected"
    assert decision.blocking_segments == ["InternetService=DSL"]
    assert "segment 'InternetService=DSL'" in decision.reason and "ROC-AUC" in decision.reason
    row = next(r for r in decision.segments if r["segment"] == "InternetService=DSL")
    assert row["metric"] == "roc_auc" and row["churners"] >= rules.segment_min_positives
    assert row["rows"] >= rules.segment_min_rows and row["delta"] < -rules.segment_margin
    assert row["delta_interval"] in decision.reason
    # The same loss on a segment too small to judge does not block.
    lenient = rules.model_copy(update=dict(segment_min_rows=row["rows"] + 1))
    assert decide(fitted, candidate, champion, lenient).promote


def test_segments_are_judged_on_the_promotion_metric_unless_told_otherwise(
    fitted: Fitted,
) -> None:
    # What a concept shift does: the candidate ranks DSL customers better than the champion
    # (pulled towards the truth like everyone) but with scores so low that its threshold
    # flags none of them. Its DSL F1 falls to 0; its DSL ROC-AUC rises.
    champion, labels = fitted.strong, fitted.labels
    dsl = (fitted.test_rows["InternetService"] == "DSL").to_numpy()
    truer = 0.5 * champion.probabilities + 0.5 * labels
    candidate = ScoredModel(np.where(dsl, 0.1 * truer, truer), champion.threshold)
    rules = RULES.model_copy(update=dict(segments=("InternetService",)))

    by_metric = decide(fitted, candidate, champion, rules)
    row = next(r for r in by_metric.segments if r["segment"] == "InternetService=DSL")
    assert row["candidate_f1"] < row["champion_f1"] - rules.segment_margin
    assert row["delta"] > 0 and not row["blocked"]
    assert by_metric.promote

    by_f1 = decide(fitted, candidate, champion, rules.model_copy(
        update=dict(segment_metric="f1")))
    assert not by_f1.promote and by_f1.blocking_segments == ["InternetService=DSL"]
    assert "loses" in by_f1.reason and " F1 " in by_f1.reason
    assert "more than 0.05 F1" in by_f1.rule


def test_segment_noise_does_not_block_a_better_candidate(fitted: Fitted) -> None:
    # Segment F1 swings between equally good models; only a loss whose interval excludes
    # zero blocks. A huge margin-free rule shows the table still reports the point loss.
    rules = RULES.model_copy(update=dict(segment_margin=0.0, segment_min_rows=1))
    decision = decide(fitted, fitted.strong, fitted.weak, rules)
    assert decision.promote
    assert len(decision.segments) == 3 + 4  # contracts and tenure bands


@pytest.mark.parametrize("floor", ["min_f1", "min_roc_auc"])
def test_floors_apply_even_to_a_clearly_better_candidate(fitted: Fitted, floor: str) -> None:
    rules = RULES.model_copy(update=dict(**{floor: 0.99}))
    decision = decide(fitted, fitted.strong, fitted.weak, rules)
    assert not decision.promote
    named = "F1" if floor == "min_f1" else "ROC-AUC"
    assert f"test {named}" in decision.reason and "below floor 0.99" in decision.reason


def test_first_model_needs_only_the_floors_when_baselines_are_off(fitted: Fitted) -> None:
    decision = decide(fitted, fitted.weak, None, RULES.model_copy(update=dict(
        min_f1=0.0, min_roc_auc=0.0, baselines=False)))
    assert decision.promote and "first model" in decision.reason
    assert decision.f1_delta is None and decision.roc_auc_delta is None
    assert all(r["champion_f1"] is None and not r["blocked"] for r in decision.segments)
    refused = decide(fitted, fitted.weak, None, RULES.model_copy(update=dict(min_f1=0.99)))
    assert not refused.promote and "below floor" in refused.reason


def test_roc_auc_must_not_be_worse_beyond_the_margin(fitted: Fitted) -> None:
    # A rule demanding a ROC-AUC gain larger than the candidate's makes the ROC-AUC branch
    # the deciding one.
    rules = RULES.model_copy(update=dict(roc_auc_margin=-0.9))
    decision = decide(fitted, fitted.strong, fitted.weak, rules)
    assert not decision.promote and "ROC-AUC delta" in decision.reason


def test_segments_parse_names_and_bands() -> None:
    rows = pd.DataFrame({"tenure": [0, 11, 12, 70, None, " "], "Contract": ["Two year"] * 6})
    bands = Segment.parse({"column": "tenure", "bins": [0, 12, float("inf")]}).labels(rows)
    assert list(bands) == ["tenure in [0, 12)", "tenure in [0, 12)", "tenure in [12, inf)",
                           "tenure in [12, inf)", "tenure outside bands",
                           "tenure outside bands"]
    assert set(Segment.parse("Contract").labels(rows)) == {"Contract=Two year"}
    with pytest.raises(ValueError, match="must increase"):
        Segment.parse({"column": "tenure", "bins": [12, 0]})
    with pytest.raises(ValueError, match="column name or"):
        Segment.parse({"col": "tenure"})
    with pytest.raises(KeyError, match="'Region'"):
        Segment.parse("Region").labels(rows)


def test_rows_must_match(fitted: Fitted) -> None:
    with pytest.raises(ValueError, match="same rows"):
        decide_promotion(fitted.strong, fitted.weak, fitted.labels[:-1], fitted.test_rows,
                         RULES)


@pytest.mark.parametrize("metric", [name for name in PROMOTION_METRICS  # profit: its own test
                                    if not REGISTRY[name].needs_economics])
def test_every_metric_orients_its_gain_so_that_positive_means_better(fitted: Fitted,
                                                                    metric: str) -> None:
    rules = RULES.model_copy(update=dict(metric=metric))
    better = decide(fitted, fitted.strong, fitted.weak, rules)
    worse = decide(fitted, fitted.weak, fitted.strong, rules)
    assert better.metric == metric and better.gain.estimate > 0 and better.promote
    assert worse.gain.estimate == pytest.approx(-better.gain.estimate)
    assert worse.outcome == "rejected" and not worse.promote  # conclusively worse: no trial


def test_log_loss_gain_is_the_champions_loss_minus_the_candidates(fitted: Fitted) -> None:
    from sklearn.metrics import log_loss

    gain = promotion_metric("log_loss").gain(
        fitted.labels, fitted.strong.probabilities, 0.5, fitted.weak.probabilities, 0.5,
        resamples=200, seed=1)
    expected = (log_loss(fitted.labels, fitted.weak.probabilities)
                - log_loss(fitted.labels, fitted.strong.probabilities))
    assert gain.estimate == pytest.approx(expected)
    assert gain.draws.size == 200 and 0 < gain.standard_error < abs(expected)


def test_later_looks_at_the_same_test_rows_need_a_larger_gain(fitted: Fitted) -> None:
    candidate = _flip(fitted.strong, fitted.labels, fix=60, break_=0)
    first, tenth = (decide_promotion(candidate, fitted.strong, fitted.labels, fitted.test_rows,
                                     RULES, look) for look in (1, 10))
    assert first.gain.estimate == tenth.gain.estimate
    assert tenth.gain.low < first.gain.low and tenth.gain.level > first.gain.level
    assert "look 10" in tenth.rule and "look 1 " in first.rule


def test_floors_on_any_metric(fitted: Fitted) -> None:
    decision = decide(fitted, fitted.strong, fitted.weak,
                      RULES.model_copy(update=dict(floors={"recall": 0.999})))
    assert not decision.promote and decision.outcome == "rejected"
    assert "test recall" in decision.reason and "below floor 0.999" in decision.reason
    assert "recall >= 0.999" in decision.rule
    with pytest.raises(ValueError, match="unknown floor 'lift'"):
        PromotionConfig(floors={"lift": 2.0})
    with pytest.raises(ValueError, match="must be one of f1, roc_auc"):
        PromotionConfig(metric="accuracy")

def test_a_clearly_worse_calibrated_candidate_is_refused(fitted: Fitted):
    # The strong model's ranking and 0/1 answers (threshold moved with it), probabilities
    # pushed towards 0.5: F1 and ROC-AUC unchanged, Brier clearly worse.
    p = fitted.strong.probabilities
    blurred = ScoredModel(0.5 + (p - 0.5) * 0.3, 0.5 + (fitted.strong.threshold - 0.5) * 0.3)
    rows = fitted.test_rows
    rules = RULES.model_copy(update=dict(min_delta=-1.0, segments=()))
    refused = decide_promotion(blurred, fitted.strong, fitted.labels, rows, rules)
    assert not refused.promote and "Brier score delta" in refused.reason
    accepted = decide_promotion(fitted.strong, blurred, fitted.labels, rows, rules)
    assert accepted.promote, accepted.reason
