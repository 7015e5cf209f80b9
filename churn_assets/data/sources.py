"""Read a customer table from a local path or an s3:// URI (CSV, Parquet or Excel .xlsx) or
from a database (an SQLAlchemy URL, ``sql_source``), never modifying it.

Whatever had to be repaired to read the file (a byte-order mark, another delimiter, an
encoding fallback, gzip, a repeated header row, formatted numbers) comes back as notes with
the table; what cannot be read raises ``SourceError`` with a one-line message naming the file.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from churn_assets.data.csv_text import (
    decode_csv_bytes,
    detect_delimiter,
    read_csv_strings,
    read_plain_csv,
)
from churn_assets.data.excel_source import read_xlsx_strings
from churn_assets.data.source_errors import SourceError, SourceUnavailable
from churn_assets.data.text_types import type_columns
from churn_assets.dataset_config import is_sql_url

__all__ = ["SUPPORTED_SUFFIXES", "SourceError", "SourceTable", "SourceUnavailable",
           "parse_table", "read_source", "read_source_bytes", "split_s3_uri"]

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".xlsx")


@dataclass(frozen=True)
class SourceTable:
    uri: str
    frame: pd.DataFrame
    n_bytes: int
    sha256: str
    notes: tuple[str, ...] = ()  # coercions applied while reading, one sentence each


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise SourceError(f"not an s3://bucket/key URI: {uri}")
    return bucket, key


def _s3_object_bytes(uri: str, s3_client: Any) -> bytes:
    bucket, key = split_s3_uri(uri)
    try:
        return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:  # botocore's ClientError, without importing botocore here
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            raise SourceError(f"source object not found: {uri} ({code})") from None
        if code is None and _is_connection_error(error):
            endpoint = getattr(getattr(s3_client, "meta", None), "endpoint_url", "?")
            raise SourceUnavailable(f"cannot reach the S3 endpoint {endpoint} to read {uri}: "
                                    f"{type(error).__name__}") from None
        raise


def _is_connection_error(error: Exception) -> bool:
    # botocore's EndpointConnectionError / ConnectionClosedError / ReadTimeoutError, by
    # module and name so this module needs no botocore import.
    module = type(error).__module__
    return module.startswith(("botocore", "urllib3")) and any(
        word in type(error).__name__ for word in ("Connection", "Connect", "Timeout"))


def read_source_bytes(uri: str, s3_client: Any | None = None) -> bytes:
    if uri.startswith("s3://"):
        if s3_client is None:
            raise SourceError(f"{uri} needs an S3 client")
        return _s3_object_bytes(uri, s3_client)
    path = Path(uri)
    if not path.is_file():
        raise SourceError(f"source file not found: {uri}")
    return path.read_bytes()


def _suffix(uri: str) -> str:
    name = Path(uri.split("?")[0]).name.lower()
    return next((s for s in SUPPORTED_SUFFIXES if name.endswith(s)), Path(name).suffix)


def _parse_parquet(data: bytes, uri: str, text_columns: Iterable[str]) -> tuple[pd.DataFrame, list]:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as error:  # pyarrow raises several types for corrupt files
        raise SourceError(f"{uri}: not a valid Parquet file ({str(error)[:150]})") from None
    notes = []
    for column in text_columns:
        if column in frame and not pd.api.types.is_string_dtype(frame[column]):
            notes.append(f"column '{column}' is stored as {frame[column].dtype} in the Parquet "
                         "file: read as text (leading zeros, if any, were lost when written)")
            frame[column] = frame[column].astype("string").astype(object)
    return frame, notes


def _parse_csv(data: bytes, uri: str, text_columns: Iterable[str]) -> tuple[pd.DataFrame, list]:
    text, notes = decode_csv_bytes(data, uri)
    delimiter = detect_delimiter(text)
    strings, parse_notes = None, []
    if not notes and delimiter == ",":  # plain UTF-8: parse the bytes, drop the text first
        del text
        strings = read_plain_csv(data)
        if strings is None:  # something to repair or report: the careful path below
            text, _ = decode_csv_bytes(data, uri)
    if strings is None:
        strings, parse_notes = read_csv_strings(text, uri)
    frame, type_notes = type_columns(strings, delimiter, text_columns, in_place=True)
    return frame, [*notes, *parse_notes, *type_notes]


def _parse_xlsx(data: bytes, uri: str, text_columns: Iterable[str], sheet: str
                ) -> tuple[pd.DataFrame, list]:
    strings, notes = read_xlsx_strings(data, uri, sheet)
    frame, type_notes = type_columns(strings, ",", text_columns, in_place=True)
    return frame, [*notes, *type_notes]


def parse_table(data: bytes, uri: str, *, text_columns: Iterable[str] = (), sheet: str = ""
                ) -> tuple[pd.DataFrame, list[str]]:
    """Bytes -> (frame, notes). ``text_columns`` (e.g. the id column) are kept as text."""
    suffix = _suffix(uri)
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(f"unsupported source format '{suffix or '(none)'}' for {uri}: "
                          f"use one of {', '.join(SUPPORTED_SUFFIXES)}")
    if not data:
        raise SourceError(f"{uri}: empty file (0 bytes)")
    text_columns = tuple(text_columns)
    if suffix == ".parquet":
        frame, notes = _parse_parquet(data, uri, text_columns)
    elif suffix == ".xlsx":
        frame, notes = _parse_xlsx(data, uri, text_columns, sheet)
    else:
        frame, notes = _parse_csv(data, uri, text_columns)
    if frame.empty and len(frame.columns):
        raise SourceError(f"{uri}: header only, no data rows ({len(frame.columns)} columns)")
    return frame, notes


def read_source(uri: str, s3_client: Any | None = None, *, text_columns: Iterable[str] = (),
                sheet: str = "", table: str = "", query: str = "") -> SourceTable:
    """``table``/``query`` apply to an SQL URL, ``sheet`` to an .xlsx workbook."""
    if is_sql_url(uri):
        from churn_assets.data.sql_source import read_sql_table, table_label

        frame, digest, notes = read_sql_table(uri, table, query, text_columns)
        n_bytes = int(frame.memory_usage(deep=True).sum())
        return SourceTable(table_label(uri, table, query), frame, n_bytes, digest, tuple(notes))
    data = read_source_bytes(uri, s3_client)
    frame, notes = parse_table(data, uri, text_columns=text_columns, sheet=sheet)
    return SourceTable(uri, frame, len(data), hashlib.sha256(data).hexdigest(), tuple(notes))
