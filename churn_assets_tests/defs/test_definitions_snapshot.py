"""Snapshot of the graph's shape, so any change to it shows in review.

Covers every asset's key, group, kinds, owners, tags, code version, pool and upstream keys,
the checks, jobs and their selections, schedule crons and sensors. An intended change
updates the snapshot: `.venv/bin/python -m pytest churn_assets_tests/defs --snapshot-update`.
"""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from churn_assets.definitions import build_definitions, defs
from churn_assets.environment import Settings

STAGES = {"ingestion", "validation", "features", "training", "registry", "scoring",
          "monitoring", "serving"}


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def describe_definitions() -> dict:
    repository = build_definitions(Settings()).get_repository_def()  # the defaults
    graph = repository.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "tags": dict(sorted(node.tags.items())),
            "code_version": node.code_version,
            "pools": sorted(node.pools or ()),
            "upstream": sorted(k.to_user_string() for k in node.parent_keys),
        }
    return {
        "assets": assets,
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
        "schedules": {s.name: {"cron": s.cron_schedule, "timezone": s.execution_timezone,
                               "job": s.job_name, "default_status": s.default_status.value}
                      for s in repository.schedule_defs},
        "sensors": {s.name: {"job": s.job_name if s.targets else None,  # run-failure: none
                             "default_status": s.default_status.value}
                    for s in repository.sensor_defs},
    }


def test_definitions_match_the_snapshot(snapshot_json):
    assert describe_definitions() == snapshot_json


def test_every_asset_belongs_to_a_stage_group_and_has_an_owner():
    assets = describe_definitions()["assets"]
    assert {asset["group"] for asset in assets.values()} == STAGES
    assert all(asset["owners"] and asset["code_version"] for asset in assets.values())


def test_definitions_read_the_environment_when_loaded_not_when_imported(monkeypatch):
    monkeypatch.setenv("CHURN_RETRAIN_CRON", "0 5 * * 1")
    (schedule,) = defs().get_repository_def().schedule_defs
    assert schedule.cron_schedule == "0 5 * * 1"
    monkeypatch.setenv("CHURN_DEPLOYMENT", "elsewhere")
    with pytest.raises(ValueError, match="CHURN_DEPLOYMENT must be 'local' or 'prod'"):
        defs()
