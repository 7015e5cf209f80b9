"""The ``online_features`` push alone: generated customers (the bench's generator) into Feast's
SQLite online store in a fresh folder (or a throw-away ``redis-server``: ``--redis``), through
the same ``CustomerFeatures.push`` the asset calls. Prints wall and CPU seconds of the push
(Redis: the server's CPU too) and the process's peak RSS before and after it.

    python -m benchmarks.online_push_bench --rows 100000 [--seed 3] [--twice] [--redis]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import pandas as pd

from churn_assets.generator import generate_customers
from churn_assets.names import META_COLUMNS
from churn_assets.serving import online_store as online


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu_s() -> float:
    """The CPU seconds of this process's running children (the Redis server)."""
    total = 0.0
    for child in Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split():
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--twice", action="store_true", help="push the same rows again")
    parser.add_argument("--redis", action="store_true", help="a throw-away redis-server")
    args = parser.parse_args()
    frame = generate_customers(args.rows, args.seed)
    # As the validated snapshot holds it: TotalCharges read as numbers (blanks missing).
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"], errors="coerce")
    online.import_feast()
    if args.redis:
        from churn_dev.redis_server import running_redis
    with tempfile.TemporaryDirectory() as folder, \
            (running_redis() if args.redis else nullcontext(None)) as redis_url:
        location = online.store_location(redis_url or str(Path(folder) / "online.db"), folder)
        for attempt in range(2 if args.twice else 1):
            store = online.open_store("churn-classifier", "customerID", location)
            before_peak, cpu, wall = _peak_mib(), _cpu_s(), time.perf_counter()
            server = _server_cpu_s()
            pushed = store.push([frame], drop=("Churn", *META_COLUMNS))
            server = _server_cpu_s() - server
            print(f"push {attempt + 1} ({location.kind}): {pushed} rows, "
                  f"{time.perf_counter() - wall:.1f} s wall, {_cpu_s() - cpu:.1f} CPU s "
                  f"(+{server:.1f} s the server's); peak RSS {before_peak:.0f} MiB before the "
                  f"push, {_peak_mib():.0f} MiB after", flush=True)


if __name__ == "__main__":
    main()
