"""How old the newest source snapshot is (no Dagster here).

A snapshot is new when its content changes: re-reading an unchanged file (the weekly
retraining does) is no new snapshot, so the age counts from the first read of the current
content, not from the last read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SnapshotRead:
    at: datetime
    content_version: str | None  # the content hash of what was read


@dataclass(frozen=True)
class Freshness:
    fresh: bool
    snapshot_since: datetime | None
    age: timedelta | None
    max_age: timedelta

    def text(self) -> str:
        if self.snapshot_since is None:
            return "no snapshot has been read yet"
        days = self.age.total_seconds() / 86400
        verdict = "fresh" if self.fresh else "STALE"
        return (f"{verdict}: the newest snapshot arrived {self.snapshot_since:%Y-%m-%d %H:%M} "
                f"UTC, {days:.1f} days ago (limit {self.max_age.days} days)")


def current_snapshot_since(reads_newest_first: list[SnapshotRead]) -> datetime | None:
    """When the content read last was first read (in the unbroken series of equal reads)."""
    if not reads_newest_first:
        return None
    current, since = reads_newest_first[0].content_version, reads_newest_first[0].at
    for read in reads_newest_first[1:]:
        if current is None or read.content_version != current:
            break
        since = read.at
    return since


def snapshot_freshness(reads_newest_first: list[SnapshotRead], now: datetime,
                       max_age_days: float) -> Freshness:
    max_age = timedelta(days=max_age_days)
    since = current_snapshot_since(reads_newest_first)
    if since is None:
        return Freshness(False, None, None, max_age)
    return Freshness(now - since <= max_age, since, now - since, max_age)
