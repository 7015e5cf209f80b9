"""Large-table helpers: the chunked digest equals the digest of the whole selection, and the
column view shares the frame's arrays."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from churn_assets.data.frames import columns_view, content_digest, features_version
from churn_assets.monitoring.drift import sample_positions, sample_rows


def customers(n: int = 1_003) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "customerID": [f"C{i:05d}" for i in range(n)],
        "Contract": rng.choice(["Month-to-month", "One year", None], n),
        "tenure": rng.integers(0, 72, n),
        "TotalCharges": np.where(rng.random(n) < 0.05, np.nan, rng.random(n) * 1000),
        "score": rng.random(n).astype("float32"),
    })


def whole_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy()).hexdigest()


@pytest.mark.parametrize("chunk_rows", [1, 7, 500, 1_003, 10_000])
def test_chunked_digest_equals_the_whole_frames(chunk_rows):
    frame = customers()
    assert content_digest(frame, chunk_rows=chunk_rows).hexdigest() == whole_digest(frame)


def test_digest_of_selected_rows_and_columns_equals_the_copied_selections():
    frame = customers()
    rows = np.flatnonzero(frame["tenure"].to_numpy() > 30)
    columns = ["Contract", "customerID", "TotalCharges"]
    expected = whole_digest(frame.iloc[rows][columns])
    assert content_digest(frame, rows, columns, chunk_rows=64).hexdigest() == expected
    assert content_digest(frame, rows[:-1], columns).hexdigest() != expected  # a row less


def test_digest_sees_a_changed_value_in_any_chunk():
    frame = customers()
    changed = frame.copy()
    changed.loc[900, "Contract"] = "Two year"
    assert (content_digest(frame, chunk_rows=100).hexdigest()
            != content_digest(changed, chunk_rows=100).hexdigest())


def test_features_version_is_unchanged_by_chunking():
    # Study names contain it: stored studies must resume after the change.
    frame = customers()
    assert features_version(frame) == whole_digest(frame)


def test_columns_view_shares_arrays_and_keeps_values():
    frame = customers()
    view = columns_view(frame, ["TotalCharges", "customerID"])
    assert list(view.columns) == ["TotalCharges", "customerID"]
    pd.testing.assert_frame_equal(view, frame[["TotalCharges", "customerID"]])
    assert np.shares_memory(view["TotalCharges"].to_numpy(), frame["TotalCharges"].to_numpy())


@pytest.mark.parametrize("n_rows,max_rows", [(10, 20), (10, 10), (1_003, 100)])
def test_sample_positions_are_the_rows_sample_rows_keeps(n_rows, max_rows):
    frame = customers(n_rows)
    positions = sample_positions(n_rows, max_rows, seed=5)
    pd.testing.assert_frame_equal(frame.iloc[positions], sample_rows(frame, max_rows, seed=5))
