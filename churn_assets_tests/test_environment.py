"""The environment is read in one place: ``churn_assets.environment`` (and the deployment
switch for the deployment's own variables); every other module takes values as arguments."""

from __future__ import annotations

import re
from pathlib import Path

from churn_assets import environment
from churn_assets.environment import PROJECT_ROOT

# Modules that may touch os.environ, and why.
READERS = {
    "environment.py": "the one reader",
    "defs/deployment.py": "the deployment switch builds the resources from the environment",
    "definitions.py": "sets a default for MLflow's progress bars before MLflow is imported",
    "cli/train_command.py": "hands the caller's environment to the `dg launch` it starts",
    "registry/load_check.py": "hands the environment to the fresh load-check process",
    "data/sql_source.py": "${VAR} placeholders in a SQL URL are credentials, by design",
    "serving/settings.py": "the scoring service's own variables (to move into environment)",
    "serving/online_store.py": "the scoring service's own variables (to move into environment)",
    "defs/serving_sensor.py": "the log sensor's row threshold (to move into environment)",
    "cli/serve_command.py": "sets OpenMP's thread count for the server before models load",
}


def test_only_the_listed_modules_read_the_environment() -> None:
    package = PROJECT_ROOT / "churn_assets"
    readers = {str(path.relative_to(package)) for path in package.rglob("*.py")
               if re.search(r"os\.environ|getenv\(", path.read_text())}
    assert readers - set(READERS) == set(), "read the variable through churn_assets.environment"


def test_each_setting_comes_from_the_mapping_given() -> None:
    env = {"CHURN_STATE_DIR": "/state", "MLFLOW_TRACKING_URI": "http://mlflow:5000",
           "CHURN_DEPLOYMENT": "prod", "CHURN_ALERT_WEBHOOK": "  https://hook  ",
           "CHURN_FRESHNESS_DAYS": "3", "CHURN_RETRY_MAX_RETRIES": "1"}
    assert environment.state_dir(env) == Path("/state")
    assert environment.storage_uri(env) == str(Path("/state") / "assets")
    assert environment.storage_uri(env | {"CHURN_STORAGE_URI": "s3://b/p"}) == "s3://b/p"
    assert environment.tracking_uri(env) == "http://mlflow:5000"
    assert environment.alert_webhook(env) == "https://hook"
    assert environment.freshness_max_age_days(env) == 3.0
    assert environment.retry_settings(env) == (1, 300.0)  # production waits longer


def test_defaults_when_nothing_is_set() -> None:
    assert environment.deployment_name({}) == "local"
    assert environment.state_dir({}) == PROJECT_ROOT / ".churn_storage"
    assert environment.tracking_uri({}) == environment.default_tracking_uri()
    assert environment.alert_webhook({}) == ""
    assert environment.dataset_config_path({}) is None
    assert environment.retry_settings({}) == (3, 2.0)  # a developer waits for the answer
