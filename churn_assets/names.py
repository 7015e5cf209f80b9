"""Names shared between stages: columns added by the pipeline, artifacts, aliases and tags.

One place, so that a stage never imports another stage's module just for a string.
"""

# Columns the pipeline adds next to the source's own.
ROW_ID, SPLIT, LABEL = "row_id", "split", "label"
META_COLUMNS = (ROW_ID, SPLIT, LABEL)
SPLITS = ("train", "valid", "test")

# What a served model returns (the `predict` contract).
PROBABILITY, PREDICTION = "churn_probability", "churn_prediction"
OUTPUT_COLUMNS = (PROBABILITY, PREDICTION)

# MLflow registry aliases.
CHAMPION, CHALLENGER, PREVIOUS_CHAMPION = "champion", "challenger", "previous_champion"

# MLflow run artifacts that later stages read back.
REFERENCE_ARTIFACT = "reference/train_rows.parquet"  # what drift monitoring compares against
CALIBRATOR_ARTIFACT = "reference/calibrator.json"  # probability calibration for CBPE

# Tags.
SNAPSHOT_KEY_TAG = "churn/snapshot_key"
SNAPSHOT_ETAG_TAG = "churn/snapshot_etag"
RETRAIN_REASON_TAG = "churn/retrain_reason"
RETRAIN_RULE_TAG = "churn/retrain_rule"
