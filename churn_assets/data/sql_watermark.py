"""Watching a database table for new rows by a watermark column (e.g. ``updated_at``).

The landing sensor asks the database for the column's maximum and the row count; a larger
maximum than the cursor's means new or updated rows, and one run reads the configured
table or query again. The cursor is the last maximum seen, as text, so it survives any
column type; values are compared in the database's own order (``max``) and by equality here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from churn_assets.data.source_errors import SourceError, SourceUnavailable
from churn_assets.data.sql_source import engine_for, first_line, table_label


@dataclass(frozen=True)
class WatermarkCursor:
    watermark: str = ""

    def to_json(self) -> str:
        return json.dumps({"watermark": self.watermark})

    @classmethod
    def from_json(cls, text: str | None) -> WatermarkCursor:
        if not text:
            return cls()
        data = json.loads(text)
        if not isinstance(data, dict) or "watermark" not in data:
            raise ValueError("cursor is not a watermark cursor (was the landing a folder?)")
        return cls(str(data["watermark"]))


@dataclass(frozen=True)
class WatermarkReading:
    watermark: str  # "" when the table is empty or the column entirely NULL
    rows: int
    label: str  # the URL with its password masked, and the table or query


def read_watermark(url: str, column: str, table: str = "", query: str = "") -> WatermarkReading:
    from sqlalchemy import column as column_clause
    from sqlalchemy import func, select, text
    from sqlalchemy import table as table_clause
    from sqlalchemy.exc import DBAPIError, OperationalError

    label = table_label(url, table, query)
    if query:
        source = text(query).columns(column_clause(column)).subquery("source")
    else:
        schema, _, name = table.rpartition(".")
        source = table_clause(name, column_clause(column), schema=schema or None)
    statement = select(func.max(source.c[column]), func.count()).select_from(source)
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            latest, rows = connection.execute(statement).one()
    except OperationalError as error:
        message = first_line(error)
        refused = any(w in message.lower() for w in ("password", "authentication", "role"))
        raise (SourceError if refused else SourceUnavailable)(
            f"{label}: cannot connect: {message}") from None
    except DBAPIError as error:
        raise SourceError(f"{label}: cannot read watermark '{column}': "
                          f"{first_line(error)}") from None
    finally:
        engine.dispose()
    return WatermarkReading("" if latest is None else str(latest), int(rows), label)


def is_newer(reading: WatermarkReading, cursor: WatermarkCursor) -> bool:
    """New rows: a watermark where none was, or another maximum than the one last seen (the
    database's ``max`` only grows as rows are added or updated with a later stamp)."""
    return bool(reading.watermark) and reading.watermark != cursor.watermark
