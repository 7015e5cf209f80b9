"""[serving] The scoring service's inputs and what its log says.

`online_features` runs in `snapshot_intake_job` after validation, so `GET /customers/{id}`
answers from the newest validated snapshot. The row stored is the raw row batch scoring
reads (the model preprocesses it itself): online and batch answers are the same.
`online_performance` reads the service's prediction log back (`prediction_log_sensor`
materializes it when enough new rows were logged).
"""

import dagster as dg

from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.serving_stores import ServingStores
from churn_assets.defs.settings import OWNERS
from churn_assets.distributed.local_views import is_partitioned
from churn_assets.names import META_COLUMNS


@dg.asset(group_name="serving", kinds={"redis", "sqlite"}, owners=OWNERS,
          tags={"stage": "serving"}, code_version="1")
def online_features(context: dg.AssetExecutionContext, validated_customers: Table,
                    dataset: DatasetResource, serving_stores: ServingStores
                    ) -> dg.MaterializeResult:
    """Pushes every customer's raw row (target left out) of the newest validated snapshot to
    the online store (`CHURN_ONLINE_STORE_URL`: Redis, else a SQLite file in the state
    folder). A dataset without `id_column` has no online lookups: nothing is pushed."""
    from churn_assets.serving.online_store import open_store, push_snapshot

    data = dataset.load()
    if data.id_column_derived:
        context.log.warning("the dataset YAML has no id_column: no online lookups")
        return dg.MaterializeResult(metadata={"pushed_rows": 0, "online_lookups": False})
    frames = (validated_customers.partitions[i].compute()
              for i in range(validated_customers.npartitions)) \
        if is_partitioned(validated_customers) else [validated_customers]
    pushed = push_snapshot(open_store(serving_stores.store_url()), frames, data.id_column,
                           drop=(data.target, *META_COLUMNS))
    context.log.info(f"pushed {pushed} customers' rows to the online store")
    return dg.MaterializeResult(metadata={"pushed_rows": pushed, "online_lookups": True,
                                          "dagster/row_count": pushed})


@dg.asset(group_name="serving", kinds={"mlflow", "sqlite"}, owners=OWNERS,
          tags={"stage": "serving"}, code_version="1", pool="churn_registry")
def online_performance(context: dg.AssetExecutionContext, validated_customers: Table,
                       dataset: DatasetResource, mlflow_tracking: MlflowTracking,
                       serving_stores: ServingStores) -> dg.MaterializeResult:
    """The prediction log (`CHURN_PREDICTION_LOG_URL`) joined to the outcomes (`POST
    /outcomes`, and the newest snapshot's labels): traffic and realized metrics with 95 %
    intervals per arm and version; the shadow arm's pairs as one look of the challenger's
    trial; and the drift of the champion's logged requests against its training rows."""
    from churn_assets.distributed.local_views import local_rows
    from churn_assets.monitoring.online_report import online_report, snapshot_outcomes

    data = dataset.load()
    report = online_report(
        data, serving_stores.log_url(), mlflow_tracking.client(), mlflow_tracking.resolved_uri(),
        snapshot_outcomes(local_rows(validated_customers), data),
        requested_by=f"dagster run {context.run_id} (online shadow evidence)")
    context.log.info(f"{report.log_rows} logged rows; trial: {report.look.reason}")
    metadata = report.metadata()
    for key in ("traffic", "realized", "logged_drift"):
        if key in metadata:
            metadata[key] = dg.MetadataValue.md(metadata[key])
    return dg.MaterializeResult(metadata=metadata)
