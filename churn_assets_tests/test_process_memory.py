"""Memory a step freed goes back to the operating system (steps share one process locally)."""

from pathlib import Path

import numpy as np
import pytest

from churn_assets.process_memory import _glibc_malloc_trim, release_freed_memory


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.skipif(_glibc_malloc_trim() is None or not Path("/proc/self/status").exists(),
                    reason="glibc's malloc_trim and /proc are Linux/glibc only")
def test_freed_heap_memory_is_returned():
    # 3,000 arrays of 96 KB sit in glibc's heap (below its mmap threshold); the last one,
    # kept, pins the heap's top, so freeing the rest returns nothing by itself.
    arrays = [np.ones(12_000) for _ in range(3_000)]
    kept = arrays[-1]
    del arrays
    before = rss_mib()
    release_freed_memory()
    assert before - rss_mib() > 200  # of the ~275 MiB freed
    assert kept.sum() == 12_000
