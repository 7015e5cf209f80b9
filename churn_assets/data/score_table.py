"""Churn scores in a database table the CRM reads (SQLAlchemy; PostgreSQL in production).

Each write replaces the previous snapshot's rows in ONE transaction (PostgreSQL's DDL is
transactional too): a reader sees the old rows or the new ones, never a mix, and a failure
midway rolls back to the old rows. The table keeps its grants and indexes while the columns
stay the same; when the frame's columns change (new score columns), it is recreated.
"""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

MODEL_VERSION_COLUMN = "model_version"
SCORED_AT_COLUMN = "scored_at"
CHUNK_ROWS = 5_000  # rows per INSERT statement
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ScoreTableError(ValueError):
    """The configured table name cannot name a table."""


class ScoreTableWriteError(RuntimeError):
    """The write failed and was rolled back; the table holds its previous rows."""


def split_table_name(name: str) -> tuple[str | None, str]:
    """``schema.table`` or ``table`` -> (schema or None, table); one line naming the problem."""
    parts = name.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER.match(part) for part in parts):
        raise ScoreTableError(f"scores table name {name!r} must be 'table' or 'schema.table' "
                              "of letters, digits and underscores")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def table_rows(scores: pd.DataFrame, model_version: str, scored_at: datetime) -> pd.DataFrame:
    """Whatever columns the scores have, plus the model version and the scoring time."""
    clash = {MODEL_VERSION_COLUMN, SCORED_AT_COLUMN} & set(scores.columns)
    if clash:
        raise ScoreTableError(f"scores already have column(s) {', '.join(sorted(clash))}")
    return scores.assign(**{MODEL_VERSION_COLUMN: str(model_version),
                            SCORED_AT_COLUMN: pd.Timestamp(scored_at)})


def replace_scores(
    engine: sa.Engine, table: str, scores: pd.DataFrame, model_version: str,
    scored_at: datetime, chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Replace every row of ``table`` with ``scores`` in one transaction; rows written."""
    schema, name = split_table_name(table)
    rows = table_rows(scores, model_version, scored_at)
    try:
        with engine.begin() as connection:  # commits on success, rolls back on any error
            inspector = sa.inspect(connection)
            mode = "replace"
            if inspector.has_table(name, schema=schema):
                existing = {c["name"] for c in inspector.get_columns(name, schema=schema)}
                if existing == set(rows.columns):
                    connection.execute(sa.Table(name, sa.MetaData(), schema=schema).delete())
                    mode = "append"
            rows.to_sql(name, connection, schema=schema, if_exists=mode, index=False,
                        chunksize=chunk_rows, method="multi")
    except sa.exc.SQLAlchemyError as error:  # its text repeats the whole INSERT statement
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ScoreTableWriteError(f"scores not written to table {table} (its previous rows "
                                   f"are kept): {detail}") from error
    return len(rows)
