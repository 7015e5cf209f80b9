"""Point MLflow at one tracking store: the tracking resource and the command line do it
the same way."""

from __future__ import annotations

from pathlib import Path

from churn_assets.registry.store_warmup import await_store_warmup


def point_at_store(uri: str) -> None:
    """Wait for a warm-up of this store, make a local SQLite store's folder, and set MLflow's
    process-global tracking and registry URIs, on every use: tests and steps with different
    stores in one process cannot write into each other's."""
    import mlflow  # heavy: paid by the callers that track, not at code-location load

    await_store_warmup(uri)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
