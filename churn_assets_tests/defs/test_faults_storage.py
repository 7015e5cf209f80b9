"""The storage folder is read-only or full: the run fails with a message that names the
folder and the reason, and the input is untouched.

Read-only and full are made real with a small tmpfs mounted read-only or with a tiny size
(root, as in CI containers); elsewhere a chmod'ed folder stands in for read-only.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from churn_assets_tests.helpers.workspace import (
    ChurnWorkspace,
    customers,
    file_fingerprint,
    materialize_graph,
)


@pytest.fixture
def broken_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "storage"
    folder.mkdir()
    if os.geteuid() != 0:
        if request.param != "read-only":
            pytest.skip("a full disk is simulated with a tmpfs mount, which needs root")
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    options = "ro,size=1m" if request.param == "read-only" else "size=64k"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize(("broken_storage", "reason"),
                         [("read-only", "Read-only file system"),
                          ("full", "No space left on device")],
                         indirect=["broken_storage"], ids=["read-only", "full"])
def test_unwritable_storage_fails_with_the_folder_and_the_reason(
    workspace: ChurnWorkspace, broken_storage: Path, reason: str,
) -> None:
    if os.geteuid() != 0:
        reason = "Permission denied"
    source = workspace.write_data("customers.csv", customers(n_rows=3000))
    before = file_fingerprint(source)
    workspace.write_config(source)
    workspace.configure(storage_uri=str(broken_storage / "assets"))

    result = materialize_graph(workspace, selection="raw_customers")

    assert not result.success
    [failure] = [e.step_failure_data for e in result.all_events if e.is_step_failure]
    error = failure.error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    text = " ".join(messages)
    assert reason in text, text
    assert str(broken_storage) in text, text
    assert f"cannot store raw_customers in {broken_storage}" in text, text
    assert file_fingerprint(source) == before
