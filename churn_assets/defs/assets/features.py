"""[features] Stable splits and leak-free features (preprocessing fitted on train only)."""

import dagster as dg
import pandas as pd

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target, split_summary
from churn_assets.defs.resources import DatasetResource
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.names import LABEL, ROW_ID, SPLIT

PREPROCESSOR_ATTR = "preprocessor"  # fitted state travels in the Parquet file's metadata


@dg.asset(group_name="features", kinds={"pandas"})
def customer_splits(
    context: dg.AssetExecutionContext, validated_customers: pd.DataFrame, dataset: DatasetResource
) -> dg.Output[pd.DataFrame]:
    """Validated rows plus `split` (train/valid/test by a hash of the id) and a 0/1 `label`."""
    config = dataset.load()
    frame = validated_customers.copy()
    frame[SPLIT] = assign_splits(frame[config.id_column], config.split)
    frame[LABEL] = binary_target(frame[config.target], config.positive_label)
    summary = split_summary(frame[SPLIT], frame[LABEL])
    context.log.info("split sizes: " + ", ".join(
        f"{row.split}={row.rows} ({row.churn_rate:.1%} churn)" for row in summary.itertuples()))
    return dg.Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            "splits": dg.MetadataValue.md(summary.to_markdown(index=False, floatfmt=".4f")),
            **{f"{row.split}_rows": int(row.rows) for row in summary.itertuples()},
            **{f"{row.split}_churn_rate": float(row.churn_rate) for row in summary.itertuples()},
        },
    )


@dg.asset(group_name="features", kinds={"pandas", "scikit-learn"})
def customer_features(
    context: dg.AssetExecutionContext, customer_splits: pd.DataFrame, dataset: DatasetResource
) -> dg.Output[pd.DataFrame]:
    """Model matrix for every split; encoders see the train split only."""
    config = dataset.load()
    features_in = customer_splits.drop(columns=[SPLIT, LABEL])
    roles = infer_column_roles(features_in, config)
    train = customer_splits[SPLIT] == "train"
    preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical).fit(features_in[train])
    matrix = preprocessor.transform(features_in)
    table = pd.concat(
        [
            pd.DataFrame({ROW_ID: customer_splits[config.id_column].astype(str),
                          SPLIT: customer_splits[SPLIT], LABEL: customer_splits[LABEL]}),
            matrix,
        ],
        axis=1,
    )
    table.attrs[PREPROCESSOR_ATTR] = preprocessor.to_json()
    context.log.info(f"{matrix.shape[1]} features from {len(roles.features)} columns, "
                     f"fitted on {int(train.sum())} train rows")
    return dg.Output(
        table,
        metadata={
            "dagster/row_count": len(table),
            "feature_count": matrix.shape[1],
            "fitted_on_train_rows": int(train.sum()),
            "numeric_columns": list(roles.numeric),
            "categorical_columns": list(roles.categorical),
            "engineered_features": list(preprocessor.engineered_),
            "dropped_columns": roles.dropped,
        },
    )
