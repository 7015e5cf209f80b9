"""Exact TreeSHAP by decision pattern (families/tree_patterns.py) against XGBoost's own."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from churn_assets.model.families.tree_patterns import MIN_ROWS, PatternContributions


def _booster(max_depth: int, rows: int = 6_000, seed: int = 0) -> tuple[xgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6)).astype(np.float32)
    x[:, 2] = rng.integers(0, 4, size=rows)  # a discrete column: repeated thresholds
    x[rng.random(rows) < 0.1, 1] = np.nan  # missing values take each split's default branch
    logit = x[:, 0] - np.nan_to_num(x[:, 1]) * (x[:, 2] > 1) + 0.5 * x[:, 3] ** 2
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = xgb.train({"max_depth": max_depth, "eta": 0.3, "objective": "binary:logistic",
                         "base_score": 0.3, "tree_method": "hist", "nthread": 1},
                        xgb.DMatrix(x, label=y), num_boost_round=40)
    return booster, x


@pytest.mark.parametrize("max_depth", [1, 2, 3])
def test_pattern_contributions_equal_xgboost_treeshap(max_depth: int) -> None:
    booster, x = _booster(max_depth)
    patterns = PatternContributions(booster)
    fresh = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    fresh[::5, 1] = np.nan
    for rows in (x, fresh):  # the second call reuses the first call's tables and adds to them
        ours = patterns.contributions(rows)
        theirs = booster.predict(xgb.DMatrix(rows), pred_contribs=True)
        assert patterns.trees is not None  # the pattern path ran, not the fallback
        np.testing.assert_allclose(ours, theirs, atol=2e-5, rtol=0)
        # contributions add up to the margin, as TreeSHAP's do
        np.testing.assert_allclose(ours.sum(axis=1),
                                   booster.predict(xgb.DMatrix(rows), output_margin=True),
                                   atol=1e-4)


def test_deep_trees_and_few_rows_use_xgboost_itself() -> None:
    deep, x = _booster(max_depth=6)
    patterns = PatternContributions(deep)
    np.testing.assert_allclose(patterns.contributions(x),
                               deep.predict(xgb.DMatrix(x), pred_contribs=True), atol=1e-6)
    assert patterns.trees is None  # more than MAX_SPLITS split nodes in some tree
    shallow, x = _booster(max_depth=2)
    few = PatternContributions(shallow)
    np.testing.assert_allclose(few.contributions(x[: MIN_ROWS - 1]),
                               shallow.predict(xgb.DMatrix(x[: MIN_ROWS - 1]),
                                               pred_contribs=True), atol=1e-6)
    assert few.trees is None and not few._checked

