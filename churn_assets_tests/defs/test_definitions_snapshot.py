"""Snapshot of the graph's shape: asset keys, groups, checks, jobs, schedules and sensors.

An intended change updates the snapshot: `UPDATE_SNAPSHOTS=1 make test`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from churn_assets.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def describe_definitions() -> dict:
    repository = defs.get_repository_def()
    graph = repository.asset_graph
    return {
        "assets": {
            key.to_user_string(): {
                "group": graph.get(key).group_name,
                "upstream": sorted(k.to_user_string() for k in graph.get(key).parent_keys),
            }
            for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
        },
        "checks": sorted(
            f"{key.asset_key.to_user_string()}:{key.name}"
            + (" (blocking)" if graph.get_check_spec(key).blocking else "")
            for key in graph.asset_check_keys
        ),
        "jobs": {
            job.name: sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
            for job in repository.get_all_jobs()
            if not job.name.startswith("__")
        },
        "schedules": {s.name: [s.cron_schedule, s.job_name]
                      for s in repository.schedule_defs},
        "sensors": {s.name: s.job_name for s in repository.sensor_defs},
    }


def test_definitions_match_the_snapshot():
    current = describe_definitions()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), "no snapshot committed: run UPDATE_SNAPSHOTS=1 make test"
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_asset_belongs_to_a_stage_group():
    stages = {"ingestion", "validation", "features", "training", "registry", "monitoring"}
    groups = {asset["group"] for asset in describe_definitions()["assets"].values()}
    assert groups == stages
