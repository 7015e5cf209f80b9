"""The stack's S3 stand-in: moto's server on 0.0.0.0:9000, its objects kept across restarts.

moto holds everything in memory. Its request recorder appends requests to a file (on the
stack's `s3data` volume); this keeps only the requests that change something (not GET/HEAD:
the landing sensor lists its prefix every 30 s) and replays the file into a private server on
127.0.0.1 before the public one opens, so the health check turns green only on a store that is
as it was before `make down`. A demo store: the file grows with every write, and a multipart
upload (objects above 8 MB) does not survive a replay. For real use point AWS_ENDPOINT_URL_S3
at MinIO or AWS and drop this service.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

RECORDING = Path(os.environ.get("MOTO_RECORDER_FILEPATH", "/data/moto-recording.jsonl"))
PORT = int(os.environ.get("S3_PORT", "9000"))


def main() -> None:
    os.environ["MOTO_RECORDER_FILEPATH"] = str(RECORDING)
    from moto.moto_api import recorder
    from moto.server import ThreadedMotoServer

    record = recorder._record_request

    def record_writes(request, body=None):
        if request.method not in ("GET", "HEAD"):
            record(request, body)

    recorder._record_request = record_writes
    RECORDING.parent.mkdir(parents=True, exist_ok=True)
    RECORDING.touch()
    replay = ThreadedMotoServer(ip_address="127.0.0.1", port=PORT + 1, verbose=False)
    replay.start()
    recorder.replay_recording(target_host=f"http://127.0.0.1:{PORT + 1}")
    replay.stop()
    print(f"s3: replayed {sum(1 for _ in RECORDING.open())} writes from {RECORDING}", flush=True)
    recorder.start_recording()
    server = ThreadedMotoServer(ip_address="0.0.0.0", port=PORT, verbose=False)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
