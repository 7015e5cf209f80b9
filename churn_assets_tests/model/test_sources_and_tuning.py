"""Unit tests for reading sources and for the resumable Optuna/XGBoost training step."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from sklearn.metrics import f1_score

from churn_assets.data.sources import SourceError, read_source, split_s3_uri
from churn_assets.dataset_config import DatasetConfig
from churn_assets.model.candidate import (
    split_matrix,
    study_name_for,
    train_candidate,
)
from churn_assets.model.metric_registry import FLOOR_METRICS
from churn_assets.model.metrics import best_f1_threshold
from churn_assets.model.sections import TuningConfig
from churn_assets.model.tuning import open_study, study_storage
from churn_assets.names import LABEL, SPLIT
from churn_assets.names import ROW_ID as ID


@pytest.fixture()
def small() -> pd.DataFrame:
    return pd.DataFrame({"customerID": ["a", "b", "c"], "tenure": [1, 5, 0],
                         "TotalCharges": ["10.0", "55.5", " "], "Churn": ["No", "Yes", "No"]})


# --- read_source ------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_local_source_returns_frame_size_and_hash(tmp_path: Path, small, suffix) -> None:
    path = tmp_path / f"customers{suffix}"
    if suffix == ".csv":
        small.to_csv(path, index=False)
    else:
        small.to_parquet(path, index=False)
    data, stat = path.read_bytes(), path.stat()

    table = read_source(str(path))

    assert table.uri == str(path)
    assert table.n_bytes == len(data) == stat.st_size
    assert table.sha256 == hashlib.sha256(data).hexdigest()
    pd.testing.assert_frame_equal(table.frame, small)  # ' ' stays text, not NaN
    assert path.read_bytes() == data
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


def test_hash_changes_with_content(tmp_path: Path, small) -> None:
    path = tmp_path / "c.csv"
    small.to_csv(path, index=False)
    before = read_source(str(path)).sha256
    small.assign(tenure=[1, 5, 1]).to_csv(path, index=False)
    assert read_source(str(path)).sha256 != before


@pytest.mark.parametrize("name,named", [("customers.txt", "'.txt'"), ("customers", "(none)")])
def test_unsupported_suffix_is_named(tmp_path: Path, name: str, named: str) -> None:
    path = tmp_path / name
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match=named.replace("(", r"\(").replace(")", r"\)")):
        read_source(str(path))


def test_missing_file_is_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        read_source(str(tmp_path / "absent.csv"))


def test_empty_file_is_source_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        read_source(str(path))


def test_s3_uri_without_client_is_source_error() -> None:
    with pytest.raises(SourceError, match="S3 client"):
        read_source("s3://bucket/customers.csv")


def test_s3_uri_with_client_reads_object(small) -> None:
    data = small.to_csv(index=False).encode()
    requests = []

    class FakeS3:
        def get_object(self, Bucket: str, Key: str) -> dict:  # noqa: N803 (boto3 names)
            requests.append((Bucket, Key))
            return {"Body": io.BytesIO(data)}

    table = read_source("s3://bucket/raw/customers.csv", FakeS3())
    assert requests == [("bucket", "raw/customers.csv")]
    assert table.sha256 == hashlib.sha256(data).hexdigest() and table.n_bytes == len(data)
    pd.testing.assert_frame_equal(table.frame, small)


@pytest.mark.parametrize("uri", ["s3://bucket", "s3://bucket/", "s3:///key.csv"])
def test_malformed_s3_uri_is_source_error(uri: str) -> None:
    with pytest.raises(SourceError, match="not an s3://bucket/key URI"):
        split_s3_uri(uri)


# --- training / tuning ------------------------------------------------------------------------

TUNING = TuningConfig(n_trials=4, max_estimators=50, early_stopping_rounds=10,
                      timeout_seconds=None, n_jobs=1)


def config_with(**tuning) -> DatasetConfig:
    return DatasetConfig(source="x.csv", target="Churn", positive_label="Yes",
                         id_column="customerID", model_name="churn-test",
                         tuning=TUNING.model_copy(update=tuning))


def load_trials(study_file: Path, config: DatasetConfig, version: str) -> list:
    storage = JournalStorage(JournalFileBackend(str(study_file)))
    name = study_name_for(config.model_name, config.tuning, version)
    return optuna.load_study(study_name=name, storage=storage).trials


def train(features: pd.DataFrame, config: DatasetConfig, study_file: Path, version: str):
    """train_candidate as the asset calls it, with a journal-file study storage."""
    def open_this_study(family: str) -> optuna.Study:
        name = study_name_for(config.model_name, config.tuning, version)
        return open_study(study_storage(f"journal://{study_file}"), name, config.tuning.seed)

    return train_candidate(features, config.tuning, open_this_study)


def test_split_matrix_drops_meta_columns(features: pd.DataFrame) -> None:
    x, y = split_matrix(features, "valid")
    assert not {ID, SPLIT, LABEL} & set(x.columns)
    assert len(x) == len(y) == (features[SPLIT] == "valid").sum()
    assert set(np.unique(y)) == {0, 1}


def test_train_candidate_metrics_threshold_and_resume(features, tmp_path: Path) -> None:
    study_file = tmp_path / "optuna" / "study.journal"
    config = config_with(threshold_from="valid")  # the valid path (out of fold: its own test)
    candidate = train(features, config, study_file, "v" * 20)

    expected_keys = {f"{split}_{name}" for split in ("valid", "test")
                     for name in FLOOR_METRICS}  # every figure a floor may name
    assert set(candidate.metrics) == expected_keys
    for name, value in candidate.metrics.items():
        assert 0.0 <= value <= 1.0, name
    assert candidate.tuning.n_trials == 4
    assert len(candidate.tuning.trials) == 4

    x_valid, y_valid = split_matrix(features, "valid")
    valid_probability = candidate.model.predict_proba(x_valid)
    assert candidate.threshold == best_f1_threshold(y_valid, valid_probability)
    assert candidate.metrics["valid_f1"] == pytest.approx(
        f1_score(y_valid, (valid_probability >= candidate.threshold).astype(int)))
    x_test, y_test = split_matrix(features, "test")
    test_probability = candidate.model.predict_proba(x_test)
    assert candidate.metrics["test_f1"] == pytest.approx(
        f1_score(y_test, (test_probability >= candidate.threshold).astype(int)))

    # the same data version resumes the finished study: no new trials
    again = train(features, config, study_file, "v" * 20)
    assert again.tuning.n_trials == 4
    assert len(load_trials(study_file, config, "v" * 20)) == 4
    assert again.tuning.best_params == candidate.tuning.best_params

    # a larger budget adds only the missing trials
    more = train(features, config_with(n_trials=6), study_file, "v" * 20)
    assert more.tuning.n_trials == 6
    assert len(load_trials(study_file, config, "v" * 20)) == 6


def test_new_data_version_starts_a_new_study(features, tmp_path: Path) -> None:
    study_file = tmp_path / "study.journal"
    config = config_with(n_trials=2)
    train(features, config, study_file, "a" * 64)
    train(features, config, study_file, "b" * 64)
    assert len(load_trials(study_file, config, "a" * 64)) == 2
    assert len(load_trials(study_file, config, "b" * 64)) == 2
    tuning = config.tuning
    assert study_name_for("m", tuning, "a" * 64) != study_name_for("m", tuning, "b" * 64)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_single_class_split_is_rejected(features, tmp_path: Path, split: str) -> None:
    broken = features.copy()
    broken.loc[broken[SPLIT] == split, LABEL] = 0
    with pytest.raises(ValueError, match=f"the {split} split holds a single class"):
        train(broken, config_with(), tmp_path / "s.journal", "v1")
    assert not (tmp_path / "s.journal").exists()  # rejected before any study was opened


def test_study_name_follows_what_a_trial_computes() -> None:
    base = config_with(n_trials=2).tuning
    more_trials = config_with(n_trials=9).tuning
    assert study_name_for("m", base, "v") == study_name_for("m", more_trials, "v")
    assert study_name_for("m", base, "v") != study_name_for(
        "m", config_with(n_trials=2, early_stopping_rounds=7).tuning, "v")
    assert study_name_for("m", base, "v") != study_name_for("other", base, "v")
