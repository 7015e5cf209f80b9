"""A converted slice written to Feast's SQLite online store as Feast's ``SqliteOnlineStore.
online_write_batch`` writes it (one row per customer and feature: the serialized entity key,
the feature's name, its serialized ``Value``, its text, the event time), by one SQL statement
per slice instead of a Python loop over every cell.

Feast's loop made 19 upserts per customer, each with its own key serialization, proto
serialization, text extraction and timestamp adaptation: 28 of the push's 32 CPU s for 100k
customers (profiled). Binding the cells from Python instead (one ``executemany`` row per cell)
still cost 140 CPU s for 1M customers, two thirds of it sqlite3's per-row binding. Here
Python hands SQLite three things per slice: the distinct values (a few hundred rows), the
customers' keys (one row each), and every cell as a number in one JSON array (a customer's
features side by side, in name order), which SQLite's ``json_each`` unpacks and joins in C, so
the rows reach the table in primary-key order (entity key, feature name) and its indexes grow
at their ends. Only the plain configuration the project uses takes this path (no vector
columns, no ``value_num``); any other goes through Feast's own writer. The stored rows are
compared with Feast's own writer's, byte for byte, in
churn_assets_tests/serving/test_online_push.py.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from churn_assets.serving.online_rows import ConvertedSlice

# Per connection (TEMP): the slice's distinct values and customers, emptied after each slice.
_SCRATCH = (
    "CREATE TEMP TABLE IF NOT EXISTS churn_push_values (code INTEGER PRIMARY KEY, "
    "feature_name TEXT, value BLOB, value_text TEXT)",
    "CREATE TEMP TABLE IF NOT EXISTS churn_push_keys (position INTEGER PRIMARY KEY, "
    "entity_key BLOB, event_ts INTEGER)",
)


def fast_path(config: Any) -> bool:
    """True for Feast's SQLite store without the options that add columns to its rows."""
    store = config.online_store
    return (getattr(store, "type", "") == "sqlite" and not store.vector_enabled
            and not getattr(store, "enable_openai_compatible_store", False))


def _upsert(table: str) -> str:
    """Each cell of the JSON array ``?1`` (a code into ``churn_push_values``; cell ``i`` is
    customer ``i // ?2``) as Feast's row; ``WHERE true`` tells SQLite's parser the ``ON`` that
    follows is the upsert's, not a join's."""
    quoted = '"' + table.replace('"', '""') + '"'
    return (f"INSERT INTO {quoted} (entity_key, feature_name, value, value_text, event_ts, "
            "created_ts) SELECT k.entity_key, v.feature_name, v.value, v.value_text, k.event_ts, "
            "NULL FROM json_each(?1) AS cell "
            "JOIN temp.churn_push_keys AS k ON k.position = cell.key / ?2 "
            "JOIN temp.churn_push_values AS v ON v.code = cell.value WHERE true "
            "ON CONFLICT(entity_key, feature_name) DO UPDATE SET value = excluded.value, "
            "value_text = excluded.value_text, event_ts = excluded.event_ts, "
            "created_ts = excluded.created_ts")


def write(connection: Any, config: Any, view: Any, rows: ConvertedSlice) -> None:
    """``rows`` upserted into the view's table, as Feast's ``online_write_batch`` does."""
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.infra.online_stores.helpers import compute_table_id, extract_text_and_num
    from feast.utils import to_naive_utc

    table = compute_table_id(config.project, view,
                             config.registry.enable_online_feature_view_versioning)
    version = config.entity_key_serialization_version
    keys = [serialize_entity_key(key, entity_key_serialization_version=version)
            for key in rows.keys]
    # Feast's registered adapter stores a datetime as int(naive UTC datetime.timestamp()).
    codes, times = rows.event_times
    stamps = np.array([int(to_naive_utc(at).timestamp()) for at in times], dtype=np.int64)[codes]
    names = sorted(rows.features)
    values, first = [], 0
    columns = []  # per feature (name order): each customer's code into ``values``
    for name in names:
        feature_codes, protos = rows.features[name]
        values += [(first + i, name, proto.SerializeToString(),
                    extract_text_and_num(proto, False)[0]) for i, proto in enumerate(protos)]
        columns.append(np.asarray(feature_codes, dtype=np.int64) + first)
        first += len(protos)
    # Customers in serialized-key order, a repeated key's last row alone (as Feast's loop
    # leaves it): then no two cells share a primary key, whatever order SQLite joins them in.
    order = np.argsort(np.array(keys, dtype=object), kind="stable")
    order = order[[keys[i] != keys[j] for i, j in zip(order[:-1], order[1:], strict=True)]
                  + [True]] if len(order) else order
    cells = np.column_stack(columns)[order].ravel() if columns else np.empty(0, np.int64)
    with connection:
        for statement in _SCRATCH:
            connection.execute(statement)
        connection.executemany("INSERT INTO temp.churn_push_values VALUES (?, ?, ?, ?)", values)
        connection.executemany("INSERT INTO temp.churn_push_keys VALUES (?, ?, ?)", zip(
            range(len(order)), [keys[i] for i in order], stamps[order].tolist(), strict=True))
        connection.execute(_upsert(table), (json.dumps(cells.tolist()), max(len(names), 1)))
        connection.execute("DELETE FROM temp.churn_push_values")
        connection.execute("DELETE FROM temp.churn_push_keys")
