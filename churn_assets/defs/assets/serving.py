"""[serving] The scoring service's inputs and what its log says.

`online_features` runs in `snapshot_intake_job` after validation, so `GET /customers/{id}`
answers from the newest validated snapshot. The row stored is the raw row batch scoring
reads (the model preprocesses it itself): online and batch answers are the same.
`online_performance` reads the service's prediction log back (`prediction_log_sensor`
materializes it when enough new rows were logged) and puts its newest window through the
retraining policy.
"""

from datetime import UTC, datetime

import dagster as dg

from churn_assets.defs.history import (
    HISTORY_LIMIT,
    HISTORY_METADATA_KEY,
    last_scheduled_retraining,
    read_history,
)
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.serving_stores import ServingStores
from churn_assets.defs.settings import OWNERS
from churn_assets.distributed.local_views import is_partitioned
from churn_assets.names import META_COLUMNS


# Lowest step priority: the push runs after every other step of its run (scores, drift, the
# trial), which a user waits for; at a million customers it takes minutes and nothing needs it.
@dg.asset(group_name="serving", kinds={"feast", "redis", "sqlite"}, owners=OWNERS,
          tags={"stage": "serving"}, op_tags={"dagster/priority": "-1"}, code_version="2")
def online_features(context: dg.AssetExecutionContext, validated_customers: Table,
                    dataset: DatasetResource, serving_stores: ServingStores
                    ) -> dg.MaterializeResult:
    """Pushes every customer's raw row (target left out) of the newest validated snapshot
    through Feast to its online store (`CHURN_ONLINE_STORE_URL`: Redis, else Feast's SQLite
    store in the state folder), the feature view derived from the dataset YAML (entity = the
    id column). A dataset without `id_column`, or an install without Feast (the `[serve]`
    extra), has no online lookups: nothing is pushed, and the log says why."""
    from churn_assets.serving import online_store as online

    data = dataset.load()
    why_not = (online.NO_ID_COLUMN if data.id_column_derived
               else online.NO_FEAST if online.feast_missing() else None)
    if why_not:
        context.log.warning(why_not)
        return dg.MaterializeResult(metadata={"pushed_rows": 0, "online_lookups": False,
                                              "why_no_lookups": why_not})
    frames = (validated_customers.partitions[i].compute()
              for i in range(validated_customers.npartitions)) \
        if is_partitioned(validated_customers) else [validated_customers]
    store = online.open_store(data.model_name, data.id_column, serving_stores.store_location())
    pushed = store.push(frames, drop=(data.target, *META_COLUMNS))
    context.log.info(f"pushed {pushed} customers' rows to Feast's {store.location.kind} "
                     "online store")
    return dg.MaterializeResult(metadata={
        "pushed_rows": pushed, "online_lookups": True, "dagster/row_count": pushed,
        "feast_project": store.project, "feast_feature_view": online.VIEW,
        "feast_entity": data.id_column, "online_store": store.location.kind})


@dg.asset(group_name="serving", kinds={"mlflow", "sqlite"}, owners=OWNERS,
          tags={"stage": "serving"}, code_version="2", pool="churn_registry")
def online_performance(context: dg.AssetExecutionContext, validated_customers: Table,
                       dataset: DatasetResource, mlflow_tracking: MlflowTracking,
                       serving_stores: ServingStores) -> dg.MaterializeResult:
    """The prediction log (`CHURN_PREDICTION_LOG_URL`) joined to the outcomes (`POST
    /outcomes`, and the newest snapshot's labels): traffic and realized metrics with 95 %
    intervals per arm and version; the shadow arm's pairs as one look of the challenger's
    trial; and the champion's logged requests monitored like a snapshot (drift against its
    training rows, performance), decided on by the retraining policy `feature_drift` uses
    (`prediction_log_retraining_sensor` acts on it)."""
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
    return dg.MaterializeResult(metadata=metadata | _retraining(context, data, report))


def _retraining(context: dg.AssetExecutionContext, data, report) -> dict:
    """The log window through the retraining policy, over the same history as snapshots."""
    from churn_assets.monitoring.log_window import decide_on_window, window_facts, window_record
    from churn_assets.monitoring.online_report import MIN_DRIFT_ROWS

    if report.window is None or report.drift is None:
        return {"retrain": False, "retrain_rule": "not_measured", "retrain_reason":
                f"fewer than {MIN_DRIFT_ROWS} rows answered by the current champion"}
    now = datetime.now(UTC)
    decision = decide_on_window(window_facts(report.drift, report.performance),
                                read_history(context.instance, HISTORY_LIMIT),
                                last_scheduled_retraining(context.instance), now, data.drift)
    context.log.info(f"log window: retrain={decision.retrain} ({decision.rule}): "
                     f"{decision.reason}")
    record = window_record(report.window, report.drift, report.performance, decision, now)
    return {"retrain": decision.retrain, "retrain_rule": decision.rule,
            "retrain_reason": decision.reason, "train_on": decision.train_on or "none",
            "drifted_in_a_row": decision.drifted_in_a_row,
            HISTORY_METADATA_KEY: dg.MetadataValue.json(record.to_dict())}
