"""Read a customer table from a local path or an s3:// URI, CSV or Parquet, never modifying it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

SUPPORTED_SUFFIXES = (".csv", ".parquet")


class SourceError(ValueError):
    """The source cannot be read: wrong scheme, unsupported format, missing object."""


@dataclass(frozen=True)
class SourceTable:
    uri: str
    frame: pd.DataFrame
    n_bytes: int
    sha256: str


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise SourceError(f"not an s3://bucket/key URI: {uri}")
    return bucket, key


def read_source_bytes(uri: str, s3_client: Any | None = None) -> bytes:
    if uri.startswith("s3://"):
        if s3_client is None:
            raise SourceError(f"{uri} needs an S3 client")
        bucket, key = split_s3_uri(uri)
        return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    path = Path(uri)
    if not path.is_file():
        raise SourceError(f"source file not found: {uri}")
    return path.read_bytes()


def parse_table(data: bytes, uri: str) -> pd.DataFrame:
    suffix = Path(uri.split("?")[0]).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(f"unsupported source format '{suffix or '(none)'}' for {uri}: "
                          f"use one of {', '.join(SUPPORTED_SUFFIXES)}")
    if not data:
        raise SourceError(f"source is empty: {uri}")
    if suffix == ".parquet":
        return pd.read_parquet(io.BytesIO(data))
    # keep_default_na=False would turn real gaps into ''; the default marks them NaN and
    # leaves blanks such as TotalCharges ' ' as text for validation to coerce and report.
    return pd.read_csv(io.BytesIO(data), low_memory=False)


def read_source(uri: str, s3_client: Any | None = None) -> SourceTable:
    data = read_source_bytes(uri, s3_client)
    return SourceTable(uri, parse_table(data, uri), len(data), hashlib.sha256(data).hexdigest())
