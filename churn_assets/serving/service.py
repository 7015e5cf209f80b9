"""Assemble the service from the dataset YAML and the environment; the entry points that
uvicorn (``serve``) and gunicorn (``app_from_environment()``) call."""

from __future__ import annotations

import warnings

from churn_assets.dataset_sections import ServingConfig
from churn_assets.serving.settings import ServiceEnvironment


def build_service(config_path: str | None = None, environment: ServiceEnvironment | None = None):
    from churn_assets.dataset_config import load_dataset_config
    from churn_assets.serving.app import Service
    from churn_assets.serving.follower import AliasFollower
    from churn_assets.serving.model_set import ModelHolder, ModelSet
    from churn_assets.serving.online_store import open_store, store_location
    from churn_assets.serving.prediction_log import PredictionLog

    # A model's pandas FutureWarnings would print on every request (MLflow's predict resets
    # the once-per-place registry each call): the service log is for the service.
    warnings.filterwarnings("ignore", category=FutureWarning)
    if environment is None:  # gunicorn's entry: this process's environment
        from churn_assets.environment import current

        settings = current()
        config_path = config_path or settings.dataset_config
        environment = ServiceEnvironment.from_settings(settings)
    config = load_dataset_config(config_path or None)
    env = environment
    serving = config.serving
    holder = ModelHolder(ModelSet(serving=serving))
    log = PredictionLog(env.log_url, env.spool_path, serving.log_batch_rows,
                        serving.log_flush_seconds)

    def read_serving() -> ServingConfig:  # the YAML again: a new share needs no restart
        return load_dataset_config(config.config_path or config_path).serving

    follower = AliasFollower(holder, log, env.tracking_uri, config.model_name, read_serving)
    id_column = None if config.id_column_derived else config.id_column
    store = open_store(config.model_name, id_column,
                       store_location(env.online_store_url, env.storage_uri)) \
        if id_column and env.online_store_url else None
    return Service(holder, log, follower, store, id_column, env.api_key)


def app_from_environment():
    """``gunicorn -k uvicorn.workers.UvicornWorker
    'churn_assets.serving.service:app_from_environment()'``: one app per worker process."""
    from churn_assets.serving.app import create_app

    return create_app(build_service())
