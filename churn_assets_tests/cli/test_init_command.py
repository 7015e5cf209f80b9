"""`init`: a first dataset YAML from the data, which then loads, validates and trains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from churn_assets.cli.main import main
from churn_assets.data.expectations import run_expectations
from churn_assets.data.preparation import prepare_customers
from churn_assets.data.row_key import with_row_key
from churn_assets.data.sources import read_source
from churn_assets.dataset_config import load_dataset_config
from churn_assets_tests.helpers.workspace import (
    FAST_TUNING,
    ChurnWorkspace,
    customers,
    materialize_graph,
)


def no_id_table(n_rows: int = 1200) -> pd.DataFrame:
    """A churn table as found elsewhere: no id, lowercase yes/no, a 60-level region."""
    frame = customers(n_rows, seed=21).drop(columns="customerID")
    rng = np.random.default_rng(0)
    frame["region"] = [f"R{r:02d}" for r in rng.integers(0, 60, n_rows)]
    frame["Churn"] = frame["Churn"].str.lower()
    return frame


def init(tmp_path: Path, source: Path, *extra: str) -> tuple[int, Path]:
    out = tmp_path / "proposed.yaml"
    return main(["init", str(source), "--target", "Churn", "--out", str(out), *extra]), out


def test_a_table_without_id_gets_a_yaml_that_loads_and_validates(tmp_path: Path) -> None:
    source = tmp_path / "elsewhere.csv"
    no_id_table().to_csv(source, index=False)
    code, out = init(tmp_path, source)
    assert code == 0
    text = out.read_text()
    assert "no id column: no column is complete and unique; 'row_key' is derived" in text
    raw = yaml.safe_load(text)
    assert "id_column" not in raw and raw["positive_label"] == "yes"
    assert raw["source"] == "elsewhere.csv"  # relative to the YAML's folder
    assert raw["expectations"]["value_sets"]["Churn"] == ["no", "yes"]
    assert "region" not in raw["expectations"]["value_sets"]  # 60 levels: no closed set
    config = load_dataset_config(out)
    assert config.id_column_derived and config.id_column == "row_key"
    keyed, _ = with_row_key(read_source(config.source).frame, config)  # as raw_customers does
    frame = prepare_customers(keyed, config).frame
    outcomes = run_expectations(frame, config, config.numeric, config.categorical)
    failed = [o for found in outcomes.values() for o in found if not o.success]
    assert not failed, failed


def test_an_id_and_a_numeric_label_are_recognised(tmp_path: Path) -> None:
    frame = customers(300, seed=4)
    frame["Churn"] = (frame["Churn"] == "Yes").astype(int)
    frame.insert(0, "exported", pd.date_range("2026-01-01", periods=300, freq="min")
                 .astype(str))  # unique, but a time stamp: never the id
    source = tmp_path / "ids.parquet"
    frame.to_parquet(source, index=False)
    code, out = init(tmp_path, source, "--model-name", "churn-ids")
    raw = yaml.safe_load(out.read_text())
    assert code == 0 and raw["id_column"] == "customerID" and raw["positive_label"] == 1
    assert raw["model_name"] == "churn-ids" and "customerID" not in raw["categorical"]
    assert "exported" in raw["drop"]  # near-unique text, not a feature either


@pytest.mark.parametrize("frame, message", [
    (customers(200, seed=1).drop(columns="Churn"), "no column 'Churn' in "),
    (customers(200, seed=1).assign(Churn=["Yes", "No", "Maybe", "No"] * 50),
     "target 'Churn' has 3 distinct values"),
])
def test_a_table_init_cannot_describe_is_one_line(tmp_path: Path, frame: pd.DataFrame,
                                                  message: str, capsys) -> None:
    source = tmp_path / "bad.csv"
    frame.to_csv(source, index=False)
    code, out = init(tmp_path, source)
    err = capsys.readouterr().err.strip()
    assert code == 1 and message in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_an_existing_yaml_is_never_overwritten(tmp_path: Path, capsys) -> None:
    source = tmp_path / "t.csv"
    customers(200, seed=1).to_csv(source, index=False)
    (tmp_path / "proposed.yaml").write_text("mine\n")
    code, out = init(tmp_path, source)
    assert code == 1 and out.read_text() == "mine\n"
    assert "exists" in capsys.readouterr().err


@pytest.mark.slow  # the whole asset graph, in process
def test_the_proposed_yaml_trains_a_champion(workspace: ChurnWorkspace) -> None:
    source = workspace.root / "data" / "elsewhere.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    no_id_table(1500).to_csv(source, index=False)
    out = workspace.root / "dataset.yaml"  # the workspace's CHURN_DATASET_CONFIG
    assert main(["init", str(source), "--target", "Churn", "--out", str(out),
                 "--model-name", "churn-test"], workspace.settings) == 0
    raw = yaml.safe_load(out.read_text())
    out.write_text(yaml.safe_dump(raw | {"tuning": FAST_TUNING}))  # a test-sized search
    result = materialize_graph(workspace)
    assert result.success
    scores = result.output_for_node("churn_scores")
    assert scores["row_key"].notna().all() and len(scores) == 1500
    client = workspace.client()
    assert str(client.get_model_version_by_alias("churn-test", "champion").version) == "1"
    import mlflow  # the served model takes the raw rows: no row_key, no target

    served = mlflow.pyfunc.load_model("models:/churn-test@champion")
    raw_rows = pd.read_csv(source).drop(columns="Churn").head(50)
    predicted = served.predict(raw_rows)
    assert len(predicted) == 50 and predicted["churn_probability"].between(0, 1).all()
