"""Fresh check processes without paying their imports each time: a forkserver of our own.

A *template* is a new interpreter (never a fork of the caller) that imports what a
downstream consumer imports (numpy, pandas, MLflow, the model's declared requirements) and
then only forks, one child per check. Each child starts from that clean state: it shares no
memory with the process that trained the model, nor with earlier checks (each is a fork of
the template, not of the previous child). So the check is as strict as a new interpreter
started with the same environment, minus its ~4 s of imports (mlflow, xgboost, sklearn: 4.4 CPU s
measured) on every check after the first in a process (the tests run dozens of whole graphs
per process; a user's `dagster asset materialize` runs one and gains nothing, nor loses).

A template is kept per (interpreter environment, preloaded modules): a child must not see an
environment its caller does not have, as PYTHONPATH or a library's import-time variable would
otherwise leak from an earlier test. It ends when its caller does (atexit, or its stdin's EOF).

Protocol: the caller writes ``[folder, env]`` on the template's stdin; the template forks,
answers ``["pid", n]``, waits for the child and answers ``["exit", code]``. The child moves to
``folder``, takes ``env`` as its whole environment, writes its stderr to ``folder/stderr``
and reads its one request line from the FIFO ``folder/request`` (``ForkedChild.communicate``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# Runs in the template. Forking is safe only while it has no other thread (a lock held by a
# thread would stay locked in the child forever): it checks before each fork. The caller's
# end (stdin's EOF) ends the template and its child; the template's end ends its child.
_TEMPLATE = """
import ctypes, importlib, json, os, select, signal, sys, threading
import numpy as np, pandas as pd, mlflow, mlflow.artifacts, mlflow.pyfunc

BODY = sys.argv[1]
for module in sys.argv[2:]:
    importlib.import_module(module)
libc = ctypes.CDLL(None)
template = os.getpid()


def next_request():  # fd 0 unbuffered: select must see what is really unread
    data = b""
    while not data.endswith(b"\\n"):
        chunk = os.read(0, 65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def run_child(folder, env):
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the child ends with its template
    if os.getppid() != template:
        os._exit(1)
    sys.argv = ["-c", *sys.argv[2:]]  # as the body's own interpreter would see them
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(env)
    for fd, name, flags in ((0, "request", os.O_RDONLY), (1, os.devnull, os.O_WRONLY),
                            (2, "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        os.dup2(os.open(name, flags, 0o600), fd)
    sys.stdin, sys.stdout = open(0, closefd=False), open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    code = 0
    try:
        exec(compile(BODY, "<load check>", "exec"), {"__name__": "__main__"})
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


out = os.fdopen(os.dup(1), "w")
while (request := next_request()) is not None:
    if threading.active_count() != 1:
        sys.exit("the check template started a thread: it cannot fork safely")
    pid = os.fork()
    if pid == 0:
        run_child(*request)
    out.write(json.dumps(["pid", pid]) + "\\n")
    out.flush()
    while not (status := os.waitpid(pid, os.WNOHANG))[0]:
        if select.select([0], [], [], 0.05)[0]:  # only the caller's end comes meanwhile
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.exit(0)
    out.write(json.dumps(["exit", os.waitstatus_to_exitcode(status[1])]) + "\\n")
    out.flush()
"""

MAX_TEMPLATES = 2  # e.g. two model families' requirements in one test process
# Variables that change between calls and that no import reads: they reach each child (its
# environment is the caller's of the moment) but do not call for a new template. pytest
# names the running test in one, which would otherwise start a template per test.
_VOLATILE = frozenset({"PYTEST_CURRENT_TEST"})


class _Template:
    def __init__(self, body: str, preload: Sequence[str], env: dict[str, str]):
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen([sys.executable, "-c", _TEMPLATE, body, *preload],
                                        env=env, cwd="/", stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.errors)
        self.busy = False  # one child at a time: the template waits for it

    def alive(self) -> bool:
        return self.process.poll() is None

    def read(self, timeout: float | None) -> list | None:
        """The template's next answer; None when none came within ``timeout`` seconds."""
        stdout = self.process.stdout
        if timeout is not None and not select.select([stdout], [], [], max(timeout, 0))[0]:
            return None
        line = stdout.readline()
        if not line:
            self.process.wait()
            self.errors.seek(0)
            raise OSError(self.errors.read().decode(errors="replace")
                          or "the load check's template process ended")
        return json.loads(line)

    def close(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.errors):
            pipe.close()


_TEMPLATES: dict[tuple, _Template] = {}


def _close_all() -> None:
    while _TEMPLATES:
        _TEMPLATES.popitem()[1].close()


atexit.register(_close_all)


class ForkedChild:
    """The part of ``subprocess.Popen`` the load check uses, for a child of a template."""

    def __init__(self, template: _Template, folder: str, env: dict[str, str]):
        self._template, self._folder = template, Path(folder)
        os.mkfifo(self._folder / "request", 0o600)
        template.busy = True
        template.process.stdin.write(json.dumps([folder, env]).encode() + b"\n")
        template.process.stdin.flush()
        self._pid: int | None = None  # answered once the template has imported (seconds)
        self.returncode: int | None = None
        self._error = ""

    def _answer(self, kind: str, timeout: float | None) -> int | None:
        try:
            answer = self._template.read(timeout)
        except OSError as error:  # the template itself failed (e.g. a preload import)
            self.returncode, self._error = 1, str(error)
            return None
        if answer is None:
            return None
        if answer[0] != kind:
            raise RuntimeError(f"load check template answered {answer}, expected {kind}")
        return answer[1]

    @property
    def pid(self) -> int | None:
        if self._pid is None and self.returncode is None:
            self._pid = self._answer("pid", None)
        return self._pid

    def _finish(self, timeout: float | None) -> bool:
        if self.returncode is None:
            if self._pid is None:
                self._pid = self._answer("pid", timeout)
                if self._pid is None:
                    return self.returncode is not None
            code = self._answer("exit", timeout)
            if code is None:
                return self.returncode is not None
            self.returncode, self._template.busy = code, False
        return True

    def poll(self) -> int | None:
        self._finish(0)
        return self.returncode

    def kill(self) -> None:
        pid = self.pid
        if self.returncode is None and pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _send(self, request: str, deadline: float) -> None:
        """Write the request into the FIFO once the child has opened it (it does at once)."""
        while True:
            try:
                fd = os.open(self._folder / "request", os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:  # ENXIO: no reader yet; or the child is gone
                if self.poll() is not None or time.monotonic() > deadline:
                    return
                time.sleep(0.01)
        os.set_blocking(fd, True)
        try:
            os.write(fd, request.encode())
        except BrokenPipeError:  # the child died meanwhile: its exit code says so
            pass
        finally:
            os.close(fd)

    def communicate(self, request: str | None = None, timeout: float | None = None
                    ) -> tuple[None, str]:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        if request is not None and self.returncode is None:
            self._send(request, deadline)
        elif self.returncode is None:
            self.kill()  # no request: the child has nothing to do
        if not self._finish(None if timeout is None else deadline - time.monotonic()):
            raise subprocess.TimeoutExpired("load check", timeout or 0)
        stderr = self._folder / "stderr"
        return None, stderr.read_text(errors="replace") if stderr.exists() else self._error


def fork_check(body: str, preload: Sequence[str], folder: str, env: dict[str, str],
               template_env: dict[str, str]) -> ForkedChild:
    """A child of the template for (``template_env``, ``preload``) — started now if there is
    none, or if the one there is busy or gone — running ``body`` in ``folder`` with ``env``."""
    key = (tuple(sorted((k, v) for k, v in template_env.items() if k not in _VOLATILE)),
           tuple(preload), body)
    template = _TEMPLATES.get(key)
    if template is None or template.busy or not template.alive():
        if template is not None:
            _TEMPLATES.pop(key).close()
        while len(_TEMPLATES) >= MAX_TEMPLATES:
            _TEMPLATES.pop(next(iter(_TEMPLATES))).close()
        template = _TEMPLATES[key] = _Template(body, preload, template_env)
    else:  # most recently used last
        _TEMPLATES[key] = _TEMPLATES.pop(key)
    return ForkedChild(template, folder, env)
