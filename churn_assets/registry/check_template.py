"""Fresh check processes without paying their imports on every check (issues 28 and 31).

A *template* is a new interpreter (never a fork of the caller) that imports only what the
load check's child imports (numpy, pandas, MLflow, the model's declared requirements) and
then only forks, one child per check. Each child starts from that clean state: it shares no
memory with the caller nor with earlier checks (each is a fork of the template, never of the
previous child), takes the caller's environment of the moment and its own folder, and then
runs the body as ``python -c body`` would (uncaught errors reach ``sys.excepthook``; the
same exit status; threads joined and exit handlers run), then ends without tearing down the
template's modules, as multiprocessing's forked children end. A process running many checks
(a test worker: dozens of whole graphs) pays the ~4.4 CPU s of imports once per template
instead of once per check.

Not ``multiprocessing``'s forkserver: it is one per process, shared with Dagster's step
executor (whose preload is ``churn_assets.definitions``), started with the environment of
its first use, and its children import the caller's ``__main__``; none of that is fresh.

A template is kept per (environment, preload): a child must not see imports made under an
environment its caller no longer has. Variables read only at use, never at import, are left
out of the key. A child may be forked before its request is known (``fork``): it then runs
the body's first part (a service's start: connecting to the registry) while the caller
works, and reads the request when ``Forked.run`` sends it. Protocol: the caller writes
``[folder, env]``, one JSON line; the template forks and answers ``["pid", n]``; the caller
writes the request as a JSON string (or ``null``: not needed, the child reads end of file);
the template passes it to the child's stdin and answers ``["exit", code]``. Stdin's EOF ends
it.
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
import threading
import time
from collections.abc import Sequence

_TEMPLATE = """
import atexit, contextlib, ctypes, importlib, json, os, sys, threading
import numpy as np, pandas as pd, mlflow, mlflow.artifacts, mlflow.pyfunc

for module in sys.argv[2:]:
    importlib.import_module(module)

# MLflow's load_model compares a model's requirements with the installed packages through a
# map of every installed distribution, built once per process (~0.3 CPU s a child): built here,
# each child inherits it. A private MLflow function: if it is gone, each child builds the map.
with contextlib.suppress(Exception):  # as MLflow's own comparison ignores its errors
    from mlflow.utils import requirements_utils
    requirements_utils._init_packages_to_modules_map()


def resident_file_pages():
    # A fork counts the pages of mapped files (the libraries) in its memory only once it
    # touches them again; a fresh process has them counted from its imports on. The child
    # touches these so that its peak memory is the fresh process's.
    page, pages = os.sysconf("SC_PAGE_SIZE"), []
    with open("/proc/self/maps") as maps, open("/proc/self/pagemap", "rb") as pagemap:
        for fields in (line.split() for line in maps):
            if len(fields) < 6 or not fields[5].startswith("/") or "r" not in fields[1]:
                continue
            start, end = (int(address, 16) for address in fields[0].split("-"))
            pagemap.seek(start // page * 8)
            entries = pagemap.read((end - start) // page * 8)
            pages += [start + i * page for i in range(len(entries) // 8)
                      if entries[8 * i + 7] & 0x80]  # bit 63: present
    return pages


touch = resident_file_pages()
while True:
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    folder, env = json.loads(line)
    if threading.active_count() != 1:  # a lock held by a thread would stay held in the child
        sys.exit("the load check template started a thread: it cannot fork safely")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(write_end)
        break
    os.close(read_end)
    print(json.dumps(["pid", pid]), flush=True)
    line = sys.stdin.readline()  # the child's request, when the caller has it
    request = json.loads(line) if line.strip() else None
    if request is not None:
        with contextlib.suppress(BrokenPipeError):  # it ended before reading: its exit says why
            os.write(write_end, (request + "\\n").encode())
    os.close(write_end)
    print(json.dumps(["exit", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])]), flush=True)

for address in touch:
    ctypes.string_at(address, 1)
os.chdir(folder)
os.environ.clear()
os.environ.update(env)
for fd, name in ((0, os.devnull), (1, os.devnull), (2, "stderr")):
    opened = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
    os.dup2(opened, fd)
    os.close(opened)
sys.stdin = os.fdopen(read_end)
body, sys.argv = sys.argv[1], ["-c", *sys.argv[2:]]
code = 0
try:
    exec(compile(body, "<string>", "exec"), {"__name__": "__main__"})
except SystemExit as stop:  # as `python -c` ends: a text is printed and means 1
    code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    if stop.code is not None and not isinstance(stop.code, int):
        print(stop.code, file=sys.stderr)
except BaseException:
    sys.excepthook(*sys.exc_info())
    code = 1
# The interpreter's own exit would then tear down every module the template imported, writing
# to each shared page it touches (reference counts) and so copying it: ~0.5 CPU s a child.
# Ended as multiprocessing ends its forked children: non-daemon threads joined, exit handlers
# run, streams flushed, then os._exit.
threading._shutdown()
atexit._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""

MAX_TEMPLATES = 2  # e.g. two model families' requirements in one test process
# Read at use, never at import: they reach each child but do not call for a new template.
# (pytest names the running test in one; each test has its own tracking store; Dagster's
# `instance_for_test` points DAGSTER_HOME at each test's instance, a variable the child's
# imports never read: keyed, it cost every test a new template, ~4.4 CPU s.)
_NOT_KEYED = frozenset({"PYTEST_CURRENT_TEST", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI",
                        "DAGSTER_HOME"})


class _Template:
    def __init__(self, body: str, preload: Sequence[str], env: dict[str, str]):
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen([sys.executable, "-c", _TEMPLATE, body, *preload],
                                        env=env, cwd="/", stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.errors)
        self._unread = b""
        self.busy = False
        self.skip = 0  # answers still due for cancelled children, read before the next ones

    def write(self, item: object) -> None:
        """One JSON line to the template (if it ended, ``answer`` says why)."""
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(json.dumps(item).encode() + b"\n")
            self.process.stdin.flush()

    def answer(self, deadline: float) -> list | None:
        """The template's next line; None at the deadline. Raises OSError if it ended."""
        while True:
            line = self._line(deadline)
            if line is None or not self.skip:
                return line
            self.skip -= 1

    def _line(self, deadline: float) -> list | None:
        fd = self.process.stdout.fileno()
        while b"\n" not in self._unread:
            if not select.select([fd], [], [], max(deadline - time.monotonic(), 0))[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                self.process.wait()
                self.errors.seek(0)
                message = self.errors.read().decode(errors="replace")
                self.close()
                raise OSError(message or "the load check's template process ended")
            self._unread += chunk
        line, self._unread = self._unread.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.errors.close()


_TEMPLATES: dict[tuple, _Template] = {}
_OWNER = [os.getpid()]  # a forked copy of the caller must not use (nor end) its templates
_LOCK = threading.Lock()


def _close_all() -> None:
    if _OWNER[0] == os.getpid():
        for template in _TEMPLATES.values():
            template.close()


atexit.register(_close_all)


def _template(body: str, preload: Sequence[str], env: dict[str, str]) -> _Template:
    """The idle template for this body, preload and environment, started if there is none."""
    if _OWNER[0] != os.getpid():
        _TEMPLATES.clear()
        _OWNER[0] = os.getpid()
    key = (body, tuple(preload), tuple(sorted(i for i in env.items() if i[0] not in _NOT_KEYED)))
    template = _TEMPLATES.get(key)
    if template is not None and not template.busy and template.process.poll() is None:
        _TEMPLATES[key] = _TEMPLATES.pop(key)  # most recently used last
        return template
    if template is not None and not template.busy:
        _TEMPLATES.pop(key).close()
    template = _Template(body, preload, env)
    if key not in _TEMPLATES:  # a busy one stays; this one then serves a single check
        while len(_TEMPLATES) >= MAX_TEMPLATES:
            _TEMPLATES.pop(next(iter(_TEMPLATES))).close()
        _TEMPLATES[key] = template
    return template


class Forked:
    """A child forked from its template before its request is known: it runs the body up to
    reading its stdin (e.g. connecting to a registry) while the caller works. Used once:
    ``run`` sends the request and waits, ``cancel`` lets it end unused."""

    def __init__(self, template: _Template, transient: bool, folder: str,
                 env: dict[str, str]):
        self.template, self.transient, self.folder, self.env = template, transient, folder, env
        self.done = False
        template.write([folder, env])  # queued: the template forks once its imports are done

    def run(self, request: str, timeout: float) -> tuple[int | None, str]:
        """``request`` as the child's stdin: (exit code as ``Popen.returncode`` gives it, its
        stderr); (None, "") on timeout, the child (or the template, if it was still
        importing) killed."""
        template, deadline = self.template, time.monotonic() + timeout
        try:
            template.write(request)
            pid = template.answer(deadline)
            if pid is None:
                template.close()
                return None, ""
            code = template.answer(deadline)
            if code is None:
                os.kill(pid[1], signal.SIGKILL)  # not yet reaped: the pid is still the child's
                if template.answer(time.monotonic() + 60) is None:
                    template.close()
                return None, ""
        except OSError as error:  # the template failed, e.g. a preload's import
            return 1, str(error)
        finally:
            self._release()
        with open(os.path.join(self.folder, "stderr"), errors="replace") as f:
            return code[1], f.read()

    def cancel(self) -> None:
        """Not needed after all: the child reads end of file and ends (the body's own exit)."""
        if self.done:
            return
        if not self.transient:
            self.template.write(None)
            self.template.skip += 2  # its pid and exit, read before the next child's
        self._release()

    def _release(self) -> None:
        with _LOCK:
            self.done, self.template.busy = True, False
            if self.transient:  # a one-off template: its imports served this child only
                self.template.close()


def fork(body: str, preload: Sequence[str], env: dict[str, str], folder: str) -> Forked:
    """A child of the template for this body, preload and environment (started if there is
    none, its imports overlapping the caller's work), in ``folder`` with ``env``, waiting for
    its request. Returns at once."""
    with _LOCK:
        template = _template(body, preload, env)
        transient = template not in _TEMPLATES.values()  # the kept one was busy
        template.busy = True
    return Forked(template, transient, folder, env)


def run(body: str, preload: Sequence[str], env: dict[str, str], folder: str, request: str,
        timeout: float) -> tuple[int | None, str]:
    """Run ``body`` in a fork of the template, in ``folder`` with ``env``, ``request`` as its
    stdin (``fork`` then ``Forked.run``)."""
    return fork(body, preload, env, folder).run(request, timeout)
