"""Scores replace the previous snapshot's rows of a real PostgreSQL table in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from churn_assets.data.score_table import (
    ScoreTableError,
    ScoreTableWriteError,
    replace_scores,
)
from churn_assets_tests.helpers.services import running_postgres

FIRST = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
SECOND = datetime(2026, 2, 5, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    with running_postgres() as port:
        engine = sa.create_engine(f"postgresql+psycopg2://dagster@127.0.0.1:{port}/postgres")
        yield engine
        engine.dispose()


def scores(n: int, prefix: str = "C") -> pd.DataFrame:
    return pd.DataFrame({"customerID": [f"{prefix}{i:05d}" for i in range(n)],
                         "churn_probability": [(i % 100) / 100 for i in range(n)],
                         "churn_prediction": [int(i % 100 >= 60) for i in range(n)]})


def read(engine: sa.Engine, table: str) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql_table(table, connection)


def test_each_snapshot_replaces_the_previous_rows(engine: sa.Engine) -> None:
    assert replace_scores(engine, "scores_a", scores(1200), "3", FIRST) == 1200
    first = read(engine, "scores_a")
    assert len(first) == 1200 and set(first["model_version"]) == {"3"}
    assert first["scored_at"].unique().tolist() == [pd.Timestamp(FIRST)]
    assert first.sort_values("customerID").iloc[61]["churn_prediction"] == 1

    assert replace_scores(engine, "scores_a", scores(700, "D"), "4", SECOND) == 700
    second = read(engine, "scores_a")
    assert len(second) == 700 and set(second["model_version"]) == {"4"}
    assert second["customerID"].str.startswith("D").all()


def test_new_score_columns_recreate_the_table(engine: sa.Engine) -> None:
    replace_scores(engine, "scores_b", scores(50), "1", FIRST)
    wider = scores(60).assign(reason_1="Contract", rank=range(1, 61))
    replace_scores(engine, "scores_b", wider, "2", SECOND)
    table = read(engine, "scores_b")
    assert {"reason_1", "rank", "model_version", "scored_at"} <= set(table.columns)
    assert len(table) == 60 and set(table["model_version"]) == {"2"}


def test_a_failure_mid_write_leaves_the_previous_rows(engine: sa.Engine) -> None:
    replace_scores(engine, "scores_c", scores(300), "7", FIRST)
    broken = scores(900, "E")
    # PostgreSQL refuses NUL in text: the row fails after the first 500 rows were inserted.
    broken.loc[850, "customerID"] = "E\x00bad"
    with pytest.raises((ScoreTableWriteError, ValueError), match="NUL"):
        replace_scores(engine, "scores_c", broken, "8", SECOND, chunk_rows=500)
    kept = read(engine, "scores_c")
    assert len(kept) == 300 and set(kept["model_version"]) == {"7"}
    assert kept["customerID"].str.startswith("C").all()


def test_a_server_side_failure_is_one_line_and_rolls_back(engine: sa.Engine) -> None:
    replace_scores(engine, "scores_d", scores(100), "1", FIRST)
    too_long = scores(400).assign(customerID=lambda f: f["customerID"].astype(object))
    with engine.begin() as connection:  # the CRM narrowed the column: long ids fail there
        connection.execute(sa.text('ALTER TABLE scores_d ALTER COLUMN "customerID" '
                                   "TYPE varchar(6)"))
    too_long.loc[399, "customerID"] = "C-this-id-is-far-too-long"
    with pytest.raises(ScoreTableWriteError) as failure:
        replace_scores(engine, "scores_d", too_long, "2", SECOND, chunk_rows=100)
    assert "\n" not in str(failure.value) and "too long" in str(failure.value)
    assert "previous rows are kept" in str(failure.value)
    kept = read(engine, "scores_d")
    assert len(kept) == 100 and set(kept["model_version"]) == {"1"}


@pytest.mark.parametrize("name", ["", "a.b.c", "scores;drop", "1table", "x" * 64])
def test_bad_table_names_are_refused_by_name(name: str, engine: sa.Engine) -> None:
    with pytest.raises(ScoreTableError, match="scores table name"):
        replace_scores(engine, name, scores(3), "1", FIRST)
