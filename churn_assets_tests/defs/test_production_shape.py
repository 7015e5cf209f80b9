"""The whole graph in the production shape, every service real and on 127.0.0.1: Dagster on
PostgreSQL (deploy/dagster.prod.yaml), a `mlflow server`, the source file and intermediate
data on S3 (moto), CHURN_DEPLOYMENT=prod with CHURN_DASK_SCHEDULER: steps in their own
processes, the trials and the final fit on the Dask workers.

Skipped, with the reason, where no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import mlflow
import pytest

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets.model.dask_tuning import WORKER_ATTR
from churn_assets_tests.helpers.production_job import production_graph_job
from churn_assets_tests.helpers.s3_server import REGION, running_s3_server
from churn_assets_tests.helpers.services import running_mlflow_server
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers

# Services, a Dask cluster and the whole graph with a fresh interpreter per step: about
# 3 minutes on 2 cores.
pytestmark = pytest.mark.slow

BUCKET = "churn-prod"


@pytest.fixture
def production(workspace: ChurnWorkspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
               postgres_database: tuple[int, str],
               ) -> Iterator[tuple[dg.DagsterInstance, str, str]]:
    from distributed import LocalCluster

    pg_port, pg_database = postgres_database
    with running_mlflow_server(tmp_path) as mlflow_url, running_s3_server() as s3:
        s3.client().create_bucket(Bucket=BUCKET)
        buffer = io.BytesIO()
        customers().to_parquet(buffer, index=False)
        s3.client().put_object(Bucket=BUCKET, Key="seed/customers.parquet",
                               Body=buffer.getvalue())
        workspace.write_config(f"s3://{BUCKET}/seed/customers.parquet")
        for key, value in {
                "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(pg_port),
                "DAGSTER_PG_DB": pg_database, "DAGSTER_PG_USER": "dagster",
                "DAGSTER_PG_PASSWORD": "", "MLFLOW_TRACKING_URI": mlflow_url,
                "AWS_ENDPOINT_URL_S3": s3.endpoint_url, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                "CHURN_STORAGE_URI": f"s3://{BUCKET}/assets", "CHURN_DEPLOYMENT": "prod",
                "CHURN_DASK_FINAL_FIT_MIN_ROWS": "0",
                # each step process rebuilds the definitions from its environment, as deployed
                "CHURN_DATASET_CONFIG": workspace.settings.dataset_config,
                "CHURN_STATE_DIR": str(workspace.settings.state_dir)}.items():
            monkeypatch.setenv(key, value)
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(PROJECT_ROOT / "deploy" / "dagster.prod.yaml", home / "dagster.yaml")
        # Workers start after the environment is set: they inherit it, as deployed ones would.
        with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                          dashboard_address=None) as cluster, \
                dg.DagsterInstance.from_config(str(home)) as instance:
            monkeypatch.setenv("CHURN_DASK_SCHEDULER", cluster.scheduler_address)
            yield instance, mlflow_url, cluster.scheduler_address


def test_whole_graph_in_the_production_shape(production) -> None:
    instance, mlflow_url, _ = production
    job = dg.reconstructable(production_graph_job)
    assert job.get_definition().executor_def.name == "multiprocess"

    with dg.execute_job(job, instance=instance, raise_on_error=False) as result:
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        materialized = {e.asset_key.to_user_string()
                        for e in result.get_asset_materialization_events()}
    assert {"raw_customers", "customer_features", "tuned_churn_model",
            "champion_model"} <= materialized
    assert "Postgres" in type(instance.run_storage).__name__

    client = mlflow.MlflowClient(tracking_uri=mlflow_url, registry_uri=mlflow_url)
    champion = client.get_model_version_by_alias("churn-test", "champion")
    run = client.get_run(champion.run_id)
    assert run.data.metrics["test_roc_auc"] > 0.5
    trials = client.list_artifacts(run.info.run_id)
    assert any(a.path == "optuna_trials.json" for a in trials)
    mlflow.set_tracking_uri(mlflow_url)  # load_table searches runs through the fluent API
    table = client.load_table(run.info.experiment_id, "optuna_trials.json",
                              run_ids=[run.info.run_id])
    assert table[f"user_attrs_{WORKER_ATTR}"].nunique() == 2  # both workers ran trials


def test_each_step_imports_only_the_job_and_the_definitions() -> None:
    """Every step process imports the module the job comes from: as a deployed step, it
    loads Dagster and the definitions, not the test's services (moto's server, pytest)."""
    module = dg.reconstructable(production_graph_job).repository.pointer.module
    probe = f"import sys, {module}; print(sorted({{'moto', 'pytest'}} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]", f"{module} imports {loaded}"
