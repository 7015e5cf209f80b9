"""Unit tests for churn_assets.generator: determinism, Telco schema, realism and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_assets.generator import (
    ONLINE_SERVICES,
    TARGET_CHURN_RATE,
    DistributionShift,
    generate_customers,
    main,
)

TELCO_COLUMNS = [
    "customerID", "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService",
    "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies", "Contract", "PaperlessBilling",
    "PaymentMethod", "MonthlyCharges", "TotalCharges", "Churn",
]


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return generate_customers(20_000, seed=3)


def churn_rate(frame: pd.DataFrame) -> float:
    return float(frame["Churn"].eq("Yes").mean())


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_gives_identical_frame() -> None:
    pd.testing.assert_frame_equal(generate_customers(300, seed=5), generate_customers(300, seed=5))


def test_different_seed_gives_different_frame() -> None:
    a, b = generate_customers(300, seed=5), generate_customers(300, seed=6)
    assert not a.equals(b)
    assert set(a["customerID"]) != set(b["customerID"])
    assert not np.array_equal(a["MonthlyCharges"].to_numpy(), b["MonthlyCharges"].to_numpy())


@pytest.mark.parametrize("n_rows", [0, -5])
def test_non_positive_row_count_is_rejected(n_rows: int) -> None:
    with pytest.raises(ValueError, match="n_rows"):
        generate_customers(n_rows)


def test_single_row_is_allowed() -> None:
    assert len(generate_customers(1, seed=1)) == 1


# --- schema -----------------------------------------------------------------------------------

def test_telco_columns_in_order(big: pd.DataFrame) -> None:
    assert list(big.columns) == TELCO_COLUMNS
    assert len(big) == 20_000


def test_customer_ids_are_unique_and_telco_shaped(big: pd.DataFrame) -> None:
    ids = big["customerID"]
    assert ids.is_unique
    assert ids.str.fullmatch(r"\d{4}-[A-Z]{5}").all()


def test_value_domains(big: pd.DataFrame) -> None:
    assert set(big["Churn"]) == {"Yes", "No"}
    assert set(big["SeniorCitizen"]) == {0, 1}
    assert set(big["Contract"]) == {"Month-to-month", "One year", "Two year"}
    assert set(big["InternetService"]) == {"DSL", "Fiber optic", "No"}
    assert big["tenure"].between(0, 72).all()
    assert (big["MonthlyCharges"] >= 18.25).all()


def test_total_charges_blank_exactly_where_tenure_is_zero(big: pd.DataFrame) -> None:
    blank = big["TotalCharges"] == " "
    assert (big["tenure"] == 0).sum() > 0, "20k rows should contain brand-new customers"
    assert (blank == (big["tenure"] == 0)).all()
    # every other value is a number at least one month's charge
    totals = pd.to_numeric(big.loc[~blank, "TotalCharges"])
    assert totals.notna().all()
    assert (totals >= big.loc[~blank, "MonthlyCharges"] - 1e-9).all()


def test_no_internet_service_is_consistent(big: pd.DataFrame) -> None:
    no_internet = big["InternetService"] == "No"
    for column in ONLINE_SERVICES:
        says_none = big[column] == "No internet service"
        assert (says_none == no_internet).all(), column
        assert set(big.loc[~no_internet, column]) == {"Yes", "No"}
    no_phone = big["PhoneService"] == "No"
    assert ((big["MultipleLines"] == "No phone service") == no_phone).all()


# --- realism ----------------------------------------------------------------------------------

def test_churn_rate_near_target(big: pd.DataFrame) -> None:
    assert TARGET_CHURN_RATE == 0.265
    assert churn_rate(big) == pytest.approx(0.265, abs=0.015)


def test_churn_rate_argument_is_honoured() -> None:
    assert churn_rate(generate_customers(20_000, seed=4, churn_rate=0.1)) == pytest.approx(
        0.1, abs=0.015)


def test_realistic_churn_directions(big: pd.DataFrame) -> None:
    by_contract = big.groupby("Contract")["Churn"].apply(lambda s: s.eq("Yes").mean())
    assert by_contract["Month-to-month"] > by_contract["One year"] > by_contract["Two year"]
    by_internet = big.groupby("InternetService")["Churn"].apply(lambda s: s.eq("Yes").mean())
    assert by_internet["Fiber optic"] > by_internet["DSL"] > by_internet["No"]
    short = churn_rate(big[big["tenure"] <= 12])
    long = churn_rate(big[big["tenure"] >= 48])
    assert short > long + 0.1


def test_month_to_month_share_knob_raises_month_to_month(big: pd.DataFrame) -> None:
    shifted = generate_customers(20_000, seed=3, shift=DistributionShift(month_to_month_share=0.9))
    before = big["Contract"].eq("Month-to-month").mean()
    after = shifted["Contract"].eq("Month-to-month").mean()
    assert after > before + 0.1


def test_charges_multiplier_raises_monthly_charges(big: pd.DataFrame) -> None:
    shifted = generate_customers(20_000, seed=3, shift=DistributionShift(charges_multiplier=1.3))
    assert shifted["MonthlyCharges"].mean() > 1.2 * big["MonthlyCharges"].mean()


def test_fiber_share_knob_moves_internet_mix(big: pd.DataFrame) -> None:
    shifted = generate_customers(20_000, seed=3, shift=DistributionShift(fiber_share=0.7))
    assert shifted["InternetService"].eq("Fiber optic").mean() == pytest.approx(0.7, abs=0.02)
    assert big["InternetService"].eq("Fiber optic").mean() == pytest.approx(0.44, abs=0.02)


def test_covariate_knobs_keep_how_churn_depends_on_features(big: pd.DataFrame) -> None:
    """Pure covariate shift: a riskier mix churns more, but each segment churns as before."""
    shifted = generate_customers(20_000, seed=3, shift=DistributionShift(month_to_month_share=0.9))
    assert churn_rate(shifted) > churn_rate(big) + 0.03

    def segment(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["Contract"].eq("Month-to-month") & (frame["tenure"] <= 12)]

    assert churn_rate(segment(shifted)) == pytest.approx(churn_rate(segment(big)), abs=0.03)


def test_concept_shift_changes_relationships_not_distributions(big: pd.DataFrame) -> None:
    shifted = generate_customers(20_000, seed=3, shift=DistributionShift(concept_shift=1.0))
    features = [c for c in big.columns if c != "Churn"]
    pd.testing.assert_frame_equal(shifted[features], big[features])  # same customers
    assert churn_rate(shifted) == pytest.approx(TARGET_CHURN_RATE, abs=0.015)
    by_contract = shifted.groupby("Contract")["Churn"].apply(lambda s: s.eq("Yes").mean())
    assert by_contract["Two year"] > by_contract["Month-to-month"]  # reversed
    assert churn_rate(shifted[shifted["tenure"] >= 48]) > churn_rate(
        shifted[shifted["tenure"] <= 12])  # reversed
    no_internet = shifted["InternetService"].eq("No")
    assert churn_rate(shifted[no_internet]) > 2 * churn_rate(big[no_internet])  # safe no more


@pytest.fixture(scope="module")
def champion():
    from churn_assets_tests.monitoring.small_model import train_small_champion

    return train_small_champion()


def roc_auc_on(champion, **shift: float) -> float:
    from sklearn.metrics import roc_auc_score

    from churn_assets_tests.monitoring.small_model import labels

    frame = generate_customers(3000, seed=61, shift=DistributionShift(**shift))
    return float(roc_auc_score(labels(frame), champion.probabilities(frame)))


def test_concept_shift_hurts_a_model_that_covariate_shift_does_not(champion) -> None:
    """What the demo shows: a model trained on reference data keeps its ROC-AUC under a
    covariate-only shift and loses it under a concept shift. Measured (seed 61, 3000 rows):
    0.858 unshifted, 0.843 covariate-shifted, 0.621 at concept_shift=0.5."""
    from churn_assets_tests.monitoring.small_model import COVARIATE_SHIFT

    unshifted = roc_auc_on(champion)
    covariate = roc_auc_on(champion, **COVARIATE_SHIFT)
    concept = roc_auc_on(champion, concept_shift=0.5)
    assert abs(covariate - unshifted) < 0.04
    assert concept < unshifted - 0.15


# --- CLI --------------------------------------------------------------------------------------

def test_cli_writes_readable_csv(tmp_path, capsys) -> None:
    out = tmp_path / "nested" / "x.csv"
    main(["--rows", "50", "--seed", "1", "--out", str(out)])
    written = pd.read_csv(out)
    expected = generate_customers(50, seed=1)
    assert list(written.columns) == TELCO_COLUMNS
    assert written["customerID"].tolist() == expected["customerID"].tolist()
    assert written["Churn"].tolist() == expected["Churn"].tolist()
    np.testing.assert_allclose(written["MonthlyCharges"], expected["MonthlyCharges"])
    assert "wrote 50 customers" in capsys.readouterr().out


def test_cli_writes_parquet_for_parquet_suffix(tmp_path) -> None:
    out = tmp_path / "x.parquet"
    main(["--rows", "50", "--seed", "1", "--out", str(out)])
    assert out.read_bytes()[:4] == b"PAR1"
    pd.testing.assert_frame_equal(pd.read_parquet(out), generate_customers(50, seed=1))


def test_cli_passes_shift_knobs(tmp_path) -> None:
    out = tmp_path / "x.parquet"
    main(["--rows", "60", "--seed", "2", "--charges-multiplier", "1.3", "--out", str(out)])
    expected = generate_customers(60, seed=2, shift=DistributionShift(charges_multiplier=1.3))
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


def test_cli_passes_concept_shift(tmp_path) -> None:
    out = tmp_path / "x.parquet"
    main(["--rows", "60", "--seed", "2", "--concept-shift", "0.7", "--out", str(out)])
    expected = generate_customers(60, seed=2, shift=DistributionShift(concept_shift=0.7))
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert not expected.equals(generate_customers(60, seed=2))


def test_cli_requires_out() -> None:
    with pytest.raises(SystemExit):
        main(["--rows", "5"])


def test_bundled_data_is_what_the_generator_makes(tmp_path):
    """data/customers.csv is reproducible: `make data` regenerates it byte for byte."""
    from churn_assets.dataset_config import PROJECT_ROOT
    from churn_assets.generator import main

    main(["--rows", "7043", "--seed", "7", "--out", str(tmp_path / "customers.csv")])
    bundled = (PROJECT_ROOT / "data" / "customers.csv").read_bytes()
    assert (tmp_path / "customers.csv").read_bytes() == bundled


# --- streaming (chunks) -----------------------------------------------------------------------

def test_chunks_keep_ids_unique_and_the_distribution() -> None:
    from churn_assets.generator import iter_customers

    chunks = list(iter_customers(20_000, seed=3, chunk_rows=3_000))
    assert [len(c) for c in chunks] == [3_000] * 6 + [2_000]
    table = pd.concat(chunks)
    assert table.index.equals(pd.RangeIndex(20_000))  # the index continues across chunks
    assert table["customerID"].is_unique
    assert table["customerID"].str.fullmatch(r"\d{4}-[A-Z]{5}").all()
    # the first chunk is what one draw of its size makes; later chunks are other draws
    pd.testing.assert_frame_equal(chunks[0], generate_customers(3_000, seed=3))
    assert not chunks[1]["MonthlyCharges"].equals(chunks[2]["MonthlyCharges"])
    assert churn_rate(table) == pytest.approx(TARGET_CHURN_RATE, abs=0.015)
    for chunk in chunks:  # each chunk churns at the target rate, not just the total
        assert churn_rate(chunk) == pytest.approx(TARGET_CHURN_RATE, abs=0.04)


def test_id_codes_round_trip() -> None:
    from churn_assets.generator import _id_codes, _id_texts

    ids = generate_customers(500, seed=2)["customerID"].to_numpy()
    assert _id_texts(_id_codes(ids)).tolist() == ids.tolist()


def test_fresh_ids_avoid_taken_ones() -> None:
    from churn_assets.generator import _fresh_customer_ids, _id_codes

    rng = np.random.default_rng(0)
    taken = np.sort(rng.integers(0, 200, size=150))  # most of a tiny code space is taken
    taken = np.unique(taken)
    fresh = _id_codes(_fresh_customer_ids(np.random.default_rng(1), 40, taken))
    assert len(set(fresh)) == 40
    assert not set(fresh) & set(taken.tolist())


def test_streamed_file_matches_the_frame_and_holds_one_chunk(tmp_path) -> None:
    import tracemalloc

    from churn_assets.generator import write_customer_file

    csv, parquet = tmp_path / "x.csv", tmp_path / "x.parquet"
    tracemalloc.start()
    try:
        assert write_customer_file(csv, 20_000, seed=4, chunk_rows=2_000)[0] == 20_000
        streamed_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        generate_customers(20_000, seed=4)  # one chunk of 20k rows, all in memory at once
        whole_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert streamed_peak < whole_peak / 3, (streamed_peak, whole_peak)
    from churn_assets.generator import iter_customers

    expected = pd.concat(iter_customers(20_000, seed=4, chunk_rows=2_000))
    written = pd.read_csv(csv, keep_default_na=False)
    assert written["customerID"].tolist() == expected["customerID"].tolist()
    assert written["Churn"].tolist() == expected["Churn"].tolist()
    rows, churned = write_customer_file(parquet, 9_000, seed=4, chunk_rows=4_000)
    assert (rows, churned) == (9_000, int(pd.read_parquet(parquet)["Churn"].eq("Yes").sum()))
    pd.testing.assert_frame_equal(
        pd.read_parquet(parquet),
        pd.concat(iter_customers(9_000, seed=4, chunk_rows=4_000), ignore_index=True))
