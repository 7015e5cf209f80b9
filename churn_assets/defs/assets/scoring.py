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

from churn_assets.defs.resources.dataset import DatasetResource
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


def score_histogram(probability: pd.Series, bins: int = HISTOGRAM_BINS) -> str:
    """Customers per probability band, as a markdown table with a text bar."""
    counts, edges = np.histogram(probability.to_numpy(float), bins=bins, range=(0.0, 1.0))
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
    context: dg.AssetExecutionContext, validated_customers: pd.DataFrame,
    dataset: DatasetResource, mlflow_tracking: MlflowTracking, scores_database: ScoresDatabase,
):
    """One row per customer: the id column, `churn_probability` and `churn_prediction` from
    `models:/<name>@champion` (raw rows in, as any consumer calls it), `reason_1..3`, and with
    the YAML's `economics` the contact list: `expected_value`, `rank`, `contact`. The target
    column may be absent (unlabeled snapshots). Without a champion there is nothing to score: no
    materialization, and the run says why."""
    data = dataset.load()
    version = current_champion_version(mlflow_tracking.client(), data.model_name)
    if version is None:
        context.log.warning(f"{data.model_name} has no @champion yet: nothing to score")
        return
    model = mlflow.pyfunc.load_model(f"models:/{data.model_name}/{version}")
    # The target is dropped batch by batch: no copy of the whole snapshot without it.
    predictions = predict_in_batches(model, validated_customers, params=SCORE_PARAMS,
                                     drop=(data.target,))
    scores = contact_list(validated_customers[[data.id_column]], predictions,
                          served_decision(model))
    flagged = int(scores[PREDICTION].sum())
    campaign = campaign_figures(scores)
    context.log.info(f"scored {len(scores)} customers with v{version}: {flagged} above the "
                     "decision threshold" + (f", {campaign['to_contact']} to contact"
                                             if campaign else ""))
    table = {}
    if scores_database.enabled():  # the CRM's copy; all rows replaced in one transaction
        written = scores_database.replace(scores, version, scored_at=datetime.now(UTC))
        table = {"scores_table": scores_database.table, "scores_table_rows": written}
        context.log.info(f"replaced the rows of table {scores_database.table}: {written} rows")
    yield dg.Output(scores, metadata={
        **table,
        **{k: dg.MetadataValue.float(round(v, 2)) if isinstance(v, float) else v
           for k, v in campaign.items()},
        "dagster/row_count": len(scores),
        "champion_version": version,
        "model_uri": f"models:/{data.model_name}/{version}",
        "above_threshold": flagged,
        "above_threshold_share": dg.MetadataValue.float(round(flagged / max(len(scores), 1), 4)),
        "mean_churn_probability": dg.MetadataValue.float(round(float(scores[PROBABILITY].mean()),
                                                               4)),
        "score_histogram": dg.MetadataValue.md(score_histogram(scores[PROBABILITY])),
    })
