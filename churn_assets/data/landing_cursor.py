"""Listing of the landing location and the cursor that decides which snapshots are new.

We keep our own cursor instead of dagster_aws's ``get_objects``: that helper breaks when its
``since_key`` object is deleted, drops objects sharing a LastModified second and ignores
custom endpoints. Here the cursor is an instant plus the keys already handled at that instant.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from churn_assets.data.sources import SUPPORTED_SUFFIXES

_HASH_CHUNK = 1 << 20
MAX_KEY_BYTES = 1024  # S3's own limit; anything longer did not come from S3
# Cc: control characters (newlines split log lines and tags); Cf: invisible format characters
# such as U+202E (right-to-left override) that disguise a name; Zl/Zp: line/paragraph breaks.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}
_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_key_reason(key: str) -> str | None:
    """Why ``key`` is unsafe as a relative file name, tag value or run key; None if it is safe.

    S3 keys are arbitrary UTF-8, so a key is checked before it names anything locally: no
    '..' segment, nothing absolute (leading '/', a drive letter, a backslash), no control or
    invisible characters. Such keys are refused rather than rewritten, so that two different
    objects can never be mapped onto one name.
    """
    if not key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"empty or longer than {MAX_KEY_BYTES} bytes"
    bad = next((ch for ch in key if unicodedata.category(ch) in _UNSAFE_CATEGORIES), None)
    if bad is not None:
        return f"control or invisible character U+{ord(bad):04X}"
    if key.startswith("/") or _DRIVE.match(key):
        return "absolute path"
    if "\\" in key:
        return "backslash (a path separator on Windows)"
    if ".." in key.split("/"):
        return "'..' path segment"
    return None


@dataclass(frozen=True)
class LandedObject:
    """One file seen in the landing location."""

    uri: str  # s3://bucket/key or an absolute local path
    key: str  # S3 object key, or path relative to the landing folder (POSIX separators)
    etag: str  # S3 ETag without quotes; hex md5 of the content for local files
    last_modified: float  # epoch seconds (whole seconds on S3)
    size: int

    @property
    def run_key(self) -> str:
        """Stable per content version: a re-upload (new ETag) gets a new run key."""
        return f"{self.key}:{self.etag}"


@dataclass(frozen=True)
class LandingCursor:
    """Newest instant handled, and the keys already handled at exactly that instant."""

    last_modified: float = 0.0
    keys_at_last_modified: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> str:
        keys = sorted(self.keys_at_last_modified)
        return json.dumps({"last_modified": self.last_modified, "keys_at_last_modified": keys})

    @classmethod
    def from_json(cls, text: str | None) -> LandingCursor:
        """Parse a stored cursor; None or empty text is the initial cursor."""
        if text is None or not text.strip():
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"malformed landing cursor (not JSON): {text[:200]!r}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"malformed landing cursor (not a JSON object): {text[:200]!r}")
        instant, keys = data.get("last_modified"), data.get("keys_at_last_modified")
        # bool is an int subclass; a cursor of `true` would silently mean 1970-01-01T00:00:01.
        if isinstance(instant, bool) or not isinstance(instant, int | float):
            raise ValueError(f"malformed landing cursor: last_modified must be a number: {text!r}")
        if not math.isfinite(instant) or instant < 0:
            raise ValueError(f"malformed landing cursor: bad last_modified {instant!r}")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"malformed landing cursor: keys must be a list of str: {text!r}")
        return cls(float(instant), frozenset(keys))


@dataclass(frozen=True)
class Selection:
    """Result of one tick: new objects in order, ignored counts by reason, advanced cursor."""

    new: tuple[LandedObject, ...]
    ignored: dict[str, int]  # only reasons that occurred
    cursor: LandingCursor


def _ignore_reason(obj: LandedObject, suffixes: tuple[str, ...]) -> str | None:
    if unsafe_key_reason(obj.key) is not None:
        return "unsafe_key"  # never becomes a run key, tag or file name
    if obj.key.endswith("/"):
        return "folder_marker"  # zero-byte "directory" objects created by S3 consoles/tools
    if obj.size == 0:
        return "empty"
    if not obj.key.lower().endswith(suffixes):
        return "unsupported_suffix"
    return None


def select_new(objects: Iterable[LandedObject], cursor: LandingCursor,
               suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES) -> Selection:
    """Pick the objects (named ``*suffixes``) not yet handled by ``cursor`` and advance it.

    Ignored objects never move the cursor, so they are counted again on every tick; that keeps
    the counts a faithful description of what currently sits in the landing location.
    """
    ignored: Counter[str] = Counter()
    new: list[LandedObject] = []
    for obj in objects:
        seen = obj.last_modified < cursor.last_modified or (
            obj.last_modified == cursor.last_modified and obj.key in cursor.keys_at_last_modified
        )
        reason = _ignore_reason(obj, suffixes) or ("already_seen" if seen else None)
        if reason is not None:
            ignored[reason] += 1
        else:
            new.append(obj)
    new.sort(key=lambda o: (o.last_modified, o.key))
    if not new:
        return Selection((), dict(ignored), cursor)  # nothing new: cursor unchanged
    newest = new[-1].last_modified
    keys = frozenset(o.key for o in new if o.last_modified == newest)
    # Same instant as before: later uploads in that second join the keys already handled.
    if newest == cursor.last_modified:
        keys |= cursor.keys_at_last_modified
    return Selection(tuple(new), dict(ignored), LandingCursor(newest, keys))


def parse_landing(location: str) -> tuple[str, str, str]:
    """Return ("s3", bucket, prefix) or ("local", absolute_folder, "")."""
    scheme, sep, rest = location.partition("://")
    if not sep:
        return ("local", str(Path(location).expanduser().resolve()), "")
    if scheme.lower() != "s3":
        # Otherwise "gs://x" would quietly become a local folder named "gs:".
        raise ValueError(f"unsupported landing location {location!r}: use a folder or s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"landing location {location!r} has no bucket: use s3://bucket/prefix/")
    # The location names a folder: without the slash "in" would also match "inbox/...".
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return ("s3", bucket, prefix)


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_local(folder: str | Path, newer_than: float | None = None) -> Iterator[LandedObject]:
    """Yield every regular file under ``folder``, recursively; a missing folder yields nothing.

    Files with mtime < ``newer_than`` (pass the cursor's instant) are skipped before hashing,
    which keeps ticks cheap on large folders; equal mtimes are still yielded.
    """
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            try:
                st = path.stat()
                if not stat.S_ISREG(st.st_mode):
                    continue  # sockets, fifos
                if newer_than is not None and st.st_mtime < newer_than:
                    continue
                etag = _md5_of(path)
            except FileNotFoundError:
                continue  # deleted between listing and hashing: it simply isn't there
            # A file still being written gets a later mtime when done, so it shows up again.
            yield LandedObject(
                uri=str(path),
                key=path.relative_to(root).as_posix(),
                etag=etag,
                last_modified=st.st_mtime,
                size=st.st_size,
            )


def list_s3(client: Any, bucket: str, prefix: str) -> Iterator[LandedObject]:
    """Yield every object under ``s3://bucket/prefix`` (paginated list_objects_v2).

    ``client`` is a boto3 S3 client, possibly with a custom endpoint. Connection errors
    (botocore exceptions) surface while iterating; the caller decides to skip the tick.
    """
    # No StartAfter: key order says nothing about upload order, so we list the whole prefix.
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            yield LandedObject(
                uri=f"s3://{bucket}/{key}",
                key=key,
                etag=str(item.get("ETag", "")).strip('"'),
                last_modified=item["LastModified"].timestamp(),
                size=int(item["Size"]),
            )
