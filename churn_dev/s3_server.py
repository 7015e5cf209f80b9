"""A real S3-compatible HTTP endpoint for tests and benchmarks: moto's ThreadedMotoServer on
127.0.0.1.

Tests talk to it over HTTP with an ``endpoint_url``, exactly like production talks to MinIO or
any custom endpoint, so nothing is patched in-process and no environment variable is set.

Restart semantics (moto 5.x, checked): ``stop()`` closes the listening socket, so requests
then fail with ``botocore.exceptions.EndpointConnectionError`` -- that is how a test simulates
"store unreachable". ``start()`` again binds the *same* port, and buckets and objects are
still there: moto keeps its state in process-global backends, not in the server. The flip side
is that state is shared by every moto server (and ``mock_aws``) in the process; use unique
bucket names, or call ``reset()`` to wipe all of moto's state.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


class MotoS3Server:
    """Handle on a running moto server: endpoint, boto3 clients, stop/start, reset."""

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self._port = 0  # 0 until the first start: the OS picks a free port

    @property
    def endpoint_url(self) -> str:
        if not self._port:
            raise RuntimeError("server was never started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Start (or restart, on the same port) the server; state from before is kept."""
        if self._server is not None:
            return
        # A fresh instance per start: an instance created with port=0 would re-bind a new
        # random port, and the endpoint URL handed to clients would go stale.
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        server.start()
        self._port = server.get_host_and_port()[1]
        self._server = server

    def stop(self) -> None:
        """Stop listening; the endpoint then refuses connections until ``start()``."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """Delete all moto state (every bucket), through moto's own reset endpoint."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def client(self, config: Config | None = None, **kwargs: Any) -> Any:
        """A boto3 S3 client for this endpoint with dummy credentials."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=REGION,
            config=config,
            **kwargs,
        )


@contextmanager
def running_s3_server() -> Iterator[MotoS3Server]:
    """Run a moto S3 server on a free 127.0.0.1 port for the duration of the block."""
    server = MotoS3Server()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def s3_in_environment(monkeypatch, bucket: str) -> Iterator[MotoS3Server]:
    """A running server with ``bucket``, reached through the standard AWS environment,
    exactly as an operator would set it for MinIO."""
    from s3fs import S3FileSystem

    with running_s3_server() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        # fsspec reuses a filesystem made with the same arguments, and the endpoint came from
        # the environment, not the arguments: one made for an earlier server in this process
        # would still call that (stopped) server.
        S3FileSystem.clear_instance_cache()
        server.client().create_bucket(Bucket=bucket)
        try:
            yield server
        finally:
            S3FileSystem.clear_instance_cache()
