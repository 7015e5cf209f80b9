"""Wide categoricals: target-encoded on train (cross-fitted evidence), kept with signal,
dropped without it (with the figures), rare and unseen levels handled when serving."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churn_assets.model.preprocessing import MAX_ONE_HOT_LEVELS, ChurnPreprocessor

N = 4000


@pytest.fixture(scope="module")
def rows() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    region = rng.integers(0, 80, N)
    risk = (region % 4) / 3  # a quarter of the regions churn a lot more
    y = (rng.random(N) < 0.1 + 0.5 * risk).astype(int)
    frame = pd.DataFrame({
        "region": [f"R{r:02d}" for r in region],                # 80 levels, predictive
        "noise": [f"N{n:02d}" for n in rng.integers(0, 80, N)],  # 80 levels, unrelated
        "plan": rng.choice(["a", "b", "c"], N),
        "monthly": rng.uniform(10, 90, N),
    })
    return frame, y


def test_a_predictive_wide_column_is_encoded_and_noise_is_dropped_with_figures(rows) -> None:
    frame, y = rows
    fitted = ChurnPreprocessor(("monthly",), ("region", "noise", "plan")).fit(frame, y)
    assert list(fitted.encodings_) == ["region"]
    assert fitted.encodings_["region"]["out_of_fold_auc"] > 0.7
    assert "no signal on train: cross-fitted target encoding ROC-AUC" in fitted.dropped_["noise"]
    assert "te__region" in fitted.feature_names_ and len(fitted.levels_["plan"]) == 3
    assert not any(name.startswith("cat__region") for name in fitted.feature_names_)
    assert "noise" not in fitted.required_columns()  # serving needs no dropped column
    matrix = fitted.transform(frame)
    by_region = pd.Series(matrix["te__region"].to_numpy()).groupby(frame["region"]).first()
    observed = pd.Series(y).groupby(frame["region"]).mean()
    assert np.corrcoef(by_region, observed.loc[by_region.index])[0, 1] > 0.95


def test_unseen_and_rare_levels_get_the_default_and_the_state_is_json(rows) -> None:
    frame, y = rows
    fitted = ChurnPreprocessor(("monthly",), ("region", "plan")).fit(frame, y)
    served = ChurnPreprocessor.from_json(json.dumps(json.loads(fitted.to_json())))
    new = frame.head(3).assign(region=["R999", None, "R01"]).drop(columns="noise")
    matrix = served.transform(new)
    default = fitted.encodings_["region"]["default"]
    assert matrix["te__region"].iloc[0] == pytest.approx(default)
    assert matrix["te__region"].iloc[1] == pytest.approx(default)
    known = fitted.encodings_["region"]["levels"]["R01"]
    assert matrix["te__region"].iloc[2] == pytest.approx(known)
    pd.testing.assert_frame_equal(served.transform(frame), fitted.transform(frame))


def test_without_labels_or_below_the_width_one_hot_encoding_stays(rows) -> None:
    frame, y = rows
    unlabeled = ChurnPreprocessor(("monthly",), ("region",)).fit(frame)
    assert not unlabeled.encodings_ and len(unlabeled.levels_["region"]) == 80
    narrow = frame.assign(region=frame["region"].str[:2])  # R0..R7: few levels
    assert len(narrow["region"].unique()) <= MAX_ONE_HOT_LEVELS
    one_hot = ChurnPreprocessor(("monthly",), ("region",)).fit(narrow, y)
    assert not one_hot.encodings_ and one_hot.levels_["region"]


def test_train_rows_get_out_of_fold_encodings_without_their_own_labels_optimism(rows) -> None:
    from sklearn.metrics import roc_auc_score

    frame, y = rows
    fitted = ChurnPreprocessor(("monthly",), ("region", "plan")).fit(frame, y)
    own = fitted.out_of_fold_encodings(frame, y)["te__region"].to_numpy()
    full = fitted.transform(frame)["te__region"].to_numpy()
    # On the rows it was fitted on, the full-train encoding scores better than it will on
    # new rows (each row's label is in its level's mean); the out-of-fold one is the figure
    # the signal check measured, the column's honest strength.
    assert roc_auc_score(y, full) > roc_auc_score(y, own) + 0.005
    assert roc_auc_score(y, own) == pytest.approx(
        fitted.encodings_["region"]["out_of_fold_auc"], abs=1e-4)


def test_the_feature_asset_gives_train_rows_out_of_fold_and_other_rows_full_encodings(
    rows, workspace,
) -> None:
    from churn_assets.defs.assets.features import customer_features
    from churn_assets.defs.resources.dask_cluster import DaskCluster
    from churn_assets.defs.resources.dataset import DatasetResource
    from churn_assets.names import LABEL, SPLIT

    frame, y = rows
    splits = frame.assign(customerID=[f"c{i}" for i in range(N)], **{
        LABEL: y, SPLIT: np.where(np.arange(N) < 3000, "train", "test")})
    train = splits[splits[SPLIT] == "train"]
    fitted = ChurnPreprocessor(("monthly",), ("region", "plan")).fit(train, train[LABEL])
    config = workspace.write_config(workspace.write_data("rows.csv", splits))
    table = customer_features(splits, fitted.state(),
                              DatasetResource(config_path=str(config)), DaskCluster()).value
    encoded = table["te__region"].to_numpy()
    np.testing.assert_allclose(
        encoded[:3000], fitted.out_of_fold_encodings(train, train[LABEL])["te__region"])
    np.testing.assert_allclose(encoded[3000:], fitted.transform(frame.iloc[3000:])["te__region"])
