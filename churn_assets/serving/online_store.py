"""Each customer's newest raw row, for ``GET /customers/{id}``: the model takes raw rows and
preprocesses them itself, so the row stored is exactly the row batch scoring reads, and the
online answer equals the batch one.

``CHURN_ONLINE_STORE_URL``: ``redis://host:port/db`` (production, tests) or a SQLite file
(default: ``online_features.db`` in the state folder). Rows are JSON objects under the id.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

PREFIX = "churn:customer:"


class OnlineStore(Protocol):
    def get(self, customer_id: str) -> dict[str, Any] | None: ...

    def put(self, records: Iterable[tuple[str, str]]) -> int: ...


def row_records(rows: pd.DataFrame, id_column: str) -> Iterable[tuple[str, str]]:
    """(id, JSON row) per customer; a later row of the same id wins, as in a snapshot."""
    texts = rows.to_json(orient="records", lines=True, date_format="iso").splitlines()
    return zip(rows[id_column].astype(str), texts, strict=True)


class SqliteStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, row TEXT)")

    def _connect(self) -> sqlite3.Connection:
        # A connection per call: the service answers on several threads.
        return sqlite3.connect(self.path, timeout=30)

    def get(self, customer_id: str) -> dict[str, Any] | None:
        with self._connect() as db:
            found = db.execute("SELECT row FROM customers WHERE id = ?",
                               (customer_id,)).fetchone()
        return json.loads(found[0]) if found else None

    def put(self, records: Iterable[tuple[str, str]]) -> int:
        records = list(records)
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO customers VALUES (?, ?)", records)
        return len(records)


class RedisStore:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2)

    def get(self, customer_id: str) -> dict[str, Any] | None:
        found = self.client.get(PREFIX + customer_id)
        return json.loads(found) if found else None

    def put(self, records: Iterable[tuple[str, str]], chunk: int = 10_000) -> int:
        count, pipe = 0, self.client.pipeline(transaction=False)
        for key, text in records:
            pipe.set(PREFIX + key, text)
            count += 1
            if count % chunk == 0:
                pipe.execute()
        pipe.execute()
        return count


def open_store(url: str) -> OnlineStore:
    """A Redis URL, else a SQLite file (``sqlite:///`` optional)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    return SqliteStore(Path(url.removeprefix("sqlite:///")))


def push_snapshot(store: OnlineStore, frames: Iterable[pd.DataFrame], id_column: str,
                  drop: tuple[str, ...] = ()) -> int:
    """Each customer's row (the raw columns the model reads, ``drop`` left out: the target and
    the pipeline's own columns) into the store, frame by frame (partitions stay apart)."""
    count = 0
    for frame in frames:
        rows = frame.drop(columns=[c for c in drop if c in frame.columns])
        count += store.put(row_records(rows, id_column))
    return count
