"""A week of operations on the container stack (deploy/), with nobody at the UI: `make image`,
`make up`, a training run launched through the Dagster GraphQL API, a labeled snapshot whose
concept has shifted dropped into the landing prefix with boto3 and the sensors taking it from
there, a run's container killed mid-training. (The planted-secret search and `make down &&
make up` are written in docs/deploy.md's terms but not yet part of this module.)

Runs wherever a Docker daemon answers (.ci/run starts one as root and builds the image first);
skipped with the reason elsewhere. Its own stack name, ports and secrets file: a developer's
stack is left alone. Everything it starts is removed at the end (the images stay).
"""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import boto3
import mlflow
import pytest

from churn_assets.generator import DistributionShift, generate_customers
from churn_assets_tests.helpers.stack import Stack, docker_unavailable
from churn_dev.services import free_port

pytestmark = pytest.mark.slow
MODEL = "churn-classifier"
CONTAINER_TAG = "docker/container_id"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = docker_unavailable()
    if reason:
        pytest.skip(reason)
    env_file = tmp_path_factory.mktemp("stack") / "stack.env"
    planted = f"planted{secrets.token_hex(12)}"
    env_file.write_text(f"POSTGRES_PASSWORD={planted}\nAWS_ACCESS_KEY_ID=week{secrets.token_hex(4)}"
                        f"\nAWS_SECRET_ACCESS_KEY={planted}s3\nREDIS_PASSWORD={planted}r\n"
                        f"CHURN_SERVING_API_KEY={planted}k\n")
    stack = Stack(name=f"churnweek{os.getpid()}", web_port=free_port(), mlflow_port=free_port(),
                  s3_port=free_port(), env_file=env_file)
    stack.planted = planted
    try:
        built = stack.make("image")
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        started = time.monotonic()
        up = stack.make("up")
        stack.up_seconds = time.monotonic() - started
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield stack
    finally:
        stack.remove()


def champion_version(stack: Stack) -> str | None:
    client = mlflow.MlflowClient(tracking_uri=stack.mlflow_url, registry_uri=stack.mlflow_url)
    try:
        return client.get_model_version_by_alias(MODEL, "champion").version
    except mlflow.exceptions.MlflowException:
        return None


def test_up_is_healthy(stack: Stack) -> None:
    # the time is a bench figure, not an assertion (tests check behaviour, never time)
    print(f"make up to every health check green: {stack.up_seconds:.0f} s")
    states = subprocess.run(["python3", "deploy/stack.py", "ps"], env=stack.environment,
                            capture_output=True, text=True, check=True).stdout
    # postgres s3 mlflow code webserver daemon redis scoring, and init done
    assert states.count('"healthy"') == 8 and '"exited:0"' in states, states


def test_training_run_through_graphql_in_its_own_container(stack: Stack) -> None:
    run_id = stack.launch("churn_training_job")
    run = stack.wait_run(run_id)
    assert run["status"] == "SUCCESS", run
    tags = {t["key"]: t["value"] for t in run["tags"]}
    container = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}} {{.State.Status}}",
                                tags[CONTAINER_TAG]], capture_output=True, text=True, check=True)
    image, status = container.stdout.split()
    assert image == os.environ.get("IMAGE", "churn-assets:latest")
    assert status in ("running", "exited")  # the run's process may still be closing down
    version = champion_version(stack)
    assert version is not None
    # The scores table in PostgreSQL holds the champion's scores.
    held = stack.in_service("code", (
        "import os, sqlalchemy as sa; e = sa.create_engine(os.environ['CHURN_SCORES_DB_URL']);"
        "print(e.connect().execute(sa.text('select distinct model_version from churn_scores'))"
        ".scalars().all())"))
    assert held.strip() == f"['{version}']"
    print(f"GraphQL-launched run {run_id}: champion v{version}")


def test_shifted_snapshot_moves_champion_with_nobody_at_the_ui(stack: Stack) -> None:
    before = champion_version(stack)
    frame = generate_customers(2000, seed=22, shift=DistributionShift(concept_shift=1.0))
    body = io.BytesIO()
    frame.to_csv(body, index=False)
    s3 = boto3.client("s3", endpoint_url=stack.s3_url, region_name="us-east-1",
                      aws_access_key_id="any", aws_secret_access_key="any")
    s3.put_object(Bucket="churn", Key="landing/2026-w49-concept.csv", Body=body.getvalue())

    def finished(job: str, sensor: str) -> dict | None:
        runs = stack.runs(("dagster/sensor_name", sensor))
        done = [r for r in runs if r["jobName"] == job and r["status"] in ("SUCCESS", "FAILURE")]
        return done[0] if done else None

    intake = stack.wait_for(lambda: finished("snapshot_intake_job", "new_customer_data_sensor"),
                            300, "the snapshot's intake run")
    assert intake["status"] == "SUCCESS", intake
    retrain = stack.wait_for(lambda: finished("churn_training_job", "drift_retraining_sensor"),
                             420, "the retraining run")
    assert retrain["status"] == "SUCCESS", retrain
    after = champion_version(stack)
    client = mlflow.MlflowClient(tracking_uri=stack.mlflow_url, registry_uri=stack.mlflow_url)
    aliases = {a for v in client.search_model_versions(f"name='{MODEL}'") for a in v.aliases}
    print(f"sensor runs: intake {intake['runId']}, retraining {retrain['runId']}; champion "
          f"v{before} -> v{after}, aliases {sorted(aliases)}")
    assert after != before or "challenger" in aliases


def test_killed_run_moves_nothing_and_is_marked_failed(stack: Stack) -> None:
    before = champion_version(stack)
    run_id = stack.launch("churn_training_job")

    def tuning_started() -> bool:
        steps = {s["stepKey"]: s["status"] for s in stack.run(run_id)["stepStats"]}
        return steps.get("tuned_churn_model") == "IN_PROGRESS" or None

    stack.wait_for(tuning_started, 300, "tuned_churn_model to start", every=1)
    container = {t["key"]: t["value"] for t in stack.run(run_id)["tags"]}[CONTAINER_TAG]
    subprocess.run(["docker", "kill", container], check=True, capture_output=True)
    run = stack.wait_run(run_id, timeout=120)
    assert run["status"] == "FAILURE", run
    assert champion_version(stack) == before
    # The retry policy launches it again (deploy/dagster.docker.yaml `run_retries`): no run is
    # lost. (Stopping that retry through terminateRun left it QUEUED here: not asserted.)
    retry = stack.wait_for(lambda: stack.runs(("dagster/parent_run_id", run_id)), 120,
                           "the retry of the killed run")[0]
    print(f"killed run {run_id}: FAILURE, champion stays v{before}; retry {retry['runId']}")
