"""[features] Stable splits, the preprocessor fitted on train only, and the model matrix."""

import dagster as dg

from churn_assets.data.column_roles import ColumnRoles
from churn_assets.data.leakage import LeakageError, stop_on_leakage
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.settings import OWNERS
from churn_assets.names import META_COLUMNS

TAGS = {"stage": "features"}


@dg.asset(group_name="features", kinds={"pandas"}, owners=OWNERS, tags=TAGS, code_version="1")
def customer_splits(
    context: dg.AssetExecutionContext, validated_customers: Table,
    dataset: DatasetResource, dask_cluster: DaskCluster,
) -> dg.Output[Table]:
    """Validated rows plus `split` (train/valid/test by a hash of the id) and a 0/1 `label`."""
    config = dataset.load()
    frame, summary = dask_cluster.tables_for(validated_customers).split(validated_customers,
                                                                         config)
    context.log.info("split sizes: " + ", ".join(
        f"{row.split}={row.rows} ({row.churn_rate:.1%} churn)" for row in summary.itertuples()))
    return dg.Output(
        frame,
        metadata={
            "dagster/row_count": int(summary["rows"].sum()),
            "splits": dg.MetadataValue.md(summary.to_markdown(index=False, floatfmt=".4f")),
            **{f"{row.split}_rows": int(row.rows) for row in summary.itertuples()},
            **{f"{row.split}_churn_rate": round(float(row.churn_rate), 4)
               for row in summary.itertuples()},
        },
    )


@dg.asset(group_name="features", kinds={"scikit-learn"}, owners=OWNERS, tags=TAGS,
          code_version="1")
def feature_preprocessor(
    context: dg.AssetExecutionContext, customer_splits: Table, column_roles: dict,
    dataset: DatasetResource, dask_cluster: DaskCluster,
) -> dg.Output[dict]:
    """The preprocessor's fitted state (JSON, no pickle), fitted on the train split only;
    the served model carries the same state. Engineered features are the dataset YAML's
    declarations whose inputs are all kept feature columns. On the Dask data path it is
    fitted on a seeded sample of at most 250,000 train rows (levels and encodings)."""
    try:  # before tuning: a column written after the outcome makes a useless champion
        stop_on_leakage(column_roles)
    except LeakageError as error:
        raise dg.Failure(description=str(error)) from None
    roles = ColumnRoles.from_dict(column_roles)
    declared = dataset.load().engineered_declarations()
    preprocessor, fitted_rows = dask_cluster.tables_for(customer_splits).fit_preprocessor(
        customer_splits, roles, declared)
    used = preprocessor.engineered_inputs()
    for spec in declared:
        if spec["name"] not in used:
            context.log.info(f"engineered feature '{spec['name']}' not computed: it reads "
                             f"{spec['inputs']}, not all of them kept feature columns")
    for column, reason in preprocessor.dropped_.items():  # wide categoricals without signal
        context.log.info(f"dropping '{column}': {reason}")
    context.log.info(f"{len(preprocessor.feature_names_)} features from "
                     f"{len(roles.features)} columns, fitted on {fitted_rows} train rows")
    return dg.Output(preprocessor.state(), metadata={
        "feature_count": len(preprocessor.feature_names_),
        "fitted_on_train_rows": fitted_rows,
        "engineered_features": used,  # name -> the raw columns it reads
        "engineered_not_computed": [s["name"] for s in declared if s["name"] not in used],
        "target_encoded_columns": {c: e["out_of_fold_auc"]
                                   for c, e in preprocessor.encodings_.items()},
        "dropped_for_no_signal": preprocessor.dropped_,
    })


@dg.asset(group_name="features", kinds={"pandas"}, owners=OWNERS, tags=TAGS, code_version="1")
def customer_features(
    customer_splits: Table, feature_preprocessor: dict, dataset: DatasetResource,
    dask_cluster: DaskCluster,
) -> dg.Output[Table]:
    """Model matrix for every split, made by the train-fitted preprocessor; target-encoded
    columns of the train rows are their out-of-fold encodings (no row sees its own label;
    on the Dask data path out-of-fold within each partition)."""
    # Here, not at the top: it subclasses sklearn's estimator, which loading the definitions
    # (code servers, sensors, `dg check defs`) does not need.
    from churn_assets.model.preprocessing import ChurnPreprocessor

    config = dataset.load()
    preprocessor = ChurnPreprocessor.from_state(feature_preprocessor)
    table = dask_cluster.tables_for(customer_splits).features(customer_splits, preprocessor,
                                                              config.id_column)
    return dg.Output(table, metadata={"dagster/row_count": len(customer_splits),
                                      "feature_count": len(table.columns) - len(META_COLUMNS)})
