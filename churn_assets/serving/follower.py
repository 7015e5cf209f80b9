"""Follow the registry's aliases without a restart: every ``poll_seconds`` ask which versions
@champion and @challenger point at; a new version is loaded beside the one serving, passes
the same load check a promotion runs (a fresh process, ``registry.load_check``), and then
replaces it in one assignment. Each swap is a row in ``alias_history``. A version that fails
its check is not served, and the one serving stays."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from churn_assets.dataset_sections import ServingConfig
from churn_assets.names import CHALLENGER, CHAMPION
from churn_assets.serving.model_set import LoadedModel, ModelHolder
from churn_assets.serving.prediction_log import PredictionLog

LOG = logging.getLogger(__name__)
ALIASES = (CHAMPION, CHALLENGER)


def load_model(tracking_uri: str, name: str, version: str, alias: str) -> LoadedModel:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    loaded = LoadedModel(name, version, alias, datetime.now(UTC), pyfunc)
    example = pyfunc.input_example
    if example is not None:
        loaded.score(example)  # first-call costs paid here, not by a caller
    return loaded


def passes_load_check(tracking_uri: str, name: str, version: str) -> tuple[bool, str]:
    from churn_assets.registry.load_check import check_model_loads

    check = check_model_loads(f"models:/{name}/{version}", None, tracking_uri)
    return check.ok, check.text()


class AliasFollower:
    def __init__(self, holder: ModelHolder, log: PredictionLog, tracking_uri: str,
                 model_name: str, read_serving: Callable[[], ServingConfig],
                 check: Callable[[str, str, str], tuple[bool, str]] = passes_load_check):
        self.holder, self.log, self.tracking_uri = holder, log, tracking_uri
        self.model_name, self.read_serving, self.check = model_name, read_serving, check
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alias-follower", daemon=True)
        self.last_poll: datetime | None = None
        self.last_error: str | None = None
        self.refused: dict[str, str] = {}  # version -> why its load check failed

    def start(self) -> AliasFollower:
        """The first poll here, so the service accepts requests with its models loaded."""
        self.poll_once()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(self.holder.current.serving.poll_seconds):
            self.poll_once()

    def poll_once(self) -> None:
        try:
            serving = self.read_serving()
            if serving != self.holder.current.serving:
                self.holder.update(serving=serving)
            client = self._client()
            for alias in ALIASES:
                self._follow(client, alias, first=self.last_poll is None)
            self.last_error = None
        except Exception as error:  # the registry or the YAML is unreachable: keep serving
            self.last_error = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            LOG.warning("registry poll failed, serving what is loaded: %s", self.last_error)
        self.last_poll = datetime.now(UTC)

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _follow(self, client: Any, alias: str, first: bool) -> None:
        from mlflow.exceptions import MlflowException

        try:
            version = str(client.get_model_version_by_alias(self.model_name, alias).version)
        except MlflowException as error:
            if getattr(error, "error_code", "") not in ("RESOURCE_DOES_NOT_EXIST",
                                                        "INVALID_PARAMETER_VALUE"):
                raise
            version = None
        serving = getattr(self.holder.current, alias)
        if (serving.version if serving else None) == version or version in self.refused:
            return
        if version is None:
            self.holder.update(**{alias: None})
            self._record(alias, None, serving, "alias removed")
            return
        # At start the champion is served without a new check (it passed one to be promoted):
        # the service answers sooner; every later version is checked before it serves.
        verdict = "served at start" if first else None
        if verdict is None:
            ok, verdict = self.check(self.tracking_uri, self.model_name, version)
            if not ok:
                self.refused[version] = verdict
                LOG.warning("%s v%s not served: load check %s", alias, version, verdict)
                return
        loaded = load_model(self.tracking_uri, self.model_name, version, alias)
        self.holder.update(**{alias: loaded})
        self._record(alias, version, serving, verdict)
        LOG.info("now serving %s v%s as @%s", self.model_name, version, alias)

    def _record(self, alias: str, version: str | None, previous: LoadedModel | None,
                verdict: str) -> None:
        self.log.submit("alias_history", [{
            "event_id": uuid.uuid4().hex, "served_from": datetime.now(UTC),
            "model_name": self.model_name, "alias": alias, "version": version or "",
            "previous_version": previous.version if previous else "",
            "load_check": verdict, "host": f"{socket.gethostname()}:{os.getpid()}"}])
