"""CHURN_EXECUTOR picks how a run's steps execute, whatever the deployment; the docker executor
(steps as containers, dagster-docker) carries the per-step limits from the environment."""

from __future__ import annotations

import pytest

from churn_assets.defs.deployment import executor
from churn_assets.environment import Settings


@pytest.mark.parametrize(("deployment", "setting", "expected"), [
    ("local", "", "in_process"), ("prod", "", "multiprocess"),
    ("prod", "in_process", "in_process"), ("local", "multiprocess", "multiprocess"),
    ("prod", "docker", "docker")])
def test_executor_follows_the_setting(deployment, setting, expected) -> None:
    env = {"CHURN_DEPLOYMENT": deployment, "CHURN_EXECUTOR": setting}
    assert executor(Settings.from_environ(env)).name == expected


def test_step_containers_get_their_limits() -> None:
    env = {"CHURN_EXECUTOR": "docker", "CHURN_STEP_MEMORY": "2g", "CHURN_STEP_CPUS": "1.5"}
    resolved = executor(Settings.from_environ(env)).config_schema.resolve_config({})
    assert resolved.success
    assert resolved.value["config"]["container_kwargs"] == {"mem_limit": "2g",
                                                            "nano_cpus": 1_500_000_000}


def test_unknown_executor_is_named() -> None:
    with pytest.raises(ValueError, match="CHURN_EXECUTOR must be one of in_process, "
                                         "multiprocess, docker, got 'kubernetes'"):
        Settings.from_environ({"CHURN_EXECUTOR": "kubernetes"})
