"""The container stack driven as a user and an operator would: make targets, the Dagster
GraphQL API (what the UI calls), the MLflow server, S3 through boto3, docker for kills and
inspection. Used by churn_assets_tests/deploy/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from churn_assets.dataset_config import PROJECT_ROOT

# Seconds `make up` may wait for the health checks (make() allows 900 s in all).
UP_TIMEOUT = 780
# The tests' waits are ceilings for a hang, not time targets: each is given as a few times
# what a quiet 2-core machine needs, and multiplied by this (default 3). At nice 19 beside a
# full suite and a benchmark (load 35-55) the GraphQL training run (51 s quiet) was still
# running after 420 s.
WAIT_SCALE = float(os.environ.get("CHURN_STACK_WAIT_SCALE", "3"))
RUN_FIELDS = "runId status jobName tags { key value } stepStats { stepKey status }"


def docker_unavailable() -> str | None:
    """Why the stack cannot run here, or None."""
    for tool in ("docker", "docker-compose"):
        if shutil.which(tool) is None:
            return f"no `{tool}` command (apt-get install docker.io docker-compose)"
    probe = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return ("no Docker daemon answers (.ci/run starts one when run as root; else start "
                "dockerd)")
    return None


@dataclass
class Stack:
    name: str
    web_port: int
    mlflow_port: int
    s3_port: int
    serving_port: int
    env_file: Path
    launched: list[str] = field(default_factory=list)

    @property
    def environment(self) -> dict[str, str]:
        # `make up` gives up after CHURN_UP_TIMEOUT (300 s by default); on the shared 2 cores
        # under `nice -n 19` beside a test suite the first start took longer (the stack is
        # taken down again, every test after it errors). The test checks behaviour, not time:
        # it waits up to UP_TIMEOUT, under make()'s own timeout so a failed start still cleans up.
        return {**os.environ, "CHURN_STACK": self.name, "CHURN_WEB_PORT": str(self.web_port),
                "CHURN_MLFLOW_PORT": str(self.mlflow_port), "CHURN_S3_PORT": str(self.s3_port),
                "CHURN_SERVING_PORT": str(self.serving_port), "CHURN_ENV_FILE": str(self.env_file),
                "CHURN_UP_TIMEOUT": os.environ.get("CHURN_UP_TIMEOUT", str(UP_TIMEOUT))}

    @property
    def mlflow_url(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def make(self, target: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "--no-print-directory", target], cwd=PROJECT_ROOT,
                              env=self.environment, capture_output=True, text=True,
                              timeout=timeout)

    def graphql(self, query: str, **variables) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]

    def launch(self, job: str, tags: dict[str, str] | None = None) -> str:
        data = self.graphql(
            """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
                 __typename ... on LaunchRunSuccess { run { runId } }
                 ... on PythonError { message } ... on InvalidSubsetError { message }
                 ... on RunConfigValidationInvalid { errors { message } } } }""",
            params={"selector": {"repositoryLocationName": "churn_assets",
                                 "repositoryName": "__repository__", "jobName": job},
                    "runConfigData": {},
                    "executionMetadata": {"tags": [{"key": k, "value": v}
                                                   for k, v in (tags or {}).items()]}})
        result = data["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        self.launched.append(result["run"]["runId"])
        return result["run"]["runId"]

    def run(self, run_id: str) -> dict:
        return self.graphql(f"""query($id: ID!) {{ runOrError(runId: $id) {{
            __typename ... on Run {{ {RUN_FIELDS} }} }} }}""", id=run_id)["runOrError"]

    def timings(self, run_id: str) -> str:
        """The run's wall time and its steps' (a bench figure for the test's output)."""
        data = self.graphql("""query($id: ID!) { runOrError(runId: $id) { ... on Run {
            startTime endTime stepStats { stepKey startTime endTime } } } }""", id=run_id)
        run = data["runOrError"]
        steps = sorted((s for s in run["stepStats"] if s["startTime"] and s["endTime"]),
                       key=lambda s: s["startTime"])
        spans = ", ".join(f"{s['stepKey']} {s['endTime'] - s['startTime']:.0f}" for s in steps)
        total = (run["endTime"] or time.time()) - (run["startTime"] or time.time())
        return f"run {total:.0f} s (steps, s: {spans})"

    def runs(self, tag: tuple[str, str] | None = None) -> list[dict]:
        run_filter = {"tags": [{"key": tag[0], "value": tag[1]}]} if tag else {}
        data = self.graphql(f"""query($filter: RunsFilter) {{ runsOrError(filter: $filter) {{
            ... on Runs {{ results {{ {RUN_FIELDS} }} }} }} }}""", filter=run_filter)
        return data["runsOrError"]["results"]

    def wait_run(self, run_id: str, timeout: float = 420,
                 until: tuple[str, ...] = ("SUCCESS", "FAILURE", "CANCELED")) -> dict:
        deadline = time.monotonic() + timeout * WAIT_SCALE
        while True:
            run = self.run(run_id)
            if run.get("status") in until:
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run.get('status')}"
            time.sleep(1)

    def wait_for(self, predicate, timeout: float, what: str, every: float = 1):
        deadline = time.monotonic() + timeout * WAIT_SCALE
        while True:
            value = predicate()
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(every)

    def customer(self, customer_id: str, version: str, timeout: float = 120) -> dict:
        """`GET /customers/{id}` on the stack's scoring service (the row from its online store,
        scored), once it serves `version` as @champion (it follows the registry by polling)."""
        url = f"http://127.0.0.1:{self.serving_port}/customers/{customer_id}"
        last: list = []

        def answered() -> dict | None:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    body = json.load(response)
            except urllib.error.HTTPError as error:
                last[:] = [error.code, error.read()[:500]]
                return None
            last[:] = [200, body["model"]]
            return body if body["model"]["version"] == version else None

        try:
            return self.wait_for(answered, timeout, f"{url} from champion v{version}", every=2)
        except AssertionError as error:
            raise AssertionError(f"{error}; last answer {last}") from None

    def logs(self, service: str) -> str:
        done = subprocess.run(["docker", "logs", self.service(service)], capture_output=True,
                              text=True, errors="replace")
        return done.stdout + done.stderr

    def containers(self) -> list[str]:
        """Every container of the stack: compose's services and the run containers."""
        ids = set()
        for label in (f"com.docker.compose.project={self.name}", f"churn.stack={self.name}"):
            ids |= set(subprocess.run(["docker", "ps", "-a", "-q", "--filter", f"label={label}"],
                                      capture_output=True, text=True, check=True).stdout.split())
        return sorted(ids)

    def images(self) -> list[str]:
        """The images the stack's containers run (the project's, PostgreSQL's, Redis's)."""
        found = subprocess.run(["docker", "inspect", "-f", "{{.Config.Image}}",
                                *self.containers()], capture_output=True, text=True, check=True)
        return sorted(set(found.stdout.split()))

    def places_holding(self, value: str) -> list[str]:
        """Where `value` shows outside the secrets file: `docker inspect` of every container
        (run containers included), `docker history --no-trunc` of its images, every
        container's logs."""
        places = []
        for container in self.containers():
            inspect = subprocess.run(["docker", "inspect", container], capture_output=True,
                                     text=True, check=True).stdout
            logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True,
                                  errors="replace")
            places += [f"{where} {container}" for where, text in
                       (("inspect", inspect), ("logs", logs.stdout + logs.stderr))
                       if value in text]
        for image in self.images():
            history = subprocess.run(["docker", "history", "--no-trunc", image],
                                     capture_output=True, text=True, check=True).stdout
            places += [f"history {image}"] if value in history else []
        return places

    def service(self, name: str) -> str:
        return f"{self.name}_{name}_1"

    def in_service(self, name: str, code: str) -> str:
        """Python run in a service's container through its entrypoint (so with its secrets);
        stdout."""
        done = subprocess.run(["docker", "exec", self.service(name), "/app/deploy/entrypoint.sh",
                               "python", "-c", code], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def remove(self) -> None:
        """Containers, network and volumes of this (test) stack; images stay for the next run."""
        self.make("down", timeout=300)
        for volume in ("pgdata", "s3data", "redisdata", "secrets"):
            subprocess.run(["docker", "volume", "rm", "-f", f"{self.name}_{volume}"],
                           capture_output=True)
