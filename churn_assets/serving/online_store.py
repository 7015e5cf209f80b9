"""Each customer's newest raw row in Feast's online store, for ``GET /customers/{id}``: the
model takes raw rows and preprocesses them itself, so the row stored is exactly the row batch
scoring reads, and the online answer equals the batch one.

The feature repo is derived from the dataset YAML, with no ``.py`` repo folder: entity = the
id column, one feature view ``customers`` = the snapshot's columns but the target and the
pipeline's own (types from the validated snapshot), project = the model name. It is applied
through Feast's Python API (``FeatureStore(config=RepoConfig(...))``, ``store.apply``).

- Online store: ``CHURN_ONLINE_STORE_URL``: ``redis://[:password@]host:port/db`` (or
  ``rediss://``) is Feast's Redis store (production, tests); anything else is the path of
  Feast's SQLite store (default: ``feature_repo/online_store.db`` in the state folder).
- Registry: ``<storage>/feature_repo/registry.db`` beside the intermediate tables (a local
  folder, or S3 in production), so the run that pushes and the service that reads find the
  same definitions.
The URL may carry the Redis password: it goes to Feast only, never to a log or metadata.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd

from churn_assets.environment import STORE_URL_ENV
from churn_assets.serving import sqlite_rows
from churn_assets.serving.online_rows import PUSH_SLICE_ROWS, convert, slices

if TYPE_CHECKING:
    from feast import FeatureStore

LOG = logging.getLogger(__name__)
VIEW = "customers"
PUSHED_AT = "churn_pushed_at"  # Feast's event time: the newer push of a customer wins
REGISTRY_TTL_SECONDS = 60  # a service sees a changed feature view within this
NO_ID_COLUMN = ("the dataset YAML has no id_column: no online lookups (set id_column to "
                "serve customers by id)")
NO_FEAST = ("Feast is not installed: no online lookups (it comes with the scoring service's "
            "[serve] extra: `make serve`, or pip install 'churn-assets[serve]')")


def _unchecked(target=None, **_options):
    return target if target is not None else (lambda decorated: decorated)


def import_feast() -> None:
    """Import Feast (a service imports MLflow's request-header registry after it:
    ``CustomerFeatures.import_library``).

    Feast is imported with typeguard's ``@typechecked`` as a no-op, as it is under ``python
    -O`` (typeguard's documented behaviour): Feast decorates its classes with it, and typeguard
    re-parses and compiles each one at import: ``import feast`` took 4.7-4.9 CPU s, 1.5 s
    this way (measured). Only Feast's own modules imported here see the no-op; the original
    is put back."""
    if "feast" not in sys.modules:  # else imported already (or marked absent: None)
        _import_unchecked()
    import feast  # noqa: F401 - raises when absent


def _import_unchecked() -> None:
    try:
        import typeguard
    except ModuleNotFoundError:
        import feast  # noqa: F401 - says what is missing
        return
    checked = typeguard.typechecked
    typeguard.typechecked = _unchecked
    try:
        import feast  # noqa: F401
    finally:
        typeguard.typechecked = checked


def feast_missing() -> bool:
    """True when Feast is not installed (``make train`` and ``make dev`` do not install the
    serving extra)."""
    try:
        import_feast()
    except ModuleNotFoundError as error:
        if error.name != "feast":
            raise  # Feast is there but broken: say so, not that it is missing
        return True
    return False


@dataclass(frozen=True)
class StoreLocation:
    online: str  # redis://… or the path of a SQLite file
    registry: str  # a path or s3:// URI

    @property
    def kind(self) -> str:  # what metadata and logs may say (the URL may hold a password)
        return "redis" if self.online.startswith(("redis://", "rediss://")) else "sqlite"


def store_location(url: str, storage_uri: str) -> StoreLocation:
    """``url`` ($CHURN_ONLINE_STORE_URL, else ``Settings.default_store_url()``), the registry
    beside the intermediate tables under ``storage_uri``."""
    return StoreLocation(url, f"{storage_uri.rstrip('/')}/feature_repo/registry.db")


def redis_connection_string(url: str) -> str:
    """``redis://[user:password@]host:port/db`` as Feast's ``host:port,db=…,password=…``."""
    parts = urlsplit(url)
    options = [f"{parts.hostname or 'localhost'}:{parts.port or 6379}",
               f"db={parts.path.strip('/') or 0}", "socket_timeout=2"]
    for key, value in (("username", parts.username), ("password", parts.password)):
        if value:
            value = unquote(value)
            if "," in value:  # Feast splits its connection string on commas
                raise ValueError(f"the Redis {key} in {STORE_URL_ENV} contains a comma, "
                                 "which Feast's connection string cannot carry")
            options.append(f"{key}={value}")
    if parts.scheme == "rediss":
        options.append("ssl=true")
    return ",".join(options)


def project_name(model_name: str) -> str:
    """Feast projects are letters, digits and underscores: the model name made so."""
    return re.sub(r"\W+", "_", model_name).strip("_") or "churn"


def feast_type(dtype: Any):
    import_feast()
    from feast import types

    if pd.api.types.is_bool_dtype(dtype):
        return types.Bool
    if pd.api.types.is_integer_dtype(dtype):
        return types.Int64
    if pd.api.types.is_float_dtype(dtype):
        return types.Float64
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return types.UnixTimestamp
    return types.String


def feature_definitions(id_column: str, dtypes: pd.Series, source_path: str) -> list:
    """The entity and the ``customers`` view of one dataset; ``dtypes``: the served columns'
    types (id column included). Offline reads do not use ``source_path`` (batch scoring reads
    the validated snapshot itself); Feast requires a batch source on a view."""
    import_feast()
    from feast import Entity, FeatureView, Field, FileSource, ValueType

    entity = Entity(name=id_column, join_keys=[id_column], value_type=ValueType.STRING,
                    description="the dataset YAML's id_column")
    schema = [Field(name=id_column, dtype=feast_type(object))] + [
        Field(name=str(name), dtype=feast_type(dtype))
        for name, dtype in dtypes.items() if name != id_column]
    source = FileSource(name=f"{VIEW}_source", path=source_path, timestamp_field=PUSHED_AT)
    view = FeatureView(name=VIEW, entities=[entity], schema=schema, source=source,
                       ttl=timedelta(0), online=True,
                       description="each customer's newest raw row, target left out")
    return [entity, view]


def push_frame(frame: pd.DataFrame, id_column: str, pushed_at: datetime) -> pd.DataFrame:
    """The rows as Feast writes them: one per id (a later row wins, as in a snapshot), ids and
    text as ``str``, missing values as None, the push time as event time."""
    from feast import types

    out = frame.drop_duplicates(id_column, keep="last").copy()
    for column in out.columns:
        if column == id_column or feast_type(out[column].dtype) == types.String:
            text = out[column].astype(object)
            out[column] = text.where(text.notna(), None).map(
                lambda value: value if value is None else str(value))
    out[PUSHED_AT] = pushed_at
    return out


class CustomerFeatures:
    """The ``customers`` feature view of one dataset in Feast: ``push`` (the asset), ``get``
    and ``frame`` (the service). The Feast store opens on first use (its import takes
    seconds) and is shared by the service's threads."""

    def __init__(self, model_name: str, id_column: str, location: StoreLocation):
        self.project, self.id_column = project_name(model_name), id_column
        self.location = location
        self._store: FeatureStore | None = None
        self._lock = threading.Lock()
        self._schema: tuple[float, Any, dict[str, Any]] | None = None  # (at, view, types)

    @property
    def store(self) -> FeatureStore:
        with self._lock:
            if self._store is None:
                self._store = self._open()
            return self._store

    def _open(self) -> FeatureStore:
        import_feast()
        from feast import FeatureStore, RepoConfig
        from feast.repo_config import RegistryConfig

        from churn_assets.serving import no_offline_store  # imports Feast: after import_feast

        if self.location.kind == "redis":  # imports the redis client: only when it is used
            from feast.infra.online_stores.redis import RedisOnlineStoreConfig

            online = RedisOnlineStoreConfig(
                connection_string=redis_connection_string(self.location.online))
        else:
            from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig

            path = Path(self.location.online.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            online = SqliteOnlineStoreConfig(path=str(path))
        registry = self.location.registry
        config = RepoConfig(
            project=self.project, provider="local", online_store=online,
            offline_store={"type": no_offline_store.TYPE},  # not Feast's default (dask)
            registry=RegistryConfig(path=registry, cache_ttl_seconds=REGISTRY_TTL_SECONDS),
            entity_key_serialization_version=3,
            repo_path=Path(registry).parent if "://" not in registry else None)
        return FeatureStore(config=config)

    def pushed_before(self) -> bool:
        """A local registry exists once something was pushed (S3: assumed so)."""
        return "://" in self.location.registry or Path(self.location.registry).exists()

    @staticmethod
    def import_library() -> None:
        """Feast, then MLflow's request-header registry, in the caller's thread before the
        service starts its others; a failure is left to ``warm`` and the lookups to report.

        Feast registers an MLflow request-header plugin (entry point
        ``feast.infra.data_sources.mlflow.auth``) that MLflow loads, importing Feast, on its
        first REST call from whichever thread makes it. The service's Feast warm-up thread and
        its registry poll then imported Feast at once, and one of them got the other's
        partially initialised ``feast.data_source`` ("circular import"): no online lookups
        ("Feast is not installed"), or no plugin (1 of 9 starts of the stack's scoring
        container). Imported here in this order, in one thread, the registry finds Feast
        complete. Only the service has those threads: a Dagster step importing Feast does
        not load the registry (about 1 s) it may never use."""
        with contextlib.suppress(ImportError):
            import_feast()
            import mlflow.tracking.request_header.registry  # noqa: F401 - loads Feast's plugin

    def warm(self) -> None:
        """Opens the store and reads the view once (the service's start, off the request);
        nothing to read yet, nothing opened: the first lookup opens it."""
        if not self.pushed_before():
            return
        try:
            self._feature_types()
        except Exception as error:  # the lookups answer 404 until the view is there
            if isinstance(error, ModuleNotFoundError) and error.name == "feast":
                LOG.error("Feast is not installed (the [serve] extra): no online lookups")
                return
            if isinstance(error, ImportError):  # installed but broken: not "not installed"
                LOG.exception("Feast could not be imported: no online lookups")
                return
            from feast.errors import FeatureViewNotFoundException

            if isinstance(error, FeatureViewNotFoundException | FileNotFoundError):
                LOG.info("no feature view %r in project %r yet", VIEW, self.project)
            else:
                LOG.exception("the online feature store could not be opened")

    def push(self, frames: Iterable[pd.DataFrame], drop: tuple[str, ...] = (),
             slice_rows: int = PUSH_SLICE_ROWS) -> int:
        """Each customer's row (``drop`` left out: the target and the pipeline's columns) into
        the online store, frame by frame (partitions stay apart); the first frame's columns
        and types define the view (applied again each push, so a new column arrives too).
        A frame is deduplicated whole (its last row of a customer wins), then converted and
        written ``slice_rows`` rows at a time (online_rows.py: why not one
        ``write_to_online_store`` call)."""
        count, view = 0, None
        for frame in frames:
            rows = frame.drop(columns=[c for c in drop if c in frame.columns])
            if view is None:
                if "://" not in self.location.registry:
                    Path(self.location.registry).parent.mkdir(parents=True, exist_ok=True)
                source = self.location.registry.rsplit("/", 1)[0] + f"/{VIEW}.parquet"
                self.store.apply(feature_definitions(self.id_column, rows.dtypes, source))
                view = self.store.get_feature_view(VIEW)
            rows, pushed_at = rows.drop_duplicates(self.id_column, keep="last"), datetime.now(UTC)
            # In id order: SQLite's key index then grows at its end (20 % less CPU, measured).
            order = np.argsort(rows[self.id_column].astype(str).to_numpy(), kind="stable")
            for part in slices(order, slice_rows):  # a slice's copy as Feast reads it, not all
                self._write(view, push_frame(rows.iloc[part], self.id_column, pushed_at))
            count += len(rows)
        self._schema = None
        return count

    @property
    def ready(self) -> bool:
        """Open, with the view's definition read within the registry's cache time: a lookup
        now waits on no registry read (the service then answers it on its event loop)."""
        schema = self._schema
        return (self._store is not None and schema is not None
                and time.monotonic() - schema[0] <= REGISTRY_TTL_SECONDS)

    def _write(self, view: Any, rows: pd.DataFrame) -> None:
        """One slice, as Feast's provider writes it (``online_write_batch``, the call Feast's
        ``write_to_online_store`` ends in after converting its whole frame at once); to its
        SQLite store column by column (sqlite_rows.py)."""
        store = self.store
        provider = store._get_provider()
        if sqlite_rows.fast_path(store.config):
            # Feast's own connection to its SQLite file (private; it opens one per store).
            connection = provider.online_store._get_conn(store.config)
            sqlite_rows.write(connection, store.config, view, convert(rows, view))
        else:
            provider.online_write_batch(store.config, view, convert(rows, view).rows(),
                                        progress=None)

    def _view(self) -> tuple[Any, dict[str, Any]]:
        """The view and its features' types, read again after the registry's cache time."""
        if self._schema is None or time.monotonic() - self._schema[0] > REGISTRY_TTL_SECONDS:
            view = self.store.get_feature_view(VIEW, allow_registry_cache=True)
            self._schema = (time.monotonic(), view, {f.name: f.dtype for f in view.features})
        return self._schema[1], self._schema[2]

    def _feature_types(self) -> dict[str, Any]:
        return self._view()[1]

    def get(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's row (missing values None), or None for an id never pushed.

        Read through the provider's ``online_read`` (Feast's own key serialization and
        client, the same call ``get_online_features`` ends in) and converted by Feast's
        ``feast_value_type_to_python_type`` as its ``to_dict`` does: the same values, without
        ``get_online_features``' request planning and response building (most of a lookup)."""
        if not self.pushed_before():
            return None
        from feast.errors import FeatureViewNotFoundException
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value
        from feast.type_map import feast_value_type_to_python_type

        try:
            view, declared = self._view()
        except (FeatureViewNotFoundException, FileNotFoundError):
            return None  # nothing pushed yet
        store = self.store
        key = EntityKey(join_keys=[self.id_column],
                        entity_values=[Value(string_val=str(customer_id))])
        names = list(declared)
        # A copy of the names: Feast's Redis store appends its timestamp key to the list.
        [(pushed_at, values)] = store._get_provider().online_read(
            store.config, view, [key], list(names))
        if pushed_at is None or not values or not any(
                values[n].WhichOneof("val") for n in names) or pushed_at.timestamp() == 0:
            return None
        return {self.id_column: customer_id,
                **{n: feast_value_type_to_python_type(values[n], declared[n].to_value_type())
                   for n in names}}

    def frame(self, row: dict[str, Any]) -> pd.DataFrame:
        """One row as the model reads it: numbers stay numeric when a value is missing.
        Built column by column (``DataFrame.astype`` with a dict cost ~10 ms a lookup)."""
        from feast import types

        kinds = {types.Float64: "float64", types.Int64: "int64", types.Bool: "bool"}
        declared = self._feature_types()
        columns: dict[str, Any] = {}
        for name, value in row.items():
            kind = kinds.get(declared.get(name))
            if kind == "float64":
                columns[name] = np.array([np.nan if value is None else value], dtype=kind)
            elif kind is not None and value is not None:
                columns[name] = np.array([value], dtype=kind)
            else:
                columns[name] = np.array([value], dtype=object)
        return pd.DataFrame(columns)


def open_store(model_name: str, id_column: str, location: StoreLocation) -> CustomerFeatures:
    return CustomerFeatures(model_name, id_column, location)
