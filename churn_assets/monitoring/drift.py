"""Data drift between a reference table (the training data) and a new snapshot.

No Dagster or MLflow import, so sensor, asset and tests share one implementation. The test
per feature is chosen as in Evidently's default data-drift preset:

* reference <= ``large_sample_size`` rows: numeric -> KS, categorical -> chi-square; drift when
  p < ``stattest_p_value`` (Evidently uses a z-test for binary categoricals; not here).
* larger reference: numeric -> Wasserstein / reference std, categorical -> Jensen-Shannon
  distance; drift when the distance is above its threshold.
* numeric columns with <= 5 distinct reference values count as categorical.

PSI is reported alongside as a familiar figure; it never decides. Missing values are dropped
first, as Evidently does.

Large tables are compared on seeded random samples (``sample_rows``, ``DRIFT_SAMPLE_ROWS`` per
side). Above ``large_sample_size`` rows the decisions rest on distances (normed Wasserstein,
Jensen-Shannon), whose sampling error at 100,000 rows is around 0.005 against thresholds of
0.1; the method choice is unchanged because the sample stays far above ``large_sample_size``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from churn_assets.dataset_config import DriftConfig

# scipy is imported by the statistical tests that use it: the definitions import this module, and
# loading them (code server, sensor, `dg check defs`) measures no drift.

EPSILON = 1e-4  # used in place of an empty bin's share, so log(q/p) and x/expected stay finite
LOW_CARDINALITY = 5
PREDICTION_FEATURE = "churn_probability (prediction)"
# For these the statistic is a p-value: drift means it is *below* the threshold.
P_VALUE_METHODS = ("ks", "chisquare")
DRIFT_SAMPLE_ROWS = 100_000


def sample_rows(frame: pd.DataFrame, max_rows: int | None = DRIFT_SAMPLE_ROWS,
                seed: int = 0) -> pd.DataFrame:
    """At most ``max_rows`` rows drawn without replacement (seeded), in their original order;
    ``frame`` itself when it is no larger (or ``max_rows`` is None)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    return frame.iloc[sample_positions(len(frame), max_rows, seed)]


def sample_positions(n_rows: int, max_rows: int | None = DRIFT_SAMPLE_ROWS,
                     seed: int = 0) -> np.ndarray:
    """The sorted row positions ``sample_rows`` keeps of ``n_rows`` rows (all when no more
    than ``max_rows``), for a caller that copies only those rows out of a larger frame."""
    if max_rows is None or n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))


def finite_values(values: ArrayLike) -> np.ndarray:
    """Floats with NaN/inf dropped; strings that are not numbers (blank " " cells) become NaN."""
    array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float, na_value=np.nan)
    return array[np.isfinite(array)]


def _labels(values: ArrayLike) -> pd.Series:
    """Non-missing values as string categories. Whole floats are printed as ints, so 1.0 == 1."""
    series = pd.Series(values).dropna()
    if pd.api.types.is_float_dtype(series):
        return series.map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
    return series.astype(str)


def _numeric_pair(reference: ArrayLike, current: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    ref, cur = finite_values(reference), finite_values(current)
    _require(ref, cur)
    return ref, cur


def _require(reference: Sequence[Any], current: Sequence[Any]) -> None:
    if len(reference) == 0 or len(current) == 0:
        raise ValueError("drift statistics need at least one non-missing value on each side")


def category_counts(
    reference: ArrayLike, current: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of both sides' categories, and each side's count per category."""
    ref, cur = _labels(reference), _labels(current)
    _require(ref, cur)
    categories = np.asarray(pd.unique(pd.concat([ref, cur], ignore_index=True)))
    ref_counts, cur_counts = (
        side.value_counts().reindex(categories, fill_value=0).to_numpy(dtype=float)
        for side in (ref, cur)
    )
    return categories, ref_counts, cur_counts


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    p, q = expected / expected.sum(), actual / actual.sum()
    p, q = np.where(p == 0, EPSILON, p), np.where(q == 0, EPSILON, q)
    return float(np.sum((q - p) * np.log(q / p)))


def population_stability_index(reference: ArrayLike, current: ArrayLike, bins: int = 10) -> float:
    """PSI of a numeric feature over quantile bins of the reference; NaN values are ignored."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    ref, cur = _numeric_pair(reference, current)
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)))
    # The outer bins are open-ended so current values outside the reference range still count.
    cuts = edges[1:-1]
    if cuts.size == 0:  # (nearly) constant reference: cut at its own values so shifts show
        cuts = np.append(edges, np.nextafter(edges[-1], np.inf))
    ref_counts, cur_counts = (
        np.bincount(np.searchsorted(cuts, side, side="right"), minlength=cuts.size + 1)
        for side in (ref, cur)
    )
    return _psi(ref_counts.astype(float), cur_counts.astype(float))


def categorical_psi(reference: ArrayLike, current: ArrayLike) -> float:
    """PSI over the union of the categories seen on either side."""
    _, ref_counts, cur_counts = category_counts(reference, current)
    return _psi(ref_counts, cur_counts)


def normalized_wasserstein(reference: ArrayLike, current: ArrayLike) -> float:
    """Wasserstein distance divided by the reference std (Evidently's "wasserstein (normed)")."""
    from scipy import stats

    ref, cur = _numeric_pair(reference, current)
    distance = float(stats.wasserstein_distance(ref, cur))
    std = float(np.std(ref))
    if std > 1e-12:
        return distance / std
    # A constant reference has no scale: the same constant is no drift, anything else is far.
    return 0.0 if distance <= 1e-12 else distance / 1e-12


def ks_p_value(reference: ArrayLike, current: ArrayLike) -> float:
    """Two-sided two-sample Kolmogorov-Smirnov p-value."""
    from scipy import stats

    ref, cur = _numeric_pair(reference, current)
    return float(stats.ks_2samp(ref, cur).pvalue)


def chisquare_p_value(reference: ArrayLike, current: ArrayLike) -> float:
    """Chi-square p-value of the current category counts against the reference shares.

    A category the reference never saw gets the share EPSILON (shares are then renormalised),
    so a brand-new category gives a tiny p-value rather than a division by zero.
    """
    from scipy import stats

    _, ref_counts, cur_counts = category_counts(reference, current)
    if ref_counts.size < 2:
        return 1.0  # a single category on both sides cannot have moved
    shares = np.where(ref_counts == 0, EPSILON * ref_counts.sum(), ref_counts)
    expected = shares / shares.sum() * cur_counts.sum()
    return float(stats.chisquare(cur_counts, expected).pvalue)


def jensen_shannon_distance(reference: ArrayLike, current: ArrayLike) -> float:
    """Jensen-Shannon distance (base 2, so within 0..1) between the category shares."""
    from scipy.spatial.distance import jensenshannon

    _, ref_counts, cur_counts = category_counts(reference, current)
    return float(jensenshannon(ref_counts, cur_counts, base=2))


@dataclass(frozen=True)
class FeatureDrift:
    """One column's verdict. ``statistic`` is a p-value for tests, a distance otherwise."""

    feature: str
    kind: str
    method: str
    statistic: float
    threshold: float
    drifted: bool
    psi: float
    reference_size: int  # rows left after dropping missing values
    current_size: int


@dataclass(frozen=True)
class DriftReport:
    """Per-feature verdicts; prediction drift is reported but not counted in ``drifted_share``."""

    features: tuple[FeatureDrift, ...]
    drifted_share: float
    drift_detected: bool
    prediction_drift: FeatureDrift | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per feature (and the prediction, if any), drifted rows first."""
        rows = [asdict(f) for f in self.features]
        if self.prediction_drift is not None:
            rows.append(asdict(self.prediction_drift))
        frame = pd.DataFrame(rows, columns=[f.name for f in fields(FeatureDrift)])
        return frame.sort_values("drifted", ascending=False, kind="stable", ignore_index=True)


# method -> (statistic, name of its DriftConfig threshold)
_METHODS: dict[str, tuple[Callable[[ArrayLike, ArrayLike], float], str]] = {
    "ks": (ks_p_value, "stattest_p_value"),
    "chisquare": (chisquare_p_value, "stattest_p_value"),
    "wasserstein_normed": (normalized_wasserstein, "wasserstein_threshold"),
    "jensenshannon": (jensen_shannon_distance, "jensen_shannon_threshold"),
}


def _feature_drift(
    feature: str, reference: ArrayLike, current: ArrayLike, numeric: bool, cfg: DriftConfig,
    low_cardinality_as_categorical: bool = True,
) -> FeatureDrift:
    ref: Any = finite_values(reference) if numeric else _labels(reference)
    cur: Any = finite_values(current) if numeric else _labels(current)
    # A handful of distinct values gives a step CDF that KS and Wasserstein read poorly.
    if numeric and low_cardinality_as_categorical and np.unique(ref).size <= LOW_CARDINALITY:
        numeric, ref, cur = False, _labels(ref), _labels(cur)
    if len(ref) == 0 or len(cur) == 0:
        raise ValueError(f"column '{feature}' has no non-missing values to compare")
    small = len(ref) <= cfg.large_sample_size
    method = ("ks" if small else "wasserstein_normed") if numeric else (
        "chisquare" if small else "jensenshannon")
    psi = (population_stability_index if numeric else categorical_psi)(ref, cur)
    test, threshold_name = _METHODS[method]
    statistic, threshold = test(ref, cur), float(getattr(cfg, threshold_name))
    drifted = statistic < threshold if method in P_VALUE_METHODS else statistic > threshold
    return FeatureDrift(feature, "numeric" if numeric else "categorical", method, statistic,
                        threshold, bool(drifted), psi, len(ref), len(cur))


def detect_drift(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: Sequence[str],
    categorical: Sequence[str], cfg: DriftConfig,
    reference_scores: np.ndarray | None = None, current_scores: np.ndarray | None = None,
) -> DriftReport:
    """Test every listed column of ``current`` against ``reference`` (see the module docstring)."""
    columns = [*numeric, *categorical]
    if not columns:
        raise ValueError("detect_drift needs at least one numeric or categorical column")
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:  # a column listed twice would be counted twice in drifted_share
        raise ValueError(f"column(s) listed more than once: {', '.join(twice)}")
    for frame, side in ((reference, "reference"), (current, "current")):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{side} data is missing column(s): {', '.join(missing)}")
    if (reference_scores is None) != (current_scores is None):
        raise ValueError("pass both reference_scores and current_scores, or neither")
    features = tuple(_feature_drift(c, reference[c], current[c], c in numeric, cfg)
                     for c in columns)
    prediction = None
    if reference_scores is not None and current_scores is not None:
        # Scores are continuous by nature, so they always take the numeric method.
        prediction = _feature_drift(PREDICTION_FEATURE, reference_scores, current_scores, True,
                                    cfg, low_cardinality_as_categorical=False)
    share = sum(f.drifted for f in features) / len(features)
    return DriftReport(features, share, share >= cfg.drifted_share, prediction)
