"""A customer table from a database (any SQLAlchemy URL), read in chunks, never written to.

Credentials come from the environment: ``${VAR}`` in the URL is replaced at connect time
(e.g. ``postgresql://churn:${CHURN_DB_PASSWORD}@db/crm``), and drivers' own variables
(``PGPASSWORD``, ``PGUSER``, ...) apply as usual. Messages and metadata show the URL with
the password masked. The data version is a digest of the rows read, so an unchanged table
shows up as unchanged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import pandas as pd

from churn_assets.data.source_errors import SourceError, SourceUnavailable
from churn_assets.environment import variable

CHUNK_ROWS = 50_000
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_url(url: str) -> str:
    """``${VAR}`` replaced from the environment; an unset variable is an error naming it."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        secret = variable(name)
        if secret is None:
            raise SourceError(f"the source URL needs the environment variable {name}, "
                              "which is not set")
        from urllib.parse import quote

        return quote(secret, safe="")
    return _VARIABLE.sub(value, url)


_PASSWORD = re.compile(r"^([^:/]+://[^:/@]*:)([^@]*)(@)")


def masked_url(url: str) -> str:
    """The URL as it may appear in logs and metadata: a literal password replaced by ***,
    a ``${VAR}`` reference kept as written (it names the variable, not the secret)."""
    def mask(match: re.Match) -> str:
        secret = match.group(2)
        shown = secret if _VARIABLE.fullmatch(secret) else "***"
        return f"{match.group(1)}{shown}{match.group(3)}"
    return _PASSWORD.sub(mask, url, count=1)


def table_label(url: str, table: str = "", query: str = "") -> str:
    what = f"table {table}" if table else "query " + " ".join(query.split())[:80]
    return f"{masked_url(url)} ({what})"


def _statement(table: str, query: str):
    from sqlalchemy import text
    from sqlalchemy.sql import quoted_name, select
    from sqlalchemy.sql import table as table_clause

    if query:
        return text(query)
    schema, _, name = table.rpartition(".")
    return select("*").select_from(table_clause(quoted_name(name, None),
                                                schema=schema or None))


def engine_for(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        return create_engine(expand_url(url), pool_pre_ping=False)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise SourceError(f"{masked_url(url)}: not a usable database URL "
                          f"({type(error).__name__})") from None


def first_line(error: Exception) -> str:
    # DBAPI messages span lines (libpq adds hints); the first says what happened.
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__


def _read_chunks(engine, statement, label: str) -> tuple[list[pd.DataFrame], str]:
    from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

    digest = hashlib.sha256()
    chunks: list[pd.DataFrame] = []
    try:
        with engine.connect() as connection:
            for chunk in pd.read_sql_query(statement, connection, chunksize=CHUNK_ROWS,
                                           dtype_backend="numpy_nullable"):
                digest.update(pd.util.hash_pandas_object(chunk, index=False).to_numpy()
                              .tobytes())
                chunks.append(chunk)
    except OperationalError as error:
        message = first_line(error)
        refused = any(w in message.lower() for w in ("password", "authentication", "role"))
        kind = SourceError if refused else SourceUnavailable
        raise kind(f"{label}: cannot connect: {message}") from None
    except (ProgrammingError, DBAPIError) as error:
        raise SourceError(f"{label}: the database refused the read: {first_line(error)}") from None
    return chunks, digest.hexdigest()


def read_sql_table(url: str, table: str = "", query: str = "",
                   text_columns: Iterable[str] = ()) -> tuple[pd.DataFrame, str, list[str]]:
    """(frame, sha256 of the rows read, notes). Empty result -> SourceError."""
    label = table_label(url, table, query)
    engine = engine_for(url)
    try:
        chunks, digest = _read_chunks(engine, _statement(table, query), label)
    finally:
        engine.dispose()
    if not chunks or sum(len(c) for c in chunks) == 0:
        columns = len(chunks[0].columns) if chunks else 0
        raise SourceError(f"{label}: no rows ({columns} columns)")
    frame = pd.concat(chunks, ignore_index=True)
    frame = _plain_dtypes(frame, tuple(text_columns))
    notes = [f"read {len(frame)} rows in {len(chunks)} chunk(s) of at most {CHUNK_ROWS}"]
    return frame, digest, notes


def _plain_dtypes(frame: pd.DataFrame, text_columns: tuple[str, ...]) -> pd.DataFrame:
    # Nullable database types -> the plain dtypes a CSV gives: float64 for numbers (NULL ->
    # NaN), object for text, so the rest of the pipeline sees one kind of frame.
    plain = frame.copy()
    for column in plain.columns:
        values = plain[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            plain[column] = values.astype(str).where(values.notna(), None)
        elif column in text_columns or not pd.api.types.is_numeric_dtype(values) \
                or pd.api.types.is_bool_dtype(values):
            plain[column] = values.astype(object).where(values.notna(), None)
            if column in text_columns:
                plain[column] = plain[column].map(lambda v: v if v is None else str(v))
        elif pd.api.types.is_integer_dtype(values) and not values.isna().any():
            plain[column] = values.astype("int64")
        else:
            plain[column] = values.astype("float64")
    return plain


def lineage_source(source: str, table: str = "", query: str = ""):
    """The MLflow dataset source a run records as its training input: MLflow resolves files
    and s3:// itself but knows no database URL, so that one is recorded by its masked label."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    from churn_assets.dataset_config import is_sql_url

    if not is_sql_url(source):
        return resolve_dataset_source(source)
    from mlflow.data.code_dataset_source import CodeDatasetSource

    return CodeDatasetSource({"database": table_label(source, table, query)})
