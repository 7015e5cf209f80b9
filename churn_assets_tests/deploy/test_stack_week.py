"""A week of operations on the container stack (deploy/), with nobody at the UI: `make image`,
`make up`, a training run launched through the Dagster GraphQL API, a labeled snapshot whose
concept has shifted dropped into the landing prefix with boto3 and the sensors taking it from
there, a run's container killed mid-training (failed, retried, champion unmoved), the daemon
killed mid-training and brought back by `make up`, a planted secret searched for everywhere an
operator can look, and the history after `make down && make up`. The tests run in order on one
stack: each starts from what the previous left.

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
import pandas as pd
import pytest
import yaml

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets.generator import DistributionShift, generate_customers
from churn_assets_tests.helpers.stack import Stack, docker_unavailable
from churn_dev.services import free_port

pytestmark = pytest.mark.slow
MODEL = "churn-classifier"
CONTAINER_TAG = "docker/container_id"
# The stack's dataset with 3 Optuna trials instead of 12, chosen through the test's env file
# (the entrypoint of every container, run containers included, reads it).
QUICK_CONFIG = "deploy/dataset.stack.quick.yaml"
TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = docker_unavailable()
    if reason:
        pytest.skip(reason)
    env_file = tmp_path_factory.mktemp("stack") / "stack.env"
    planted = f"planted{secrets.token_hex(12)}"
    env_file.write_text(f"POSTGRES_PASSWORD={planted}\nAWS_ACCESS_KEY_ID=week{secrets.token_hex(4)}"
                        f"\nAWS_SECRET_ACCESS_KEY={planted}s3\nREDIS_PASSWORD={planted}r\n"
                        f"CHURN_SERVING_API_KEY={planted}k\n"
                        f"CHURN_DATASET_CONFIG=/app/{QUICK_CONFIG}\n")
    stack = Stack(name=f"churnweek{os.getpid()}", web_port=free_port(), mlflow_port=free_port(),
                  s3_port=free_port(), serving_port=free_port(), env_file=env_file)
    stack.planted = planted
    began = time.monotonic()
    try:
        built = stack.make("image")
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        stack.build_seconds = time.monotonic() - began
        started = time.monotonic()
        up = stack.make("up")
        stack.up_seconds, stack.up_output = time.monotonic() - started, up.stdout
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        # make up's own `make image` builds nothing when nothing changed (deploy/build_images.sh)
        assert "up to date" in up.stdout, up.stdout[-3000:]
        yield stack
    finally:
        stack.remove()
        print(f"week on the stack: {time.monotonic() - began:.0f} s from make image to removal")


def champion_version(stack: Stack) -> str | None:
    client = mlflow.MlflowClient(tracking_uri=stack.mlflow_url, registry_uri=stack.mlflow_url)
    try:
        return client.get_model_version_by_alias(MODEL, "champion").version
    except mlflow.exceptions.MlflowException:
        return None


def champion_requested_by(stack: Stack) -> str:
    """The version tag naming the Dagster run whose promotion moved @champion there."""
    client = mlflow.MlflowClient(tracking_uri=stack.mlflow_url, registry_uri=stack.mlflow_url)
    return client.get_model_version_by_alias(MODEL, "champion").tags["promotion.requested_by"]


def scores_held(stack: Stack) -> str:
    """Rows of the PostgreSQL scores table, by model version."""
    return stack.in_service("code", (
        "import os, sqlalchemy as sa; e = sa.create_engine(os.environ['CHURN_SCORES_DB_URL']);"
        "print(e.connect().execute(sa.text('select model_version, count(*) from churn_scores "
        "group by 1 order by 1')).all())")).strip()


# What the scoring service logged when Feast's import failed in its container (a race of its
# threads, churn_assets/serving/online_store.py import_feast): lookups off.
FEAST_BROKEN = ("Feast is not installed", "Feast could not be imported", "circular import",
                'register request header provider "feast"')


def lookup_from_online_store(stack: Stack, version: str) -> dict:
    """The first bundled customer through `GET /customers/{id}`: its row from the online store
    (pushed by the training run's `online_features`), scored by champion `version`."""
    first = pd.read_csv(PROJECT_ROOT / "data" / "customers.csv", nrows=1).iloc[0]
    answer = stack.customer(str(first["customerID"]), version)
    features = answer["features"]
    assert {k: features[k] for k in ("customerID", "tenure", "Contract")} == \
        {"customerID": first["customerID"], "tenure": first["tenure"],
         "Contract": first["Contract"]}, features
    assert 0 <= answer["predictions"][0]["churn_probability"] <= 1
    logged = stack.logs("scoring")
    assert not [line for line in logged.splitlines() if any(s in line for s in FEAST_BROKEN)]
    return answer


def test_quick_dataset_is_the_stacks_but_for_tuning() -> None:
    stack_file, quick = (yaml.safe_load((PROJECT_ROOT / name).read_text())
                         for name in ("deploy/dataset.stack.yaml", QUICK_CONFIG))
    assert quick["tuning"]["n_trials"] < stack_file["tuning"]["n_trials"]
    assert {**quick, "tuning": None} == {**stack_file, "tuning": None}


def test_up_is_healthy(stack: Stack) -> None:
    # the time is a bench figure, not an assertion (tests check behaviour, never time)
    print(f"make image {stack.build_seconds:.0f} s; make up to every health check green: "
          f"{stack.up_seconds:.0f} s\n{stack.up_output}")
    states = subprocess.run(["python3", "deploy/stack.py", "ps"], env=stack.environment,
                            capture_output=True, text=True, check=True).stdout
    # postgres s3 mlflow code webserver daemon redis scoring, and init done
    assert states.count('"healthy"') == 8 and '"exited:0"' in states, states
    print(subprocess.run(["docker", "ps", "--filter", f"label=com.docker.compose.project="
                          f"{stack.name}", "--format", "table {{.Names}}\t{{.Image}}\t{{.Status}}"
                          "\t{{.Ports}}"], capture_output=True, text=True).stdout)


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
    answer = lookup_from_online_store(stack, version)
    print(f"GraphQL-launched run {run_id}: champion v{version}; {stack.timings(run_id)}; "
          f"GET /customers/{answer['features']['customerID']} -> "
          f"{answer['predictions'][0]['churn_probability']:.3f} from the online store")


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
          f"v{before} -> v{after}, aliases {sorted(aliases)}; intake "
          f"{stack.timings(intake['runId'])}; retraining {stack.timings(retrain['runId'])}")
    assert after != before or "challenger" in aliases


def in_tuning(stack: Stack, run_id: str) -> bool | None:
    steps = {s["stepKey"]: s["status"] for s in stack.run(run_id)["stepStats"]}
    return steps.get("tuned_churn_model") == "IN_PROGRESS" or None


def test_killed_run_moves_nothing_is_marked_failed_and_retried(stack: Stack) -> None:
    before = champion_version(stack)
    run_id = stack.launch("churn_training_job")
    stack.wait_for(lambda: in_tuning(stack, run_id), 300, "tuned_churn_model to start", every=1)
    container = {t["key"]: t["value"] for t in stack.run(run_id)["tags"]}[CONTAINER_TAG]
    subprocess.run(["docker", "kill", container], check=True, capture_output=True)
    run = stack.wait_run(run_id, timeout=120)
    assert run["status"] == "FAILURE", run
    assert champion_version(stack) == before
    # The retry policy (deploy/dagster.docker.yaml `run_retries`) re-executes from the failed
    # step; it leaves the queue once run monitoring has freed the dead run's pool slot.
    retry = stack.wait_for(lambda: stack.runs(("dagster/parent_run_id", run_id)), 120,
                           "the retry of the killed run")[0]
    left_queue = stack.wait_for(
        lambda: (run := stack.run(retry["runId"]))["status"] not in ("QUEUED", "NOT_STARTED")
        and run, 180, "the retry to leave the queue")
    assert left_queue["status"] in ("STARTING", "STARTED", "SUCCESS"), left_queue
    stack.killed_run = run_id
    print(f"killed run {run_id}: FAILURE, champion stays v{before}; retry {retry['runId']} "
          f"{left_queue['status']}")


def test_daemon_killed_mid_training_loses_no_run(stack: Stack) -> None:
    """The daemon (queue, sensors, run monitoring) dies while a run trains and is brought back
    by `make up`: the run ends in a terminal state in the run storage, and @champion was moved
    by a run that succeeded, never by the killed one."""
    training = [r["runId"] for r in stack.runs() if r["jobName"] == "churn_training_job"
                and r["status"] in ("STARTING", "STARTED")]
    run_id = training[0] if training else stack.launch("churn_training_job")
    stack.wait_for(lambda: in_tuning(stack, run_id) or stack.run(run_id)["status"] in TERMINAL,
                   300, "the run to train", every=1)
    subprocess.run(["docker", "kill", stack.service("daemon")], check=True, capture_output=True)
    back = stack.make("up")
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-3000:]
    run = stack.wait_run(run_id, timeout=420)
    assert run["status"] == "SUCCESS", run  # the run's container never needed the daemon
    moved_by = champion_requested_by(stack)
    assert moved_by != f"dagster run {getattr(stack, 'killed_run', '-')}"
    mover = stack.run(moved_by.removeprefix("dagster run "))
    assert mover["status"] == "SUCCESS", (moved_by, mover)
    print(f"daemon killed while {run_id} trained, back by make up: run {run['status']}; "
          f"champion v{champion_version(stack)} moved by {moved_by}; {stack.timings(run_id)}\n"
          f"{back.stdout}")


def test_planted_secret_is_nowhere_an_operator_looks(stack: Stack) -> None:
    """The secrets file's values (all containing the planted token) in no container's
    configuration, image history, log, nor in any MLflow run's params or tags."""
    assert len(stack.containers()) >= 10  # 9 services (init exited) and the run containers
    assert stack.places_holding(stack.planted) == []
    client = mlflow.MlflowClient(tracking_uri=stack.mlflow_url)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              max_results=1000)
    assert runs  # the training and registry runs of the week
    leaked = [r.info.run_id for r in runs
              if stack.planted in repr(r.data.params) + repr(r.data.tags)]
    assert leaked == []
    print(f"planted secret: 0 hits in {len(stack.containers())} containers' inspect and logs, "
          f"{len(stack.images())} images' history, {len(runs)} MLflow runs")


def test_history_survives_down_and_up(stack: Stack, monkeypatch) -> None:
    runs_before = {r["runId"]: r["status"] for r in stack.runs() if r["status"] in TERMINAL}
    champion, scores = champion_version(stack), scores_held(stack)
    down = stack.make("down")
    assert down.returncode == 0, down.stderr[-2000:]
    assert stack.containers() == []
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter",
                              f"name={stack.name}_"], capture_output=True, text=True).stdout
    assert {f"{stack.name}_{v}" for v in ("pgdata", "s3data", "redisdata")} <= set(volumes.split())
    started = time.monotonic()
    up = stack.make("up")
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    print(f"make up on kept volumes: {time.monotonic() - started:.0f} s")
    runs_after = {r["runId"]: r["status"] for r in stack.runs()}
    assert {k: runs_after.get(k) for k in runs_before} == runs_before
    assert champion_version(stack) == champion
    assert scores_held(stack) == scores
    # A fresh scoring container (the start where Feast's import once failed) answers from the
    # online store kept in its volume.
    lookup_from_online_store(stack, champion)
    # The champion's files come back from the S3 store (replayed by deploy/s3_server.py). A
    # client outside the stack's network fetches them through the server: MLflow 3 otherwise
    # hands out presigned URLs on the stack-internal http://s3:9000 (docs/deploy.md).
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", stack.mlflow_url)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", stack.mlflow_url)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    rows = generate_customers(20, seed=5).drop(columns=["Churn"])
    scored = model.predict(rows)
    assert len(scored) == 20 and scored["churn_probability"].between(0, 1).all()
    print(f"after make down && make up: {len(runs_before)} runs, champion v{champion}, "
          f"scores {scores}")
