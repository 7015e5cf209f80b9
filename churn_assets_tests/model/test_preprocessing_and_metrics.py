"""Unit tests for the train-only preprocessor, the metrics and the promotion rule."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, load_dataset_config
from churn_assets.model.metrics import best_f1_threshold, classification_metrics
from churn_assets.model.preprocessing import RARE, ChurnPreprocessor, churn_features

# The bundled dataset YAML declares the Telco engineered features.
TELCO = tuple(load_dataset_config(DEFAULT_CONFIG_PATH).engineered_declarations())


def train_frame() -> pd.DataFrame:
    # color: red 20, blue 8, green 2; contract: 12 / 10 / 8
    return pd.DataFrame({
        "tenure": np.arange(30) % 72,
        "MonthlyCharges": np.linspace(20, 100, 30).round(2),
        "TotalCharges": [" "] + [f"{v:.2f}" for v in np.linspace(100, 3000, 29)],
        "Contract": ["Month-to-month"] * 12 + ["One year"] * 10 + ["Two year"] * 8,
        "color": ["red"] * 20 + ["blue"] * 8 + ["green"] * 2,
    })


def fitted(frame: pd.DataFrame | None = None, min_frequency: int = 5) -> ChurnPreprocessor:
    return ChurnPreprocessor(numeric=("tenure", "MonthlyCharges", "TotalCharges"),
                             categorical=("Contract", "color"),
                             min_frequency=min_frequency, engineered=TELCO).fit(
        train_frame() if frame is None else frame)


def test_levels_come_from_train_and_rare_levels_are_pooled() -> None:
    prep = fitted()
    assert prep.levels_ == {"Contract": ["Month-to-month", "One year", "Two year"],
                            "color": ["blue", "red"]}  # green (2 < 5) is pooled
    out = prep.transform(train_frame())
    green = train_frame()["color"] == "green"
    assert out.loc[green, f"cat__color={RARE}"].eq(1).all()
    assert out.loc[~green, f"cat__color={RARE}"].eq(0).all()
    assert out.filter(like="cat__color=").sum(axis=1).eq(1).all()  # exactly one hot


def test_min_frequency_one_keeps_every_level() -> None:
    assert fitted(min_frequency=1).levels_["color"] == ["blue", "green", "red"]


def test_category_only_in_test_lands_in_rare_column() -> None:
    prep = fitted()
    test = train_frame().head(3).assign(color=["purple", "red", " blue "])
    out = prep.transform(test)
    assert list(out.columns) == prep.feature_names_
    assert not any("purple" in name for name in out.columns)
    assert out[f"cat__color={RARE}"].tolist() == [1.0, 0.0, 0.0]
    assert out["cat__color=red"].tolist() == [0.0, 1.0, 0.0]
    assert out["cat__color=blue"].tolist() == [0.0, 0.0, 1.0]  # whitespace stripped


def test_missing_values_are_their_own_category() -> None:
    frame = train_frame().assign(color=[None] * 6 + ["red"] * 24)
    prep = fitted(frame)
    assert "__missing__" in prep.levels_["color"]
    assert prep.transform(frame)["cat__color=__missing__"].sum() == 6


def test_json_round_trip_gives_identical_output() -> None:
    prep = fitted()
    restored = ChurnPreprocessor.from_json(prep.to_json())
    test = train_frame().assign(color=["purple"] * 30, tenure=np.arange(30) + 40)
    pd.testing.assert_frame_equal(restored.transform(test), prep.transform(test))
    assert restored.feature_names_ == prep.feature_names_
    assert restored.levels_ == prep.levels_ and restored.engineered_ == prep.engineered_


@pytest.mark.parametrize("column", ["color", "MonthlyCharges"])
def test_transform_missing_column_raises_keyerror_naming_it(column: str) -> None:
    prep = fitted()
    with pytest.raises(KeyError, match=column):
        prep.transform(train_frame().drop(columns=[column]))


def test_feature_names_are_xgboost_safe() -> None:
    frame = pd.DataFrame({
        "x[1]": range(20),
        "Pay<Method>": ["Bank transfer (automatic)"] * 10 + ["a[b]"] * 10,
    })
    prep = ChurnPreprocessor(numeric=("x[1]",), categorical=("Pay<Method>",),
                             min_frequency=1).fit(frame)
    names = prep.transform(frame).columns
    assert len(names) == 4
    for name in names:
        assert not set(name) & {"[", "]", "<"}, name


def test_feature_names_stay_unique_after_sanitising() -> None:
    frame = pd.DataFrame({"income": ["<50K"] * 10 + [">50K"] * 10})
    prep = ChurnPreprocessor(categorical=("income",), min_frequency=1).fit(frame)
    names = prep.transform(frame).columns
    assert names.is_unique


def test_engineered_features_values() -> None:
    frame = pd.DataFrame({
        "tenure": [0, 10, 4, 6, 12, 24, 48, 72],
        "MonthlyCharges": [30.0, 25.0, 12.0, 10.0, 10.0, 10.0, 10.0, 10.0],
        "TotalCharges": [" ", "200.0", "50", "60", "120", "240", "480", "720"],
        "Contract": ["Month-to-month", "One year", "Two year", "month-to-month ",
                     "One year", "Two year", "Two year", "weekly"],
    })
    features = churn_features(frame, list(TELCO))
    # TotalCharges / tenure, the monthly tariff when there is no bill yet (tenure 0)
    assert features["avg_monthly_spend"].tolist() == [30.0, 20.0, 12.5, 10, 10, 10, 10, 10]
    assert features["tenure_band"].tolist() == [0, 1, 0, 1, 2, 3, 4, 4]
    risk = features["contract_risk"]
    assert risk[0] > risk[1] > risk[2]
    assert risk[3] == risk[0]  # case and surrounding space do not matter
    assert np.isnan(risk[7])   # an unknown contract has no risk value


def test_engineered_features_appear_in_transform() -> None:
    prep = fitted()
    assert prep.engineered_inputs() == {"tenure_band": ["tenure"],
                                        "avg_monthly_spend": ["TotalCharges", "tenure",
                                                              "MonthlyCharges"],
                                        "contract_risk": ["Contract"]}
    out = prep.transform(train_frame())
    frame = train_frame()
    total = pd.to_numeric(frame["TotalCharges"], errors="coerce")
    expected = np.where(frame["tenure"] > 0, total / frame["tenure"].where(frame["tenure"] > 0),
                        frame["MonthlyCharges"])
    np.testing.assert_allclose(out["eng__avg_monthly_spend"], expected, rtol=1e-6)


def test_frame_without_telco_columns_has_no_engineered_features() -> None:
    frame = pd.DataFrame({"age": range(20), "plan": ["a", "b"] * 10})
    prep = ChurnPreprocessor(numeric=("age",), categorical=("plan",), min_frequency=1,
                             engineered=TELCO).fit(frame)
    assert prep.engineered_ == []
    assert not any(name.startswith("eng__") for name in prep.transform(frame).columns)
    assert churn_features(frame, []).shape == (20, 0)


def test_an_engineered_feature_with_a_dropped_input_is_not_computed() -> None:
    frame = train_frame()
    prep = ChurnPreprocessor(numeric=("tenure", "TotalCharges"), categorical=("color",),
                             min_frequency=1, engineered=TELCO).fit(frame)
    # MonthlyCharges and Contract are not kept: neither feature that reads them is made
    assert prep.engineered_inputs() == {"tenure_band": ["tenure"]}
    assert prep.required_columns() == ["tenure", "TotalCharges", "color"]
    restored = ChurnPreprocessor.from_json(prep.to_json())
    assert restored.engineered_inputs() == prep.engineered_inputs()


def test_transform_never_refits_on_other_rows() -> None:
    prep = fitted()
    levels, names = copy.deepcopy(prep.levels_), list(prep.feature_names_)
    wild = pd.DataFrame({
        "tenure": [1e6] * 50, "MonthlyCharges": [-5.0] * 50, "TotalCharges": ["9e9"] * 50,
        "Contract": ["Lifetime"] * 50, "color": ["ultraviolet"] * 50,
    })
    out = prep.transform(wild)
    assert prep.levels_ == levels and prep.feature_names_ == names
    assert out["num__tenure"].eq(1e6).all()  # numbers pass through, nothing is rescaled
    assert out[f"cat__color={RARE}"].eq(1).all()
    assert out[f"cat__Contract={RARE}"].eq(1).all()
    pd.testing.assert_frame_equal(prep.transform(train_frame()),
                                  fitted().transform(train_frame()))


# --- metrics ----------------------------------------------------------------------------------

def brute_force_best_f1(labels: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    scored = [(f1_score(labels, (probabilities >= t).astype(int)), t)
              for t in np.unique(probabilities)]
    return max(scored)


@pytest.mark.parametrize("seed,decimals", [(0, 6), (1, 6), (2, 1), (3, 2)])
def test_best_f1_threshold_matches_brute_force(seed: int, decimals: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 40)
    probabilities = np.clip(0.3 * labels + rng.uniform(0, 0.7, 40), 0, 1).round(decimals)
    threshold = best_f1_threshold(labels, probabilities)
    best_f1, _ = brute_force_best_f1(labels, probabilities)
    assert threshold in set(probabilities)
    assert f1_score(labels, (probabilities >= threshold).astype(int)) == pytest.approx(best_f1)


def test_best_f1_threshold_on_separable_data_is_lowest_positive_score() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    probabilities = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    assert best_f1_threshold(labels, probabilities) == 0.7


def test_classification_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 60)
    probabilities = np.clip(0.25 * labels + rng.uniform(0, 0.75, 60), 0, 1)
    threshold = 0.45
    predicted = (probabilities >= threshold).astype(int)
    metrics = classification_metrics(labels, probabilities, threshold)
    assert metrics == pytest.approx({
        "f1": f1_score(labels, predicted),
        "roc_auc": roc_auc_score(labels, probabilities),
        "pr_auc": average_precision_score(labels, probabilities),
        "precision": precision_score(labels, predicted),
        "recall": recall_score(labels, predicted),
        "accuracy": accuracy_score(labels, predicted),
    })


def test_threshold_is_inclusive() -> None:
    metrics = classification_metrics(np.array([0, 1]), np.array([0.2, 0.5]), 0.5)
    assert metrics["recall"] == 1.0 and metrics["accuracy"] == 1.0


@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1, 1]])
def test_classification_metrics_single_class_raises(labels: list[int]) -> None:
    with pytest.raises(ValueError, match="both classes"):
        classification_metrics(np.array(labels), np.array([0.1, 0.5, 0.9]), 0.5)
