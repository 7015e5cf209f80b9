"""The data path on Dask partitions (LocalCluster, 2 one-thread workers on 127.0.0.1) against
the pandas path on the same tables: same roles, typed rows, check verdicts, splits, features,
scores and drift. A table larger than any worker's memory goes through the same partition
steps in test_data_path_assets (every data asset, no worker restarted, every row featurized)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import mlflow
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.expectations import run_expectations
from churn_assets.data.preparation import prepare_customers
from churn_assets.data.sources import read_source
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, DriftConfig, load_dataset_config
from churn_assets.distributed.checks import validate_partitions
from churn_assets.distributed.steps import (
    score_partitions,
)
from churn_assets.distributed.tables import (
    object_strings,
    prepare_partitions,
    read_partitions,
)
from churn_assets.generator import DistributionShift, generate_customers
from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.model.contact_list import contact_list
from churn_assets.model.dask_tuning import fit_final_on_cluster
from churn_assets.model.families.xgboost_family import fit as fit_locally
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.monitoring.drift import detect_drift
from churn_assets.names import LABEL, META_COLUMNS, ROW_ID, SPLIT
from churn_assets_tests.helpers.served_champion import register_champion
from churn_dev.data_path import drift_on_partitions, run_data_path, type_partitions

CONFIG = load_dataset_config(DEFAULT_CONFIG_PATH)


def local_cluster(memory_limit: int | None) -> Iterator[object]:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=memory_limit,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as dask_client, dask_client.as_current():
        yield dask_client


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    """Room for a loaded champion (xgboost, mlflow) on the workers."""
    yield from local_cluster(None)


def write_messy_table(path: Path, rows: int, seed: int) -> pd.DataFrame:
    """Generated customers with labels in other spellings (and blank TotalCharges, as the
    generator writes them for new customers)."""
    customers = generate_customers(rows, seed=seed)
    customers.loc[customers.index[::97], "Churn"] = " yes"
    customers.to_csv(path, index=False)
    return customers


def pandas_path(path: Path) -> dict:
    """What raw_customers, column_roles, validated_customers, its checks, customer_splits,
    feature_preprocessor and customer_features compute on one frame."""
    table = read_source(str(path), text_columns=(CONFIG.id_column,))
    roles = infer_column_roles(table.frame, CONFIG)
    prepared = prepare_customers(table.frame, CONFIG, roles)
    frame = prepared.frame.copy()
    frame[SPLIT] = assign_splits(frame[CONFIG.id_column], CONFIG.split)
    frame[LABEL] = binary_target(frame[CONFIG.target], CONFIG.positive_label)
    train = frame[frame[SPLIT] == "train"]
    preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical,
                                     engineered=tuple(CONFIG.engineered_declarations()))
    preprocessor.fit(train, train[LABEL])
    meta = pd.DataFrame({ROW_ID: frame[CONFIG.id_column].astype(str), SPLIT: frame[SPLIT],
                         LABEL: frame[LABEL]})
    return {"raw": table.frame, "roles": roles, "prepared": prepared, "splits": frame,
            "preprocessor": preprocessor,
            "features": pd.concat([meta, preprocessor.transform(frame)], axis=1),
            "verdicts": verdicts(run_expectations(prepared.frame, CONFIG, roles.numeric,
                                                  roles.categorical))}


def verdicts(outcomes: dict) -> dict[str, bool]:
    return {name: all(o.success for o in found) for name, found in outcomes.items()}


def whole(frame: dd.DataFrame) -> pd.DataFrame:
    return frame.compute().reset_index(drop=True)


def test_partitions_give_the_pandas_path_results(tmp_path: Path, client) -> None:
    path = tmp_path / "customers.csv"
    write_messy_table(path, 3000, seed=4)
    expected = pandas_path(path)
    found = run_data_path(str(path), CONFIG, str(tmp_path / "store"), blocksize=60_000)

    assert found.raw.npartitions >= 5  # several partitions, each typed on its own
    assert found.roles == expected["roles"]
    pd.testing.assert_frame_equal(whole(found.raw), expected["raw"])
    pd.testing.assert_frame_equal(whole(found.validated), expected["prepared"].frame)
    assert set(found.notes) == set(expected["prepared"].notes)
    assert any("' yes' read as 'Yes'" in note for note in found.notes)
    assert verdicts(found.outcomes) == expected["verdicts"]
    assert all(expected["verdicts"].values())
    # The same split per row, by the same hash of the id.
    splits = whole(found.splits)
    pd.testing.assert_frame_equal(splits, expected["splits"])
    assert found.preprocessor.state() == expected["preprocessor"].state()
    pd.testing.assert_frame_equal(whole(found.features), expected["features"])
    assert (tmp_path / "store" / "customer_features").is_dir()  # Parquet between steps


def test_a_bad_table_fails_the_same_checks(tmp_path: Path, client) -> None:
    customers = generate_customers(1200, seed=8)
    customers.loc[5, "customerID"] = customers.loc[6, "customerID"]  # duplicate id
    customers.loc[10, "Churn"] = None  # missing label
    customers.loc[11, "Churn"] = "Maybe"  # a third label
    customers.loc[900, "tenure"] = -3  # below the configured range
    customers.loc[950, "Contract"] = "Weekly"  # outside the value set
    customers["MonthlyCharges"] = customers["MonthlyCharges"].astype(object)
    customers.loc[1100, "MonthlyCharges"] = "twelve"  # text in a numeric column
    path = tmp_path / "bad.csv"
    customers.to_csv(path, index=False)
    expected = pandas_path(path)["verdicts"]

    found = run_data_path(str(path), CONFIG, str(tmp_path / "store"), blocksize=30_000)

    assert verdicts(found.outcomes) == expected
    assert {name for name, passed in expected.items() if not passed} == {
        "unique_ids", "target_labels", "numeric_columns", "value_ranges", "value_sets"}
    assert found.splits is None  # blocking: no split or feature step after a failed check
    sets = [o for o in found.outcomes["value_sets"] if not o.success]
    assert [o.examples for o in sets] == [("Weekly",), ("Maybe",)]


def test_unlabeled_snapshot_passes_only_where_allowed(tmp_path: Path, client) -> None:
    path = tmp_path / "unlabeled.csv"
    generate_customers(900, seed=3).drop(columns=["Churn"]).to_csv(path, index=False)
    table = read_source(str(path), text_columns=(CONFIG.id_column,))
    roles = infer_column_roles(table.frame, CONFIG)
    prepared = prepare_customers(table.frame, CONFIG, roles).frame
    raw, _ = type_partitions(read_partitions(str(path), blocksize=30_000),
                             text_columns=(CONFIG.id_column,))
    rows = prepare_partitions(raw, CONFIG, roles).frame
    for require_target in (False, True):
        expected = verdicts(run_expectations(prepared, CONFIG, roles.numeric,
                                             roles.categorical, require_target))
        assert verdicts(validate_partitions(rows, CONFIG, roles.numeric, roles.categorical,
                                            require_target)) == expected
        # Equal verdicts, and not vacuously: without the target training fails the checks.
        assert not require_target or not expected["required_columns"]


def test_scores_and_drift_per_partition_match_one_frame(tmp_path: Path, client) -> None:
    served = register_champion(tmp_path / "mlflow")
    model = mlflow.pyfunc.load_model(str(served.artifact_folder))
    snapshot = generate_customers(2500, seed=31, shift=DistributionShift(
        month_to_month_share=0.85, charges_multiplier=1.3))
    expected = contact_list(snapshot[[CONFIG.id_column]],
                            predict_in_batches(model, snapshot.drop(columns=["Churn"])), None)

    with object_strings():  # text as the read step leaves it
        partitions = dd.from_pandas(snapshot, npartitions=4)
    scores = whole(score_partitions(partitions, str(served.artifact_folder), CONFIG.id_column,
                                    CONFIG.target))
    pd.testing.assert_frame_equal(scores, expected)

    reference = served.raw_rows
    numeric, categorical = ["tenure", "MonthlyCharges"], ["Contract", "InternetService"]
    cfg = DriftConfig()
    one_frame = detect_drift(reference, snapshot, numeric, categorical, cfg)
    assert drift_on_partitions(reference, partitions, numeric, categorical, cfg) == one_frame
    assert one_frame.drift_detected  # the shift is real, so equality is not of two no-ops
    sampled = drift_on_partitions(reference, partitions, numeric, categorical, cfg,
                                  max_rows=1000)
    assert 800 < sampled.features[0].current_size < 1200  # a seeded sample beyond max_rows
    assert sampled.drift_detected


def test_final_fit_through_xgboost_dask(tmp_path: Path, client) -> None:
    path = tmp_path / "customers.csv"
    write_messy_table(path, 4000, seed=12)
    features = run_data_path(str(path), CONFIG, str(tmp_path / "store"),
                             blocksize=100_000).features
    params = {"max_depth": 3, "learning_rate": 0.1, "min_child_weight": 1.0,
              "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0, "reg_alpha": 0.0}
    tuning = CONFIG.tuning.model_copy(update={"max_estimators": 150, "n_jobs": 1})
    distributed = fit_final_on_cluster(client, params, tuning, features)

    table = whole(features)
    x = {s: table[table[SPLIT] == s].drop(columns=list(META_COLUMNS)) for s in ("train",
                                                                                "valid")}
    y = {s: table.loc[table[SPLIT] == s, LABEL].to_numpy() for s in ("train", "valid")}
    local = fit_locally(params, tuning, x["train"], y["train"], x["valid"], y["valid"])
    auc = {name: roc_auc_score(y["valid"], model.predict_proba(x["valid"]))
           for name, model in (("dask", distributed), ("local", local))}
    assert auc["dask"] > 0.75
    assert abs(auc["dask"] - auc["local"]) < 0.02

