"""Print where the champion is and how it scored: `python -m churn_assets.champion`."""

from __future__ import annotations

import sys

from mlflow import MlflowClient

from churn_assets.dataset_config import load_dataset_config
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.names import CHAMPION
from churn_assets.registry.model_registry import current_champion_version

REPORTED_METRICS = ("test_f1", "test_roc_auc", "test_pr_auc", "valid_f1", "valid_roc_auc")


def main() -> int:
    config = load_dataset_config()
    tracking = MlflowTracking()
    client: MlflowClient = tracking.client()
    version = current_champion_version(client, config.model_name)
    if version is None:
        print(f"no @{CHAMPION} for '{config.model_name}' in {tracking.resolved_uri()}")
        return 1
    details = client.get_model_version(config.model_name, version)
    metrics = client.get_run(details.run_id).data.metrics if details.run_id else {}
    print(f"champion: models:/{config.model_name}@{CHAMPION} = version {version}")
    print(f"  tracking store: {tracking.resolved_uri()}")
    print(f"  mlflow run:     {details.run_id}")
    print(f"  decision:       {details.tags.get('promotion.reason', 'n/a')}")
    for name in REPORTED_METRICS:
        if name in metrics:
            print(f"  {name:<14}  {metrics[name]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
