"""Bad set-ups before `make image` / `make up` get one line saying what is wrong and what to run
(deploy/preflight.py), exit status 2, and nothing is started. No Docker daemon needed."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from churn_assets.dataset_config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "deploy" / "preflight.py"


@pytest.fixture
def preflight():
    spec = importlib.util.spec_from_file_location("preflight", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), command], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_no_docker_command_is_one_line(tmp_path: Path) -> None:
    done = run("up", PATH=str(tmp_path))  # a PATH without docker
    assert done.returncode == 2
    assert done.stderr.strip() == ("up: no `docker` command: install it (apt-get install "
                                   "docker.io), then retry")


def test_no_daemon_is_one_line(tmp_path: Path) -> None:
    if subprocess.run(["which", "docker"], capture_output=True).returncode != 0:
        pytest.skip("no docker client here to ask an absent daemon")
    done = run("image", DOCKER_HOST=f"unix://{tmp_path}/absent.sock")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"image: no Docker daemon answers at unix://{tmp_path}/absent.sock: start it "
                     "(as root `dockerd &`, or `systemctl start docker`), then run the make "
                     "target again"]


def test_missing_env_key_is_named(preflight, tmp_path: Path, monkeypatch) -> None:
    env_file = tmp_path / "stack.env"
    env_file.write_text("POSTGRES_PASSWORD=abc123\nAWS_ACCESS_KEY_ID=\n")
    monkeypatch.setattr(preflight, "ENV_FILE", env_file)
    with pytest.raises(preflight.Refused, match=r"has no value for AWS_ACCESS_KEY_ID, "
                       r"AWS_SECRET_ACCESS_KEY, .*: add AWS_ACCESS_KEY_ID=<letters and digits> "
                       r"\(deploy/.env.example lists the keys\)"):
        preflight.ensure_env_file()


def test_absent_env_file_gets_random_secrets(preflight, tmp_path: Path, monkeypatch) -> None:
    env_file = tmp_path / "stack.env"
    monkeypatch.setattr(preflight, "ENV_FILE", env_file)
    preflight.ensure_env_file()
    values = preflight.env_keys(env_file)
    assert set(values) == set(preflight.env_keys(preflight.ENV_EXAMPLE))
    assert all(len(v) == 32 and v != "change-me" for v in values.values())
    assert len(set(values.values())) == len(values)
    assert env_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_taken_port_is_named(preflight, monkeypatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("CHURN_WEB_PORT", str(port))
        with pytest.raises(preflight.Refused, match=rf"port 127.0.0.1:{port} is already taken "
                           rf".*run `make up CHURN_WEB_PORT=<free port>`"):
            preflight.ports_free("churn-preflight-test")


def test_build_without_network_says_what_to_do(preflight, monkeypatch) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        monkeypatch.setattr(preflight, "PYPI", f"http://127.0.0.1:{port}/simple/pip/")
        monkeypatch.setattr(preflight, "IMAGE", "churn-assets:never-built")
        with pytest.raises(preflight.Refused, match=r"cannot reach the package index .* needed "
                           r"for the first image build: connect to the network, or load a built "
                           r"image \(docker load -i churn-assets.tar\), then run make image"):
            preflight.network_for_build()


def test_secret_with_url_characters_is_named(preflight, tmp_path: Path, monkeypatch) -> None:
    env_file = tmp_path / "stack.env"
    values = dict.fromkeys(preflight.env_keys(preflight.ENV_EXAMPLE), "abc123")
    env_file.write_text("".join(f"{k}={'p@ss/word' if k == 'REDIS_PASSWORD' else v}\n"
                                for k, v in values.items()))
    monkeypatch.setattr(preflight, "ENV_FILE", env_file)
    with pytest.raises(preflight.Refused, match=r"the value of REDIS_PASSWORD has characters "
                       r"other than letters, digits and ._~- .*: change it"):
        preflight.ensure_env_file()


def test_extra_setting_in_env_file_is_accepted(preflight, tmp_path: Path, monkeypatch) -> None:
    """A setting beside the secrets (the stack test's dataset YAML) may hold a path."""
    env_file = tmp_path / "stack.env"
    env_file.write_text("".join(f"{k}=abc123\n" for k in preflight.env_keys(preflight.ENV_EXAMPLE))
                        + "CHURN_DATASET_CONFIG=/app/deploy/dataset.stack.quick.yaml\n")
    monkeypatch.setattr(preflight, "ENV_FILE", env_file)
    preflight.ensure_env_file()  # no Refused


def user_shell_environment() -> dict[str, str]:
    """This environment as a user's shell has it: under `make test`, make's own variables would
    make the nested make print `make[1]: ***` instead of `make: ***`."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}


def test_make_up_without_daemon_starts_nothing(tmp_path: Path) -> None:
    """Through the make target a user types: our one line, then make's own status line."""
    if subprocess.run(["which", "docker"], capture_output=True).returncode != 0:
        pytest.skip("no docker client here to ask an absent daemon")
    done = subprocess.run(["make", "--no-print-directory", "up"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**user_shell_environment(),
                               "DOCKER_HOST": f"unix://{tmp_path}/absent.sock",
                               "CHURN_ENV_FILE": str(tmp_path / "never.env")})
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"up: no Docker daemon answers at unix://{tmp_path}/absent.sock")
    assert all(line.startswith("make: ***") for line in lines[1:]), lines
    assert not (tmp_path / "never.env").exists()  # refused before the secrets file was written
