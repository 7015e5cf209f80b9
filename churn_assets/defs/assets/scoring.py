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
import numpy as np
import pandas as pd

from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.scores_database import ScoresDatabase
from churn_assets.defs.settings import OWNERS
from churn_assets.model.contact_list import (
    campaign_figures,
)
from churn_assets.pipeline.scoring import ScoreFigures
from churn_assets.registry.model_registry import current_champion_version


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


def churn_scores_asset(retries: dg.RetryPolicy) -> dg.AssetsDefinition:
    """``churn_scores`` with the deployment's service retries (MLflow, S3, the CRM database)."""
    return dg.asset(
        group_name="scoring", kinds={"mlflow", "pandas"}, owners=OWNERS,
        tags={"stage": "scoring"}, code_version="2", deps=["champion_model"],
        output_required=False, retry_policy=retries,
    )(churn_scores)


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
    import mlflow.pyfunc  # heavy: paid by this step, not by every load of the definitions

    model = mlflow.pyfunc.load_model(f"models:/{data.model_name}/{version}")
    scores, figures, note = dask_cluster.tables_for(validated_customers).score(
        model, validated_customers, lambda: mlflow_tracking.client()
        .get_model_version_download_uri(data.model_name, version), data)
    if note:
        context.log.warning(note)
    campaign = campaign_figures(scores) if "contact" in scores.columns else {}
    context.log.info(f"scored {figures.rows} customers with v{version}: {figures.flagged} "
                     "above the decision threshold" + (f", {campaign['to_contact']} to contact"
                                                       if campaign else ""))
    table = {}
    if scores_database.enabled():  # the CRM's copy; all rows replaced in one transaction
        written = scores_database.replace(scores if isinstance(scores, pd.DataFrame)
                                          else scores.compute(), version,
                                          scored_at=datetime.now(UTC))
        table = {"scores_table": scores_database.table, "scores_table_rows": written}
        context.log.info(f"replaced the rows of table {scores_database.table}: {written} rows")
    yield dg.Output(scores, metadata=table | _metadata(figures, campaign, version,
                                                       data.model_name))


def _metadata(figures: ScoreFigures, campaign: dict, version: str, model_name: str) -> dict:
    return {
        **{k: dg.MetadataValue.float(round(v, 2)) if isinstance(v, float) else v
           for k, v in campaign.items()},
        "dagster/row_count": figures.rows,
        "champion_version": version,
        "model_uri": f"models:/{model_name}/{version}",
        "above_threshold": figures.flagged,
        "above_threshold_share": dg.MetadataValue.float(
            round(figures.flagged / max(figures.rows, 1), 4)),
        "mean_churn_probability": dg.MetadataValue.float(round(figures.mean, 4)),
        "score_histogram": dg.MetadataValue.md(score_histogram(figures.histogram)),
    }
