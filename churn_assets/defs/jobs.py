"""Jobs: the whole training graph, retraining on validated data, and snapshot intake."""

import dagster as dg

from churn_assets.defs.assets.features import (
    customer_features,
    customer_splits,
    feature_preprocessor,
)
from churn_assets.defs.assets.ingestion import raw_customers
from churn_assets.defs.assets.monitoring import feature_drift, monitoring_history
from churn_assets.defs.assets.registry import champion_model
from churn_assets.defs.assets.training import tuned_churn_model
from churn_assets.defs.assets.validation import column_roles, validated_customers

INTAKE_ASSETS = dg.AssetSelection.assets(raw_customers, column_roles, validated_customers)
TRAINING_ASSETS = dg.AssetSelection.assets(
    customer_splits, feature_preprocessor, customer_features, tuned_churn_model, champion_model
)

churn_training_job = dg.define_asset_job(
    "churn_training_job",
    selection=INTAKE_ASSETS | TRAINING_ASSETS,
    description="Ingest the configured source, validate, split, featurize, tune, promote.",
)

# The validation checks run again here: a snapshot that failed them is still the stored
# validated_customers, and blocking checks only stop downstream steps within one run.
churn_retraining_job = dg.define_asset_job(
    "churn_retraining_job",
    selection=TRAINING_ASSETS | dg.AssetSelection.checks_for_assets(validated_customers),
    description="Retrain and promote on the latest validated customers (drift or schedule).",
)

snapshot_intake_job = dg.define_asset_job(
    "snapshot_intake_job",
    selection=INTAKE_ASSETS | dg.AssetSelection.assets(feature_drift, monitoring_history),
    description="One landed snapshot: ingest, validate (blocking checks), measure drift and "
    "the champion's performance, decide on retraining, append to the monitoring history.",
)
