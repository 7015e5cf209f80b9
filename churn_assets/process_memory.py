"""Give memory a finished step freed back to the operating system.

The local deployment runs every step in one process. A step that held a large table frees
it, but neither allocator returns the pages on its own: pyarrow's pool (mimalloc) keeps what
a Parquet read or write used (a quarter of a GB per million rows read), and glibc keeps freed
heap pages and raises its mmap threshold after large frees, so later arrays land in the heap
too. The next step's tables then stack on top of what the last one left, and the run's peak
is a sum of steps rather than its largest step.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

# Below these a table's leftovers are a few MB, while one release costs ~0.2 s (a full
# collection of the run's imported modules): three per step made every step of the Telco
# graph 0.5-0.7 s slower (run 16.8 s -> 23.4 s).
LARGE_TABLE_ROWS = 200_000
LARGE_PARQUET_BYTES = 8 * 2**20  # a stored customer table of about 150k rows


@functools.cache
def _glibc_malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    return getattr(library, "malloc_trim", None)


def release_freed_memory() -> None:
    """Collect cycles, then hand the free pages of pyarrow's pool and of glibc's heap back
    (``malloc_trim`` also releases free pages inside the heap, not only at its top)."""
    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _glibc_malloc_trim()
    if trim is not None:
        trim(0)
