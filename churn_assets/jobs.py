"""Jobs: the whole training graph, retraining from validated data, and snapshot intake."""

from __future__ import annotations

import dagster as dg

TRAINING_ASSETS = dg.AssetSelection.assets(
    "customer_splits", "customer_features", "tuned_churn_model", "champion_model"
)
INTAKE_ASSETS = dg.AssetSelection.assets("raw_customers", "validated_customers")

# Everything from the raw file to the champion (the checks come along with their asset).
churn_training_job = dg.define_asset_job(
    "churn_training_job",
    selection=INTAKE_ASSETS | TRAINING_ASSETS,
    description="Ingest the configured source, validate, split, featurize, tune, promote.",
)
