"""`churn_scores` also lands in the CRM's PostgreSQL table when CHURN_SCORES_DB_URL is set:
the champion's version and the scoring time on every row, the URL never in the run's events."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from churn_assets.defs.assets.scoring import churn_scores_asset
from churn_assets.defs.deployment import resources as deployment_resources
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.retries import service_retry_policy
from churn_assets.environment import SCORES_DB_ENV, SCORES_TABLE_ENV, Settings
from churn_assets_tests.helpers.served_champion import register_champion
from churn_assets_tests.helpers.services import running_postgres

pytestmark = pytest.mark.slow

PASSWORD = "not-logged-7f3a"  # trust authentication ignores it; it must not show anywhere


def test_scores_replace_the_crm_table_with_version_and_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    champion = register_champion(tmp_path / "mlflow")
    rows = champion.raw_rows.head(400)
    config = tmp_path / "dataset.yaml"
    config.write_text(yaml.safe_dump({
        "source": "unused.csv", "target": "Churn", "positive_label": "Yes",
        "id_column": "customerID", "model_name": champion.name}))

    @dg.asset(name="validated_customers")
    def snapshot() -> pd.DataFrame:
        return rows

    with running_postgres() as port:
        url = f"postgresql+psycopg2://dagster:{PASSWORD}@127.0.0.1:{port}/postgres"
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE SCHEMA crm"))
        # The URL holds a password: the deployment hands Dagster the variable (dg.EnvVar).
        monkeypatch.setenv(SCORES_DB_ENV, url)
        resources = deployment_resources(Settings.from_environ(
            {SCORES_DB_ENV: url, SCORES_TABLE_ENV: "crm.churn_scores"}))
        result = dg.materialize_to_memory(
            [snapshot, churn_scores_asset(service_retry_policy(Settings()))],
            resources={"dataset": DatasetResource(config_path=str(config)),
                       "mlflow_tracking": MlflowTracking(tracking_uri=champion.tracking_uri),
                       "scores_database": resources["scores_database"],
                       "dask_cluster": DaskCluster()})
        assert result.success
        with engine.connect() as connection:
            table = pd.read_sql_table("churn_scores", connection, schema="crm")
        engine.dispose()

    scores = result.output_for_node("churn_scores")
    assert len(table) == len(rows) == len(scores)
    assert set(table["model_version"]) == {champion.version}
    assert table["scored_at"].nunique() == 1
    merged = table.merge(scores, on="customerID", suffixes=("_db", ""))
    assert (merged["churn_probability_db"] - merged["churn_probability"]).abs().max() < 1e-9
    assert (merged["churn_prediction_db"] == merged["churn_prediction"]).all()
    metadata = result.asset_materializations_for_node("churn_scores")[0].metadata
    assert metadata["scores_table"].value == "crm.churn_scores"
    assert metadata["scores_table_rows"].value == len(rows)
    events = " ".join(str(event) for event in result.all_events)
    assert PASSWORD not in events and "postgresql" not in events
