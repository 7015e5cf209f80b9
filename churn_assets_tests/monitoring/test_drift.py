"""Unit tests for churn_assets.monitoring.drift: values checked against scipy and by hand."""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from churn_assets.dataset_config import DriftConfig
from churn_assets.monitoring.drift import (
    PREDICTION_FEATURE,
    categorical_psi,
    chisquare_p_value,
    detect_drift,
    jensen_shannon_distance,
    ks_p_value,
    normalized_wasserstein,
    population_stability_index,
)
from churn_assets.monitoring.drift_report import write_drift_report

NUMERIC = ["tenure", "MonthlyCharges", "SeniorCitizen"]
CATEGORICAL = ["Contract"]


def churn_frame(n: int, seed: int, shift: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    contracts = ["Month-to-month", "One year", "Two year"]
    return pd.DataFrame({
        "tenure": rng.normal(40 if shift else 30, 10, n),
        "MonthlyCharges": rng.gamma(2.0, 50 if shift else 30, n),
        "SeniorCitizen": rng.binomial(1, 0.6 if shift else 0.15, n),
        "Contract": rng.choice(contracts, n, p=[0.1, 0.2, 0.7] if shift else [0.55, 0.25, 0.2]),
    })


# --- single statistics -------------------------------------------------------------------------

def test_psi_by_hand_on_two_bins():
    # bins=2 cuts the reference at its median 2.5: reference 2|2, current 3|1
    psi = population_stability_index([1, 2, 3, 4], [1, 1, 1, 4], bins=2)
    assert psi == pytest.approx((0.75 - 0.5) * math.log(0.75 / 0.5)
                                + (0.25 - 0.5) * math.log(0.25 / 0.5))
    assert psi == pytest.approx(0.25 * math.log(3))


def test_psi_empty_bin_uses_epsilon_and_ignores_nan():
    expected = (1 - 0.5) * math.log(1 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert population_stability_index([1, 2, 3, 4], [1, 1, 1, 1], bins=2) == pytest.approx(expected)
    with_nan = population_stability_index([1, 2, np.nan, 3, 4], [1, 1, np.nan, 1, 1], bins=2)
    assert with_nan == pytest.approx(expected)


def test_psi_outer_bins_are_open_ended():
    # values far beyond the reference range land in the last bin instead of being lost
    assert population_stability_index([1, 2, 3, 4], [100, 200, 300, 400], bins=2) == pytest.approx(
        (1e-4 - 0.5) * math.log(1e-4 / 0.5) + (1 - 0.5) * math.log(1 / 0.5))


def test_psi_of_identical_data_is_zero():
    values = np.random.default_rng(0).normal(size=500)
    assert population_stability_index(values, values) == 0.0
    assert population_stability_index(np.full(10, 3.0), np.full(10, 3.0)) == 0.0
    assert population_stability_index(np.full(10, 3.0), np.full(10, 5.0)) > 1.0


def test_categorical_psi_by_hand_including_unseen_category():
    assert categorical_psi(list("aabb"), list("aaab")) == pytest.approx(0.25 * math.log(3))
    # "c" is new: reference share 0 -> 1e-4, current share 1/4
    expected = ((0.5 - 0.5) * 0 + (0.25 - 0.5) * math.log(0.25 / 0.5)
                + (0.25 - 1e-4) * math.log(0.25 / 1e-4))
    assert categorical_psi(list("aabb"), list("aabc")) == pytest.approx(expected)


def test_normalized_wasserstein_is_scipy_distance_over_reference_std():
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(0, 2, 300), rng.normal(1, 2, 200)
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert normalized_wasserstein(ref, cur) == pytest.approx(expected, rel=1e-12)
    assert normalized_wasserstein([0, 2], [1, 3]) == pytest.approx(1.0)  # distance 1, std 1


def test_normalized_wasserstein_with_constant_reference():
    assert normalized_wasserstein([5.0] * 4, [5.0] * 3) == 0.0
    assert normalized_wasserstein([5.0] * 4, [5.0, 6.0]) > 1e6


def test_ks_p_value_matches_scipy_and_drops_blanks():
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(0, 1, 120), rng.normal(0.3, 1, 80)
    assert ks_p_value(ref, cur) == pytest.approx(stats.ks_2samp(ref, cur).pvalue, rel=1e-12)
    as_text = pd.Series([str(v) for v in cur] + [" ", ""])
    assert ks_p_value(ref, as_text) == pytest.approx(stats.ks_2samp(ref, cur).pvalue, rel=1e-9)


def test_chisquare_p_value_by_hand():
    # expected counts 20/20, observed 30/10 -> chi2 = 2 * 10**2 / 20 = 10 with 1 dof
    p = chisquare_p_value(["a"] * 50 + ["b"] * 50, ["a"] * 30 + ["b"] * 10)
    assert p == pytest.approx(stats.chi2.sf(10.0, df=1), rel=1e-12)
    assert p == pytest.approx(0.0015654, rel=1e-4)


def test_chisquare_unseen_category_gives_tiny_finite_p_value():
    p = chisquare_p_value(["a"] * 50 + ["b"] * 50, ["a"] * 20 + ["b"] * 15 + ["c"] * 5)
    assert 0.0 <= p < 1e-6
    assert chisquare_p_value(["a"] * 5, ["a"] * 9) == 1.0


def test_jensen_shannon_distance_matches_scipy_and_hand_value():
    d = jensen_shannon_distance(list("aabb"), list("aaab"))
    assert d == pytest.approx(jensenshannon([0.5, 0.5], [0.75, 0.25], base=2), rel=1e-12)
    p, q = np.array([0.5, 0.5]), np.array([0.75, 0.25])
    m = (p + q) / 2
    hand = math.sqrt(0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m)))
    assert d == pytest.approx(hand, rel=1e-12)
    assert jensen_shannon_distance(list("abc"), list("cab")) == pytest.approx(0.0, abs=1e-12)


# --- detect_drift ------------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "numeric_method", "categorical_method"), [
    (200, "ks", "chisquare"),
    (1000, "ks", "chisquare"),  # <= large_sample_size still counts as small
    (1001, "wasserstein_normed", "jensenshannon"),
])
def test_method_depends_on_reference_size(n, numeric_method, categorical_method):
    cfg = DriftConfig()
    report = detect_drift(churn_frame(n, 0), churn_frame(300, 1), NUMERIC, CATEGORICAL, cfg)
    by_name = {f.feature: f for f in report.features}
    assert by_name["tenure"].method == numeric_method
    assert by_name["tenure"].kind == "numeric"
    assert by_name["Contract"].method == categorical_method
    expected_threshold = cfg.stattest_p_value if n <= 1000 else cfg.wasserstein_threshold
    assert by_name["tenure"].threshold == expected_threshold


def test_low_cardinality_numeric_is_treated_as_categorical():
    ref, cur = churn_frame(400, 0), churn_frame(300, 1)
    report = detect_drift(ref, cur, NUMERIC, CATEGORICAL, DriftConfig())
    senior = next(f for f in report.features if f.feature == "SeniorCitizen")
    assert (senior.kind, senior.method) == ("categorical", "chisquare")
    assert senior.statistic == pytest.approx(
        chisquare_p_value(ref["SeniorCitizen"], cur["SeniorCitizen"]))
    five_values = pd.DataFrame({"x": np.arange(600) % 5})  # the boundary: 5 is still few
    x = detect_drift(five_values, five_values, ["x"], [], DriftConfig()).features[0]
    assert (x.kind, x.method) == ("categorical", "chisquare")
    six_values = pd.DataFrame({"x": np.arange(600) % 6})
    x = detect_drift(six_values, six_values, ["x"], [], DriftConfig()).features[0]
    assert (x.kind, x.method) == ("numeric", "ks")


def test_identical_data_has_no_drift():
    frame = churn_frame(500, 3)
    scores = np.random.default_rng(3).uniform(size=500)
    report = detect_drift(frame, frame.copy(), NUMERIC, CATEGORICAL, DriftConfig(),
                          reference_scores=scores, current_scores=scores.copy())
    assert report.drifted_share == 0.0
    assert report.drift_detected is False
    assert not any(f.drifted for f in report.features)
    assert all(f.psi == pytest.approx(0.0, abs=1e-12) for f in report.features)
    assert report.prediction_drift is not None and not report.prediction_drift.drifted


@pytest.mark.parametrize("n_ref", [400, 3000])
def test_shifted_data_is_detected(n_ref):
    ref, cur = churn_frame(n_ref, 4), churn_frame(400, 5, shift=True)
    report = detect_drift(ref, cur, NUMERIC, CATEGORICAL, DriftConfig())
    assert report.drifted_share == 1.0
    assert report.drift_detected is True
    tenure = report.features[0]
    if n_ref <= 1000:
        assert tenure.statistic == pytest.approx(ks_p_value(ref["tenure"], cur["tenure"]))
        assert tenure.statistic < 0.05
    else:
        expected = normalized_wasserstein(ref["tenure"], cur["tenure"])
        assert tenure.statistic == pytest.approx(expected)
        assert tenure.statistic > 0.1
    assert tenure.psi == pytest.approx(population_stability_index(ref["tenure"], cur["tenure"]))
    assert (tenure.reference_size, tenure.current_size) == (n_ref, 400)


def test_drifted_share_threshold_is_inclusive_and_prediction_not_counted():
    ref, shifted = churn_frame(500, 6), churn_frame(500, 7, shift=True)
    cur = ref.copy()
    cur["Contract"] = shifted["Contract"]
    rng = np.random.default_rng(8)
    report = detect_drift(ref, cur, ["tenure"], ["Contract"], DriftConfig(drifted_share=0.5),
                          reference_scores=rng.beta(2, 5, 500), current_scores=rng.beta(5, 2, 500))
    assert report.drifted_share == 0.5
    assert report.drift_detected is True
    assert report.prediction_drift is not None
    assert report.prediction_drift.drifted and report.prediction_drift.method == "ks"
    frame = report.to_frame()
    assert list(frame["drifted"]) == [True, True, False]
    assert set(frame["feature"][:2]) == {"Contract", PREDICTION_FEATURE}
    assert frame["feature"].iloc[2] == "tenure"


def test_blank_strings_in_numeric_column_are_dropped():
    ref = churn_frame(300, 9)
    cur = ref.copy()
    cur["tenure"] = cur["tenure"].astype(str)
    cur.loc[:9, "tenure"] = " "
    report = detect_drift(ref, cur, ["tenure"], [], DriftConfig())
    assert report.features[0].current_size == 290
    assert report.features[0].reference_size == 300
    assert not report.features[0].drifted


def test_missing_column_raises_naming_it():
    ref = churn_frame(100, 10)
    with pytest.raises(ValueError, match="MonthlyCharges"):
        detect_drift(ref, ref.drop(columns="MonthlyCharges"), NUMERIC, CATEGORICAL, DriftConfig())


def test_only_one_score_array_is_an_error():
    ref = churn_frame(100, 11)
    with pytest.raises(ValueError, match="current_scores"):
        detect_drift(ref, ref, NUMERIC, CATEGORICAL, DriftConfig(), reference_scores=np.ones(100))


# --- report ------------------------------------------------------------------------------------

def test_write_drift_report_shows_every_feature_and_each_drifted_one_full_size(tmp_path):
    ref, cur = churn_frame(400, 12), churn_frame(300, 13, shift=True)
    rng = np.random.default_rng(14)
    ref_scores, cur_scores = rng.uniform(size=400), rng.uniform(size=300)
    report = detect_drift(ref, cur, NUMERIC, CATEGORICAL, DriftConfig(),
                          reference_scores=ref_scores, current_scores=cur_scores)
    drifted = [f.feature for f in report.features if f.drifted]
    assert {f.drifted for f in (*report.features, report.prediction_drift)} == {True, False}
    out = tmp_path / "drift"
    path = write_drift_report(ref, cur, report, out,
                              reference_scores=ref_scores, current_scores=cur_scores)
    assert path == out / "drift_report.html"
    page = path.read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "overview.png" in pngs
    full_size = [name for name in pngs if name != "overview.png"]
    expected = drifted + ([PREDICTION_FEATURE] if report.prediction_drift.drifted else [])
    assert len(full_size) == len(expected)
    assert re.findall(r"<h3>(.*) \(drifted\)</h3>", page) == [html.escape(f) for f in expected]
    assert all((out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in pngs)
    assert sorted(re.findall(r'<img src="([^"]+)"', page)) == pngs
    for feature in [*NUMERIC, *CATEGORICAL]:
        assert f"<td>{feature}</td>" in page
    assert "dataset drift: <b>yes</b>" in page

    without_scores = write_drift_report(ref, cur, report, tmp_path / "plain")
    assert sorted(p.name for p in (tmp_path / "plain").glob("*.png")) == [
        n for n in pngs if PREDICTION_FEATURE not in n]
    assert PREDICTION_FEATURE in without_scores.read_text()  # still in the table
