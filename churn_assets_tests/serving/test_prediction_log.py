"""The log writer alone: a database that accepts connections and never answers does not slow
``submit``; one that cannot be opened gets the rows spooled, and they are replayed once it
can, each row once."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from churn_assets.serving.prediction_log import PredictionLog


def rows(start: int, count: int) -> list[dict]:
    now = datetime.now(UTC)
    return [{"log_id": f"r{i}:0:champion", "request_id": f"r{i}", "logged_at": now,
             "customer_id": f"c{i}", "model_name": "m", "model_version": "1",
             "arm": "champion", "churn_probability": 0.5, "churn_prediction": 1,
             "threshold": 0.4, "reasons": "[]", "latency_ms": 1.0, "input_row": "{}"}
            for i in range(start, start + count)]


def test_a_database_that_never_answers_does_not_slow_submit(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts (the kernel's backlog) and never says a word
    port = silent.getsockname()[1]
    log = PredictionLog(f"postgresql+psycopg2://u@127.0.0.1:{port}/db", tmp_path / "spool.jsonl",
                        batch_rows=50, flush_seconds=0.05).start()
    accepted = None
    try:
        log.submit("prediction_log", rows(200, 1))  # the writer takes it and connects
        silent.settimeout(30)
        accepted, _ = silent.accept()  # the writer is now stuck connecting: nothing answers
        start = time.perf_counter()
        for i in range(200):
            log.submit("prediction_log", rows(i, 1))
        assert time.perf_counter() - start < 0.5  # 200 submits while the database hangs
        deadline = time.monotonic() + 30
        while log.stats()["spooled"] < 201 and time.monotonic() < deadline:
            time.sleep(0.2)
        stats = log.stats()
        assert stats["spooled"] == 201 and stats["written"] == 0
        assert stats["write_failures"] >= 1 and "timeout" in stats["last_error"].lower()
    finally:
        threading.Thread(target=log.stop, daemon=True).start()
        if accepted is not None:
            accepted.close()
        silent.close()


def test_spooled_rows_are_replayed_once_when_the_database_opens(tmp_path: Path) -> None:
    folder = tmp_path / "not-yet"  # SQLite cannot open a file in a missing folder
    url = f"sqlite:///{folder / 'log.db'}"
    log = PredictionLog(url, tmp_path / "spool.jsonl", batch_rows=40, flush_seconds=0.05).start()
    for start in range(0, 120, 30):
        log.submit("prediction_log", rows(start, 30))
    deadline = time.monotonic() + 30
    while log.stats()["spooled"] < 120 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert log.stats()["spool_pending"] == 120
    folder.mkdir()
    log.submit("prediction_log", rows(120, 10))
    deadline = time.monotonic() + 30
    while log.stats()["spool_pending"] and time.monotonic() < deadline:
        time.sleep(0.2)
    log.stop()
    stored = pd.read_sql("SELECT log_id FROM prediction_log", sa.create_engine(url))
    assert sorted(stored["log_id"]) == sorted(r["log_id"] for r in rows(0, 130))
    # rows arriving during the back-off are spooled too, then replayed with the rest
    assert log.counts["replayed"] >= 120 and log.counts["written"] == 130


def test_a_reader_in_a_transaction_does_not_hold_up_the_sqlite_writer(tmp_path: Path) -> None:
    """The default SQLite log is in write-ahead-log mode: a monitoring asset reading it (an
    open read transaction) does not stop the writer's commits, which a rollback journal would
    until the reader finished; and every row gathered over the flush time is written."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = PredictionLog(url, tmp_path / "spool.jsonl", flush_seconds=0.05).start()
    try:
        log.submit("prediction_log", rows(0, 1))
        deadline = time.monotonic() + 30
        while log.counts["written"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        reader = sa.create_engine(url).connect()
        assert reader.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        reader.exec_driver_sql("BEGIN")
        assert reader.exec_driver_sql("SELECT count(*) FROM prediction_log").scalar() == 1
        for i in range(1, 31):  # 30 submissions while the reader's transaction is open
            log.submit("prediction_log", rows(i, 1))
        deadline = time.monotonic() + 10
        while log.counts["written"] < 31 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log.counts["written"] == 31 and log.counts["spooled"] == 0
        assert reader.exec_driver_sql("SELECT count(*) FROM prediction_log").scalar() == 1
        reader.exec_driver_sql("COMMIT")
        assert reader.exec_driver_sql("SELECT count(*) FROM prediction_log").scalar() == 31
        reader.close()
    finally:
        log.stop()


def test_the_sqlite_insert_stores_what_sqlalchemy_stored(tmp_path: Path) -> None:
    """The default log's one-``executemany`` insert against SQLAlchemy's own statement: the
    same stored values (dates as SQLAlchemy writes them, NULLs, awkward text), the same rows
    skipped when present, on all three tables."""
    from sqlalchemy.dialects.sqlite import insert

    from churn_assets.data.log_tables import METADATA, TABLES
    from churn_assets.serving.prediction_log import _insert_ignoring_present

    batch = rows(0, 30)
    batch[3].update(customer_id=None, reasons=None, latency_ms=None, input_row='{"a": "é\\n"}')
    batch[4]["logged_at"] = datetime(2026, 1, 2, 3, 4, 5, 6)  # naive, no microsecond padding
    tables = {"prediction_log": batch,
              "alias_history": [{"event_id": "e1", "served_from": datetime.now(UTC),
                                 "model_name": "m", "alias": "champion", "version": "2",
                                 "previous_version": "", "load_check": "ok", "host": "h:1"}],
              "outcomes": [{"outcome_id": "c1:t", "customer_id": "c1", "churned": 1,
                            "observed_at": datetime.now(UTC),
                            "received_at": datetime.now(UTC)}]}
    stored = []
    for way in ("sqlalchemy", "ours"):
        engine = sa.create_engine(f"sqlite:///{tmp_path / way}.db")
        METADATA.create_all(engine)
        for name, table_rows in tables.items():
            for _ in range(2):  # the second time every row is present: nothing added
                if way == "ours":
                    _insert_ignoring_present(engine, name, table_rows)
                else:
                    with engine.begin() as connection:
                        connection.execute(insert(TABLES[name]).on_conflict_do_nothing(),
                                           table_rows)
        with engine.connect() as connection:
            stored.append({name: connection.exec_driver_sql(  # values and their SQLite types
                "SELECT *, " + ", ".join(f"typeof({c.name})" for c in TABLES[name].columns)
                + f" FROM {name} ORDER BY rowid").fetchall() for name in tables})
        engine.dispose()
    assert stored[0] == stored[1]
    assert len(stored[1]["prediction_log"]) == 30
