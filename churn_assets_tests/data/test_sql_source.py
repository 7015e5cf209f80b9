"""SQL sources against a real PostgreSQL on 127.0.0.1 (password auth, credentials from the
environment): chunked reads, the digest as data version, the watermark. Bad reads (wrong
password, no rows, missing table or column) are cases of test_bad_inputs."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

from churn_assets.data import sql_source
from churn_assets.data.sources import SourceError, read_source
from churn_assets.data.sql_watermark import WatermarkCursor, is_newer, read_watermark
from churn_assets_tests.helpers.services import running_postgres
from churn_assets_tests.helpers.workspace import customers

PASSWORD = "s3cret-for-tests"
PASSWORD_VARIABLE = "CHURN_TEST_PG_PASSWORD"
N_ROWS = 400


def url(port: int) -> str:
    return f"postgresql://dagster:${{{PASSWORD_VARIABLE}}}@127.0.0.1:{port}/postgres"


def seeded_frame() -> pd.DataFrame:
    frame = customers(N_ROWS, seed=11)
    frame["updated_at"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(frame.index, unit="h")
    return frame


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    with running_postgres(password=PASSWORD) as port:
        engine = sa.create_engine(f"postgresql://dagster:{PASSWORD}@127.0.0.1:{port}/postgres")
        with engine.begin() as connection:
            seeded_frame().to_sql("customers", connection, index=False)
            seeded_frame().drop(columns="Contract").to_sql("no_contract", connection,
                                                           index=False)
        engine.dispose()
        yield port


@pytest.fixture
def env_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_VARIABLE, PASSWORD)


def test_a_table_reads_like_the_csv_it_came_from(postgres: int, env_password: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_source, "CHUNK_ROWS", 150)  # three chunks of 150, 150, 100
    table = read_source(url(postgres), table="customers", text_columns=("customerID",))
    expected = seeded_frame()
    assert len(table.frame) == N_ROWS and list(table.frame.columns) == list(expected.columns)
    assert (table.frame["customerID"] == expected["customerID"]).all()
    assert table.frame["tenure"].tolist() == expected["tenure"].tolist()
    assert table.frame["MonthlyCharges"].dtype == "float64"
    assert any("in 3 chunk(s) of at most 150" in note for note in table.notes), table.notes
    assert PASSWORD not in table.uri and "${" + PASSWORD_VARIABLE + "}" in table.uri
    again = read_source(url(postgres), table="customers", text_columns=("customerID",))
    assert again.sha256 == table.sha256  # unchanged table, unchanged data version


def test_a_query_reads_its_rows_and_its_digest_differs(postgres: int, env_password: None) -> None:
    whole = read_source(url(postgres), table="customers")
    part = read_source(url(postgres), query='SELECT * FROM customers WHERE "tenure" < 12')
    assert 0 < len(part.frame) < N_ROWS
    assert (part.frame["tenure"] < 12).all()
    assert part.sha256 != whole.sha256


def test_an_unset_credential_variable_is_named(postgres: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    with pytest.raises(SourceError, match=f"environment variable {PASSWORD_VARIABLE}"):
        read_source(url(postgres), table="customers")


def test_the_watermark_moves_only_when_rows_arrive(postgres: int, env_password: None) -> None:
    engine = sa.create_engine(f"postgresql://dagster:{PASSWORD}@127.0.0.1:{postgres}/postgres")
    with engine.begin() as connection:
        seeded_frame().to_sql("watched", connection, index=False, if_exists="replace")
    first = read_watermark(url(postgres), "updated_at", table="watched")
    assert first.rows == N_ROWS and first.watermark.startswith("2026-01-17 15:00")
    assert is_newer(first, WatermarkCursor()) and not is_newer(first, WatermarkCursor(
        first.watermark))
    by_query = read_watermark(url(postgres), "updated_at",
                              query="SELECT * FROM watched WHERE tenure < 12")
    assert by_query.rows < N_ROWS and by_query.watermark <= first.watermark
    with engine.begin() as connection:
        seeded_frame().iloc[:1].assign(updated_at=pd.Timestamp("2026-03-01")).to_sql(
            "watched", connection, index=False, if_exists="append")
    engine.dispose()
    second = read_watermark(url(postgres), "updated_at", table="watched")
    assert second.rows == N_ROWS + 1 and second.watermark.startswith("2026-03-01")
    assert is_newer(second, WatermarkCursor(first.watermark))
    assert WatermarkCursor.from_json(WatermarkCursor(second.watermark).to_json()) == \
        WatermarkCursor(second.watermark)


@pytest.mark.parametrize("written, shown", [
    ("postgresql://u:literal-secret@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("postgresql+psycopg2://u:${PW}@h/db", "postgresql+psycopg2://u:${PW}@h/db"),
    ("postgresql://u:literal-secret@${HOST}/db", "postgresql://u:***@${HOST}/db"),
    ("sqlite:///customers.db", "sqlite:///customers.db"),
])
def test_a_literal_password_never_reaches_a_message(written: str, shown: str) -> None:
    assert sql_source.masked_url(written) == shown
