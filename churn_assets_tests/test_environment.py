"""The environment is read in one place: ``Settings.from_environ`` in
``churn_assets.environment``, called by the entry points; every other module takes values as
arguments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from churn_assets.environment import PROJECT_ROOT, Settings, default_tracking_uri

# Modules that may touch os.environ, and why.
READERS = {
    "environment.py": "the one reader (and the variables a value names itself, by design)",
    "definitions.py": "defs(), Dagster's entry: Settings.from_environ(os.environ); and a "
                      "default for MLflow's progress bars before MLflow is imported",
    "cli/serve_command.py": "sets OpenMP's thread count for the server before models load",
    "registry/check_template.py": "the load check's child takes the environment its caller "
                                  "passed (child_environment) as its own: it sets, never reads",
}


def test_only_the_listed_modules_read_the_environment() -> None:
    package = PROJECT_ROOT / "churn_assets"
    readers = {str(path.relative_to(package)) for path in package.rglob("*.py")
               if re.search(r"os\.environ|getenv\(", path.read_text())}
    assert readers - set(READERS) == set(), "read the variable through churn_assets.environment"


def test_each_setting_comes_from_the_mapping_given() -> None:
    env = {"CHURN_STATE_DIR": "/state", "MLFLOW_TRACKING_URI": "http://mlflow:5000",
           "CHURN_DEPLOYMENT": "prod", "CHURN_ALERT_WEBHOOK": "  https://hook  ",
           "CHURN_FRESHNESS_DAYS": "3", "CHURN_RETRY_MAX_RETRIES": "1",
           "CHURN_LOG_SENSOR_MIN_ROWS": "10", "CHURN_ONLINE_STORE_URL": "redis://r:6379"}
    settings = Settings.from_environ(env)
    assert settings.state_dir == Path("/state")
    assert settings.storage_uri == str(Path("/state") / "assets")
    assert Settings.from_environ(env | {"CHURN_STORAGE_URI": "s3://b/p"}).storage_uri == \
        "s3://b/p"
    assert settings.tracking_uri == "http://mlflow:5000"
    assert settings.alert_webhook == "https://hook"
    assert settings.freshness_max_age_days == 3.0
    assert (settings.retry_max_retries, settings.retry_delay_seconds) == (1, 300.0)
    assert settings.log_sensor_min_rows == 10
    assert settings.online_store_url == "redis://r:6379"
    assert "hook" not in repr(settings) and "redis" not in repr(settings)  # secrets


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_environ({})
    assert settings == Settings()
    assert settings.deployment == "local"
    assert settings.state_dir == PROJECT_ROOT / ".churn_storage"
    assert settings.tracking_uri == default_tracking_uri()
    assert settings.alert_webhook == "" and settings.dataset_config == ""
    assert (settings.retry_max_retries, settings.retry_delay_seconds) == (3, 2.0)


def test_a_bad_number_names_the_variable() -> None:
    with pytest.raises(ValueError, match="CHURN_FRESHNESS_DAYS must be a number, got 'soon'"):
        Settings.from_environ({"CHURN_FRESHNESS_DAYS": "soon"})
