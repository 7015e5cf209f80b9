"""Checks before `make image` / `make up`: each problem is one line saying what is wrong and
what to run, exit status 2, and nothing started. Standard library only (runs before any venv).

    python3 deploy/preflight.py image|up
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
# CHURN_ENV_FILE: another secrets file (the stack test plants its own).
ENV_FILE = Path(os.environ.get("CHURN_ENV_FILE") or DEPLOY / ".env")
ENV_EXAMPLE = DEPLOY / ".env.example"
PYPI = os.environ.get("CHURN_PIP_INDEX", "https://pypi.org/simple/pip/")
IMAGE = os.environ.get("IMAGE", "churn-assets:latest")


class Refused(Exception):
    """What is wrong and what to run, in one line."""


def docker_answers() -> None:
    if shutil.which("docker") is None:
        raise Refused("no `docker` command: install it (apt-get install docker.io), then retry")
    try:
        probe = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                               capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        probe = None
    if probe is None or probe.returncode != 0:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise Refused(f"no Docker daemon answers at {where}: start it (as root `dockerd &`, or "
                      "`systemctl start docker`), then run the make target again")


def reachable(url: str) -> str | None:
    """None when the URL answers, else the reason."""
    try:
        urllib.request.urlopen(url, timeout=8).close()
        return None
    except OSError as error:
        return str(getattr(error, "reason", error))


def docker_output(*args: str) -> str:
    """stdout of a docker command, "" when docker is missing or fails."""
    try:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def image_exists(name: str) -> bool:
    return bool(docker_output("image", "inspect", "--format", "{{.Id}}", name).strip())


def network_for_build() -> None:
    # A first build downloads Debian packages and the locked wheels; later ones reuse the
    # cached layers unless requirements.lock changed, so an offline rebuild is only warned.
    reason = reachable(PYPI)
    if reason is None:
        return
    if image_exists(IMAGE):
        print(f"preflight: the package index {PYPI} is unreachable ({reason}); building from "
              "the cached layers (fails if requirements.lock changed)", file=sys.stderr)
        return
    raise Refused(f"cannot reach the package index {PYPI} ({reason}), needed for the first "
                  f"image build: connect to the network, or load a built image "
                  f"(docker load -i churn-assets.tar), then run make image again")


def env_keys(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs[key.strip()] = value.strip()
    return pairs


def ensure_env_file() -> None:
    """deploy/.env from the example with random secrets when absent; every key set when not."""
    if not ENV_FILE.exists():
        lines = [re.sub(r"^([A-Z0-9_]+)=.*$", lambda m: f"{m[1]}={secrets.token_hex(16)}", line)
                 for line in ENV_EXAMPLE.read_text().splitlines()]
        ENV_FILE.touch(mode=0o600)
        ENV_FILE.write_text("\n".join(lines) + "\n")
        print(f"preflight: created {ENV_FILE} with random secrets "
              "(git-ignored; keep it: the database volumes are initialised with them)")
    present, expected = env_keys(ENV_FILE), env_keys(ENV_EXAMPLE)
    missing = [key for key in expected if not present.get(key)]
    if missing:
        raise Refused(f"{ENV_FILE} has no value for {', '.join(missing)}: add "
                      f"{missing[0]}=<letters and digits> (deploy/.env.example lists the keys)")
    # Other keys are settings read the same way (e.g. the stack test's CHURN_DATASET_CONFIG).
    bad = [key for key in expected if not re.fullmatch(r"[A-Za-z0-9._~-]+", present[key])]
    if bad:
        raise Refused(f"{ENV_FILE}: the value of {bad[0]} has characters other than letters, "
                      "digits and ._~- (it goes into database URLs unquoted): change it")


def ports_free(stack: str) -> None:
    ours = docker_output("ps", "--filter", f"label=com.docker.compose.project={stack}",
                         "--format", "{{.Ports}}")
    for name, default in (("CHURN_WEB_PORT", 3000), ("CHURN_MLFLOW_PORT", 5000),
                          ("CHURN_S3_PORT", 9000), ("CHURN_SERVING_PORT", 8000)):
        port = int(os.environ.get(name, default))
        if f"127.0.0.1:{port}->" in ours:
            continue  # this stack already serves it: `make up` again just reconciles
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise Refused(f"port 127.0.0.1:{port} is already taken (see `ss -ltnp "
                              f"'sport = :{port}'`): stop what holds it, or run "
                              f"`make up {name}=<free port>`") from None


def main(command: str) -> int:
    try:
        docker_answers()
        if command == "image":
            network_for_build()
        elif command == "up":
            if shutil.which("docker-compose") is None:
                raise Refused("no `docker-compose` command: install it (apt-get install "
                              "docker-compose), then run make up again")
            ensure_env_file()
            ports_free(os.environ.get("CHURN_STACK", "churn"))
        else:
            raise Refused(f"unknown check {command!r}: use image or up")
    except Refused as problem:
        print(f"{command}: {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "up"))
