"""[scoring] The champion's churn scores for every customer of the newest validated snapshot.

Refreshed by the jobs, not by declarative automation: `snapshot_intake_job` scores each new
snapshot right after its blocking validation checks, and `churn_training_job` /
`churn_retraining_job` score again after `champion_model`, so a new champion's scores follow
in the same run. Automation conditions would need the automation sensor running and would
react to `champion_model` materializing even when the alias did not move; the jobs already
run exactly when the snapshot or the champion may have changed. (A rollback moves the alias
outside the asset graph: materialize `churn_scores` after it.)
"""

from datetime import UTC, datetime

import dagster as dg
import mlflow
import numpy as np
import pandas as pd

from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.scores_database import ScoresDatabase
from churn_assets.defs.retries import SERVICE_RETRIES
from churn_assets.defs.settings import OWNERS
from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.model.contact_list import (
    SCORE_PARAMS,
    campaign_figures,
    contact_list,
    served_decision,
)
from churn_assets.names import PREDICTION, PROBABILITY
from churn_assets.registry.model_registry import current_champion_version

HISTOGRAM_BINS = 10


def score_histogram(counts: np.ndarray) -> str:
    """Customers per probability band (counts of equal-width bands over [0, 1]), as a
    markdown table with a text bar."""
    bins = len(counts)
    edges = np.linspace(0.0, 1.0, bins + 1)
    widest = max(int(counts.max()), 1)
    rows = [{"churn probability": f"[{low:.1f}, {high:.1f}{']' if i == bins - 1 else ')'}",
             "customers": int(count), "": "#" * round(20 * count / widest)}
            for i, (low, high, count) in enumerate(zip(edges[:-1], edges[1:], counts,
                                                       strict=True))]
    return pd.DataFrame(rows).to_markdown(index=False)


@dg.asset(group_name="scoring", kinds={"mlflow", "pandas"}, owners=OWNERS,
          tags={"stage": "scoring"}, code_version="2", deps=["champion_model"],
          output_required=False, retry_policy=SERVICE_RETRIES)
def churn_scores(
    context: dg.AssetExecutionContext, validated_customers: Table,
    dataset: DatasetResource, mlflow_tracking: MlflowTracking, scores_database: ScoresDatabase,
    dask_cluster: DaskCluster,
):
    """One row per customer: the id column, `churn_probability` and `churn_prediction` from
    `models:/<name>@champion` (raw rows in, as any consumer calls it), `reason_1..3`, and with
    the YAML's `economics` the contact list: `expected_value`, `rank`, `contact`. The target
    column may be absent (unlabeled snapshots). Without a champion there is nothing to score: no
    materialization, and the run says why. On the Dask data path each partition is scored
    on the workers (they load the model from its artifact location) and the scores are
    stored as partitions; economics' `rank`/`contact` need the whole list and are left out."""
    data = dataset.load()
    version = current_champion_version(mlflow_tracking.client(), data.model_name)
    if version is None:
        context.log.warning(f"{data.model_name} has no @champion yet: nothing to score")
        return
    model = mlflow.pyfunc.load_model(f"models:/{data.model_name}/{version}")
    if dask_cluster.holds(validated_customers):
        location = mlflow_tracking.client().get_model_version_download_uri(data.model_name,
                                                                           version)
        scores, figures = _scored_partitions(validated_customers, location, data)
        if served_decision(model) is not None and data.economics is not None:
            context.log.warning("economics set: rank and contact are not computed on the "
                                "Dask data path (they rank the whole list at once)")
    else:
        # The target is dropped batch by batch: no copy of the whole snapshot without it.
        predictions = predict_in_batches(model, validated_customers, params=SCORE_PARAMS,
                                         drop=(data.target,))
        scores = contact_list(validated_customers[[data.id_column]], predictions,
                              served_decision(model))
        figures = (len(scores), int(scores[PREDICTION].sum()),
                   float(scores[PROBABILITY].mean()),
                   np.histogram(scores[PROBABILITY].to_numpy(float), bins=HISTOGRAM_BINS,
                                range=(0.0, 1.0))[0])
    rows, flagged, mean, histogram = figures
    campaign = campaign_figures(scores) if "contact" in scores.columns else {}
    context.log.info(f"scored {rows} customers with v{version}: {flagged} above the "
                     "decision threshold" + (f", {campaign['to_contact']} to contact"
                                             if campaign else ""))
    table = {}
    if scores_database.enabled():  # the CRM's copy; all rows replaced in one transaction
        written = scores_database.replace(scores if isinstance(scores, pd.DataFrame)
                                          else scores.compute(), version,
                                          scored_at=datetime.now(UTC))
        table = {"scores_table": scores_database.table, "scores_table_rows": written}
        context.log.info(f"replaced the rows of table {scores_database.table}: {written} rows")
    yield dg.Output(scores, metadata={
        **table,
        **{k: dg.MetadataValue.float(round(v, 2)) if isinstance(v, float) else v
           for k, v in campaign.items()},
        "dagster/row_count": rows,
        "champion_version": version,
        "model_uri": f"models:/{data.model_name}/{version}",
        "above_threshold": flagged,
        "above_threshold_share": dg.MetadataValue.float(round(flagged / max(rows, 1), 4)),
        "mean_churn_probability": dg.MetadataValue.float(round(mean, 4)),
        "score_histogram": dg.MetadataValue.md(score_histogram(histogram)),
    })


def _scored_partitions(rows, model_location: str, data) -> tuple:
    """Scores per partition, kept on the workers (spilled to their disks past their memory
    target) so that the figures and the stored dataset come from one scoring pass."""
    import dask

    from churn_assets.distributed.steps import score_histogram_counts, score_partitions

    scores = score_partitions(rows, model_location, data.id_column, data.target,
                              SCORE_PARAMS).persist()
    count, flagged, total = dask.compute(scores.shape[0], scores[PREDICTION].sum(),
                                         scores[PROBABILITY].sum())
    counts = score_histogram_counts(scores, HISTOGRAM_BINS)
    return scores, (int(count), int(flagged), float(total) / max(int(count), 1), counts)
