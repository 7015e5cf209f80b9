"""The operations walk-through on the bundled data, in a fresh temporary project: a
champion, then one experiment config's run with its promotion decision, the load-check
figures tagged on each version, and (with CHURN_SCORES_DB_URL set) the scores table read
back from the database.

    python -m benchmarks.ops_demo --trials 10
    CHURN_SCORES_DB_URL=postgresql://user@127.0.0.1:5432/db python -m benchmarks.ops_demo
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import yaml

from churn_assets.data.score_table import split_table_name
from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, load_dataset_config

EXPERIMENT = {"description": "another seed, the same budget",
              "tuning": {"seed": 7}, "promotion": {"max_model_mb": 50}}


def _project(root: Path) -> None:
    bundled = load_dataset_config(DEFAULT_CONFIG_PATH)
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text()) | {
        "source": bundled.source, "landing": str(root / "landing") + "/",
        "experiment_configs": str(root / "configs") + "/"}
    (root / "dataset.yaml").write_text(yaml.safe_dump(raw))
    os.environ |= {"CHURN_DATASET_CONFIG": str(root / "dataset.yaml"),
                   "CHURN_STATE_DIR": str(root / "state"),
                   "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}


def _champion_metadata(result) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == "champion_model":
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise RuntimeError("champion_model was not materialized")


def _report(label: str, result, client, name: str) -> None:
    meta = _champion_metadata(result)
    tags = client.get_model_version(name, meta["candidate_version"]).tags
    figures = {k: tags[k] for k in sorted(tags) if k.startswith("load_check.")}
    print(f"{label}: v{meta['candidate_version']} {meta['decision']}: {meta['reason']}")
    print(f"  load check {tags['promotion.load_check']}: {figures}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="churn-ops-demo-"))
    _project(root)
    import dagster as dg
    import mlflow
    from dagster_aws.s3 import S3Resource

    from churn_assets.definitions import defs
    from churn_assets.defs.experiment_sensor import experiment_config_sensor

    definitions = defs()
    job = definitions.resolve_job_def("churn_training_job")
    name = load_dataset_config(root / "dataset.yaml").model_name
    client = mlflow.MlflowClient()
    trials = {"ops": {"tuned_churn_model": {"config": {"n_trials": args.trials}}}}
    with dg.DagsterInstance.ephemeral() as instance:
        baseline = job.execute_in_process(run_config=trials, instance=instance)
        _report("baseline run", baseline, client, name)
        (root / "configs").mkdir()
        experiment = EXPERIMENT | {"tuning": EXPERIMENT["tuning"] | {"n_trials": args.trials}}
        (root / "configs" / "seed-7.yaml").write_text(yaml.safe_dump(experiment))
        context = dg.build_sensor_context(instance=instance, definitions=definitions,
                                          resources={"dataset": definitions.resources["dataset"],
                                                     "s3": S3Resource()})
        (request,) = experiment_config_sensor.evaluate_tick(context).run_requests
        print(f"experiment_config_sensor: run_key {request.run_key}")
        run = job.execute_in_process(run_config=request.run_config, tags=request.tags,
                                     instance=instance)
        _report("experiment run", run, client, name)
        tuned = next(e for e in run.get_asset_materialization_events()
                     if e.asset_key.to_user_string() == "tuned_churn_model")
        run_id = tuned.materialization.metadata["mlflow_run_id"].value
        print(f"  MLflow run {run_id} param experiment_config = "
              f"{client.get_run(run_id).data.params['experiment_config']}")
    if os.environ.get("CHURN_SCORES_DB_URL"):
        import pandas as pd
        import sqlalchemy as sa

        engine = sa.create_engine(os.environ["CHURN_SCORES_DB_URL"])
        table = os.environ.get("CHURN_SCORES_TABLE", "churn_scores")
        split_table_name(table)  # refuses anything but [schema.]table before it meets SQL
        with engine.connect() as connection:
            frame = pd.read_sql(sa.text(f'SELECT * FROM {table} ORDER BY "churn_probability" '
                                        "DESC LIMIT 5"), connection)
            count = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        print(f"{table}: {count} rows; the five highest:")
        print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
