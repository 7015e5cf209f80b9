"""`make up` / `make down`: the stack of deploy/compose.yaml, started only after the preflight
passed, up when every health check is green, and taken down again (volumes kept) when one is
not, so a failed `make up` leaves nothing half-started. Standard library only.

    python3 deploy/stack.py up|down|ps
Settings: CHURN_STACK (compose project, default churn), CHURN_WEB_PORT, CHURN_MLFLOW_PORT,
CHURN_S3_PORT, CHURN_SERVING_PORT, IMAGE, PG_IMAGE, REDIS_IMAGE, CHURN_UP_TIMEOUT (seconds,
default 300), CHURN_ENV_FILE (the secrets file, default deploy/.env).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
STACK = os.environ.get("CHURN_STACK", "churn")
COMPOSE = ["docker-compose", "--project-name", STACK, "--file", str(DEPLOY / "compose.yaml")]
# One-shot services: done when exited 0.
ONE_SHOT = {"init"}


def compose(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHURN_STACK": STACK,
           "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid)
           if os.path.exists("/var/run/docker.sock") else "0"}
    return subprocess.run([*COMPOSE, *args], check=check, env=env, **kwargs)


def write_secrets() -> None:
    """deploy/.env into the stack's `secrets` volume (root-owned, read-only where mounted)."""
    volume = f"{STACK}_secrets"
    subprocess.run(["docker", "volume", "create", "--label", f"com.docker.compose.project={STACK}",
                    "--label", "com.docker.compose.volume=secrets", volume],
                   check=True, capture_output=True)
    with Path(os.environ.get("CHURN_ENV_FILE") or DEPLOY / ".env").open("rb") as secrets:
        subprocess.run(["docker", "run", "--rm", "-i", "--user", "0", "--network", "none",
                        "-v", f"{volume}:/s", "--entrypoint", "sh",
                        os.environ.get("IMAGE", "churn-assets:latest"), "-c",
                        "cat > /s/churn.env.new && chmod 0444 /s/churn.env.new "
                        "&& mv /s/churn.env.new /s/churn.env"],
                       stdin=secrets, check=True, capture_output=True)


def states() -> dict[str, str]:
    """Service -> healthy | starting | unhealthy | running | exited:<code> | ..."""
    ids = compose("ps", "-a", "-q", capture_output=True, text=True).stdout.split()
    if not ids:
        return {}
    found = json.loads(subprocess.run(["docker", "inspect", *ids], capture_output=True,
                                      text=True, check=True).stdout)
    result = {}
    for container in found:
        service = container["Config"]["Labels"].get("com.docker.compose.service", "?")
        state = container["State"]
        if state["Status"] == "exited":
            result[service] = f"exited:{state['ExitCode']}"
        else:
            result[service] = state.get("Health", {}).get("Status", state["Status"])
    return result


def wait_healthy(started: float, timeout: float) -> tuple[bool, str]:
    services = compose("config", "--services", capture_output=True, text=True).stdout.split()
    deadline = started + timeout
    ready: set[str] = set()
    while True:
        current = states()
        for name in sorted(s for s, state in current.items()
                           if state in ("healthy", "exited:0") and s not in ready):
            ready.add(name)
            print(f"up: {name} {current[name]} after {time.monotonic() - started:.0f} s",
                  flush=True)
        waiting = [s for s in services if current.get(s) != ("exited:0" if s in ONE_SHOT
                                                               else "healthy")]
        failed = [s for s in waiting if current.get(s, "").startswith("exited")
                  or current.get(s) == "unhealthy"]
        if not waiting:
            return True, ""
        if failed or time.monotonic() > deadline:
            name = (failed or waiting)[0]
            return False, f"{name} is {current.get(name, 'not created')}"
        time.sleep(2)


def up() -> int:
    started = time.monotonic()
    write_secrets()
    compose("up", "--detach", "--remove-orphans", "--quiet-pull",
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # compose itself waits for the health checks that other services depend on.
    ok, problem = wait_healthy(started, float(os.environ.get("CHURN_UP_TIMEOUT", "300")))
    if not ok:
        name = problem.split()[0]
        logs = compose("logs", "--no-color", "--tail", "15", name, check=False,
                       capture_output=True, text=True).stdout
        print(logs, file=sys.stderr)
        compose("down", check=False, capture_output=True)
        print(f"up: {problem}; its last log lines are above; the stack was taken down again "
              f"(volumes kept): fix it and run make up again", file=sys.stderr)
        return 1
    web = os.environ.get("CHURN_WEB_PORT", "3000")
    tracking = os.environ.get("CHURN_MLFLOW_PORT", "5000")
    serving = os.environ.get("CHURN_SERVING_PORT", "8000")
    print(f"up: every health check green in {time.monotonic() - started:.0f} s: Dagster "
          f"http://127.0.0.1:{web}, MLflow http://127.0.0.1:{tracking}, scoring "
          f"http://127.0.0.1:{serving} (make down stops it)")
    return 0


def down() -> int:
    # The run containers DockerRunLauncher started are not compose's, and hold the network: a
    # run still going is stopped (run monitoring marks it failed, the retry policy relaunches
    # it after the next `make up`).
    runs = subprocess.run(["docker", "ps", "-a", "-q", "--filter", f"label=churn.stack={STACK}"],
                          capture_output=True, text=True).stdout.split()
    if runs:
        subprocess.run(["docker", "rm", "-f", *runs], check=False, capture_output=True)
    compose("down", "--remove-orphans", stderr=subprocess.PIPE)
    print(f"down: stack {STACK} stopped; volumes {STACK}_pgdata, {STACK}_s3data, "
          f"{STACK}_redisdata kept "
          f"(`docker volume rm` them to start afresh)")
    return 0


def main(command: str) -> int:
    try:
        if command == "up":
            return up()
        if command == "down":
            return down()
        if command == "ps":
            print(json.dumps(states(), indent=1))
            return 0
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        print(f"{command}: `{' '.join(error.cmd[:4])} …` failed: "
              f"{detail[-1] if detail else error.returncode}", file=sys.stderr)
        if command == "up":
            compose("down", check=False, capture_output=True)
        return 1
    print(f"unknown command {command!r}: use up, down or ps", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "ps"))
