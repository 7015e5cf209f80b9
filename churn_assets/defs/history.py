"""The monitoring history the retraining policy reads, shared by `feature_drift` (each
snapshot) and `online_performance` (each window of the prediction log): both record a
`history_record` in their materialization metadata, and both decide over all of them."""

from datetime import UTC, datetime

import dagster as dg

from churn_assets.monitoring.history import SnapshotRecord

HISTORY_METADATA_KEY = "history_record"
HISTORY_LIMIT = 500  # the policy needs the latest streak and retraining, not all of the past
HISTORY_ASSETS = (dg.AssetKey("feature_drift"), dg.AssetKey("online_performance"))
SCHEDULE_NAME_TAG = "dagster/schedule_name"


def _records(instance: dg.DagsterInstance, key: dg.AssetKey, limit: int | None
             ) -> list[SnapshotRecord]:
    records: list[SnapshotRecord] = []
    cursor = None
    while True:
        page = instance.fetch_materializations(key, limit=100, cursor=cursor)
        for event in page.records:
            stored = event.asset_materialization.metadata.get(HISTORY_METADATA_KEY)
            if stored is not None:
                records.append(SnapshotRecord.from_dict(stored.value))
        if not page.has_more or (limit is not None and len(records) >= limit):
            return records[:limit]
        cursor = page.cursor


def read_history(instance: dg.DagsterInstance, limit: int | None = None) -> list[SnapshotRecord]:
    """The records of earlier snapshots and log windows, newest first."""
    records = [r for key in HISTORY_ASSETS for r in _records(instance, key, limit)]
    return sorted(records, key=lambda r: r.time, reverse=True)[:limit]


def last_scheduled_retraining(instance: dg.DagsterInstance) -> datetime | None:
    """Retrainings the drift sensors asked for are in the history; the schedule's are not."""
    for event in instance.fetch_materializations(dg.AssetKey("champion_model"), limit=20).records:
        run = instance.get_run_by_id(event.run_id)
        if run is not None and SCHEDULE_NAME_TAG in run.tags:
            return datetime.fromtimestamp(event.timestamp, UTC)
    return None
