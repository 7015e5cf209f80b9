"""The registry lock (filelock) excludes a second writer, thread or process, and names
itself when it never frees."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from churn_assets.registry.registry_lock import lock_path, registry_lock

URI = "http://127.0.0.1:1"  # never contacted: only keys the lock


def _hold(lock_dir: str, held: multiprocessing.Event, release: multiprocessing.Event) -> None:
    with registry_lock(URI, "m", Path(lock_dir)):
        held.set()
        release.wait(30)


def test_a_second_writer_waits_then_gets_the_lock(tmp_path: Path) -> None:
    """Ordered by events, not by sleeping: while the first writer holds the lock a second
    one cannot take it, and a blocked second writer gets it once the first lets go."""
    order: list[str] = []
    held, release = threading.Event(), threading.Event()

    def first() -> None:
        with registry_lock(URI, "m", tmp_path):
            held.set()
            release.wait(10)
            order.append("first done")

    def second() -> None:
        with registry_lock(URI, "m", tmp_path, timeout_seconds=10):
            order.append("second in")

    holder = threading.Thread(target=first)
    holder.start()
    assert held.wait(10)
    with pytest.raises(TimeoutError), registry_lock(URI, "m", tmp_path, timeout_seconds=0):
        pass  # excluded while the first writer holds it
    waiter = threading.Thread(target=second)
    waiter.start()
    release.set()
    holder.join(10)
    waiter.join(10)
    assert order == ["first done", "second in"]


def test_a_lock_held_by_another_process_times_out_naming_the_file(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(tmp_path), held, release))
    holder.start()
    try:
        assert held.wait(60)
        with pytest.raises(TimeoutError, match=r"registry lock .*\.registry-m\.lock"), \
                registry_lock(URI, "m", tmp_path, timeout_seconds=0.2):
            pass
    finally:
        release.set()
        holder.join(30)
    with registry_lock(URI, "m", tmp_path, timeout_seconds=5) as path:  # freed on exit
        assert path == lock_path(URI, "m", tmp_path)
