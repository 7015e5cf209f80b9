"""TreeSHAP from per-tree tables (families/tree_tables.py): XGBoost's own numbers, bit for bit."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import xgboost as xgb

from churn_assets.model.families import tree_tables, xgboost_family
from churn_assets.model.families.tree_tables import TreeTables


def _booster(max_depth: int = 6, rounds: int = 60, seed: int = 0) -> xgb.Booster:
    rng = np.random.default_rng(seed)
    x = _rows(rng, 4_000)
    logit = x[:, 0] - np.nan_to_num(x[:, 1]) * (x[:, 2] > 1) + 0.5 * x[:, 3] ** 2
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int)
    return xgb.train({"max_depth": max_depth, "eta": 0.3, "objective": "binary:logistic",
                      "base_score": 0.3, "tree_method": "hist", "nthread": 1,
                      "subsample": 0.8, "seed": seed},
                     xgb.DMatrix(x, label=y), num_boost_round=rounds)


def _rows(rng: np.random.Generator, count: int, width: int = 8) -> np.ndarray:
    x = rng.normal(size=(count, width)).astype(np.float32)
    x[:, 2] = rng.integers(0, 4, size=count)  # discrete: values exactly on thresholds
    x[:, 5] = rng.integers(0, 2, size=count)  # one-hot like
    x[rng.random((count, width)) < 0.1] = np.nan  # missing: each split's default branch
    return x


def _threshold_rows(booster: xgb.Booster, rng: np.random.Generator, count: int) -> np.ndarray:
    """Rows whose values sit on a threshold, one float32 step below it, or are missing."""
    frame = booster.trees_to_dataframe()
    splits = frame[frame.Feature != "Leaf"]
    rows = _rows(rng, count)
    for name, group in splits.groupby("Feature"):
        at = group.Split.to_numpy(np.float32)
        options = np.concatenate([at, np.nextafter(at, np.float32(-np.inf)), [np.nan]])
        rows[:, int(name[1:])] = rng.choice(options.astype(np.float32), size=count)
    return rows


def _theirs(booster: xgb.Booster, rows: np.ndarray) -> np.ndarray:
    return booster.predict(xgb.DMatrix(rows), pred_contribs=True).astype("float64")


@pytest.mark.parametrize("max_depth", [1, 3, 6])
def test_tables_give_xgboost_contributions_bit_for_bit(max_depth: int) -> None:
    booster = _booster(max_depth)
    tables = TreeTables(booster)
    rng = np.random.default_rng(1)
    for count in (1, 2, 8, 9, 40, 300, 1, 600):  # later calls reuse and extend the tables
        for rows in (_rows(rng, count), _threshold_rows(booster, rng, count)):
            ours = tables.contributions(rows)
            assert tables.usable  # the table path ran, not the fallback
            theirs = _theirs(booster, rows)
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
            assert np.array_equal(ours.view(np.int64), theirs.view(np.int64))  # -0.0 too
    warm = _rows(rng, 300)
    tables.contributions(warm)  # learns every pattern of these rows
    learnt, before = tables._count, dict(tables.answered)
    for i in range(5):  # a few rows of known patterns: from the tables, no XGBoost call
        assert np.array_equal(tables.contributions(warm[i:i + 2]), _theirs(booster, warm[i:i + 2]))
    assert tables.answered == {"tables": before["tables"] + 5, "xgboost": before["xgboost"]}
    tables._slots = [{} for _ in tables._slots]  # forget every pattern: a small call ...
    tables._dense = [None if d is None else np.full_like(d, -1) for d in tables._dense]
    cold = _rows(rng, 3)
    assert np.array_equal(tables.contributions(cold), _theirs(booster, cold))
    assert tables.answered["xgboost"] == before["xgboost"] + 1  # ... goes to XGBoost
    assert tables._count == learnt  # and learns nothing (one-tree calls cost ~0.4 ms each)


def test_threads_share_the_tables() -> None:
    booster = _booster(rounds=30)
    tables = TreeTables(booster)
    batches = [_rows(np.random.default_rng(seed), 1 + seed * 37 % 50) for seed in range(24)]
    results: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        for i in range(k, len(batches), 4):
            results[i] = tables.contributions(batches[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, rows in enumerate(batches):
        assert np.array_equal(results[i], _theirs(booster, rows))


def test_full_tables_and_refused_values_go_to_xgboost(monkeypatch) -> None:
    booster = _booster(rounds=20)
    rows = _rows(np.random.default_rng(2), 50)
    monkeypatch.setattr(tree_tables, "MAX_PATTERNS", 0)  # nothing more may be learnt
    tables = TreeTables(booster)
    assert np.array_equal(tables.contributions(rows), _theirs(booster, rows))
    assert tables.usable is False  # its first-use check could not learn: XGBoost from then on
    monkeypatch.undo()
    tables = TreeTables(booster)
    rows[3, 4] = np.inf
    with pytest.raises(xgb.core.XGBoostError):  # as XGBoost itself refuses it
        _theirs(booster, rows)
    with pytest.raises(xgb.core.XGBoostError):
        tables.contributions(rows)


def test_a_check_mismatch_leaves_xgboost_in_charge(monkeypatch) -> None:
    """A table path that disagrees with XGBoost (here: thresholds read one step off) is
    caught by the first-use check and never used."""
    booster = _booster(rounds=20)
    real = tree_tables._float32
    monkeypatch.setattr(tree_tables, "_float32",
                        lambda text: float(np.nextafter(np.float32(real(text)), np.inf)))
    tables = TreeTables(booster)
    rows = _threshold_rows(booster, np.random.default_rng(3), 40)
    assert np.array_equal(tables.contributions(rows), _theirs(booster, rows))
    assert tables.usable is False


def test_only_a_served_model_learns_tables(monkeypatch, tmp_path) -> None:
    """A model fitted in this process explains its test rows once (the SHAP picture): learning
    tables for that one call cost 4-7 CPU s on Telco against XGBoost's own 0.05 s, so it gets
    XGBoost's answer; a loaded (served) model learns them for the calls to come."""
    booster = _booster(rounds=20)
    rows = _rows(np.random.default_rng(4), 800)
    learning: list[TreeTables] = []

    def recorded(*args):
        learning.append(TreeTables(*args))
        return learning[-1]

    monkeypatch.setattr(xgboost_family, "TreeTables", recorded)
    fitted = xgboost_family.XGBoostModel(booster)
    assert np.array_equal(fitted.contributions(rows), _theirs(booster, rows))
    assert learning == []
    booster.save_model(tmp_path / xgboost_family.MODEL_FILE)
    served = xgboost_family.load(tmp_path)
    assert np.array_equal(served.contributions(rows), _theirs(booster, rows))
    assert [tables.answered["tables"] for tables in learning] == [1]
