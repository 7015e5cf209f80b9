"""The load check measures what serving a real model costs (artifact size, p95 latency of
predict per 1,000 raw rows, peak memory of its process) and gates promotion on limits."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from churn_assets.dataset_config import ConfigError, PromotionConfig, parse_dataset_config
from churn_assets.names import CHALLENGER, CHAMPION
from churn_assets.registry import check_template
from churn_assets.registry.load_check import ServingLimits, check_model_loads
from churn_assets.registry.model_registry import promote_candidate, version_for_alias
from churn_assets_tests.helpers.served_champion import ServedChampion, register_champion

pytestmark = pytest.mark.slow

FIGURE_TAGS = {"load_check.artifact_mb", "load_check.p95_ms_per_1000",
               "load_check.peak_memory_mb"}


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> ServedChampion:
    return register_champion(tmp_path_factory.mktemp("served"))


def test_load_check_measures_a_real_model(champion: ServedChampion) -> None:
    check = check_model_loads(f"models:/{champion.name}/{champion.version}",
                              champion.raw_rows.head(50), champion.tracking_uri)
    assert check.ok, check.error
    figures = check.figures
    logged_mb = sum(p.stat().st_size for p in champion.artifact_folder.rglob("*")
                    if p.is_file()) / 2**20
    assert figures.artifact_mb == pytest.approx(logged_mb, rel=0.01)
    assert 0 < figures.p95_ms_per_1000 < 30_000
    # The child imports pandas, numpy and MLflow and holds the model: far more than 50 MB,
    # far less than the machine.
    assert 50 < figures.peak_memory_mb < 4_000
    assert set(check.tags()) == FIGURE_TAGS
    assert float(check.tags()["load_check.artifact_mb"]) == pytest.approx(figures.artifact_mb,
                                                                          abs=0.01)
    for key, value in (("max_model_mb", figures.artifact_mb),
                       ("max_p95_latency_ms_per_1000", figures.p95_ms_per_1000),
                       ("max_peak_memory_mb", figures.peak_memory_mb)):
        assert f"promotion.{key} = " in ServingLimits(**{key: value / 2}).breach(figures)
        assert ServingLimits(**{key: value * 2}).breach(figures) is None
    assert ServingLimits().breach(figures) is None  # off by default


def test_a_version_over_a_limit_is_rejected_and_no_alias_moves(
        champion: ServedChampion) -> None:
    mlflow.set_tracking_uri(champion.tracking_uri)  # the in-process scoring uses these
    mlflow.set_registry_uri(champion.tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=champion.tracking_uri,
                                 registry_uri=champion.tracking_uri)
    source = client.get_model_version(champion.name, champion.version).source
    candidate = str(mlflow.register_model(source, champion.name).version)
    test_rows = champion.small.split_rows("test")
    outcome = promote_candidate(
        client, champion.name, candidate, test_rows.drop(columns=["Churn"]),
        (test_rows["Churn"] == "Yes").astype(int).to_numpy(),
        PromotionConfig(min_f1=0.0, min_roc_auc=0.0, resamples=100),
        tracking_uri=champion.tracking_uri, requested_by="test",
        serving_limits=ServingLimits(max_peak_memory_mb=1.0))
    assert not outcome.decision.promote and not outcome.load_check.ok
    assert "promotion.max_peak_memory_mb = 1" in outcome.decision.reason
    assert version_for_alias(client, champion.name, CHAMPION) == champion.version
    assert version_for_alias(client, champion.name, CHALLENGER) is None
    tags = client.get_model_version(champion.name, candidate).tags
    assert tags["promotion.decision"] == "rejected"
    assert set(tags) >= FIGURE_TAGS and float(tags["load_check.peak_memory_mb"]) > 1.0


@pytest.mark.parametrize("key", ["max_model_mb", "max_p95_latency_ms_per_1000",
                                 "max_peak_memory_mb"])
def test_limits_are_yaml_keys_checked_by_name(key: str, tmp_path: Path) -> None:
    base = {"source": "x.csv", "target": "Churn", "positive_label": "Yes",
            "id_column": "customerID", "model_name": "m"}
    config = parse_dataset_config(base | {"promotion": {key: 12.5}}, tmp_path)
    assert getattr(config.promotion, key) == 12.5
    assert getattr(parse_dataset_config(base, tmp_path).promotion, key) is None
    with pytest.raises(ConfigError, match=f"'promotion.{key}'"):
        parse_dataset_config(base | {"promotion": {key: -1}}, tmp_path)


def test_a_prestarted_check_process_is_used_once_and_judges_the_model(
        champion: ServedChampion) -> None:
    from churn_assets.registry import load_check

    assert load_check.requirement_modules(["xgboost-cpu", "scikit-learn", "no-such-pkg"]) \
        == ["xgboost", "sklearn"]
    load_check.prestart_load_check(champion.tracking_uri,
                                   load_check.requirement_modules(["xgboost-cpu"]))
    [prestarted] = load_check._PRESTARTED
    assert (prestarted.tracking_uri, prestarted.preload) == (champion.tracking_uri, ("xgboost",))
    # its template is running (importing) already, and its child asked for, before the check;
    # a database store's client modules (SQLite here) are imported there too, once
    assert champion.tracking_uri.startswith("sqlite:")
    assert any(key[1] == (*load_check.DATABASE_STORE_MODULES, "xgboost")
               for key in check_template._TEMPLATES)
    assert prestarted.child.template.busy
    pending = load_check.PendingLoadCheck(f"models:/{champion.name}/{champion.version}",
                                          champion.raw_rows.head(50), champion.tracking_uri)
    assert pending._process is prestarted and not load_check._PRESTARTED
    assert pending._process.preload == ("xgboost",)
    check = pending.result()
    assert check.ok, check.error
    assert set(check.tags()) == FIGURE_TAGS
    # A model that does not load fails in the prestarted process just as in a new one.
    load_check.prestart_load_check(champion.tracking_uri)
    failed = load_check.PendingLoadCheck(f"models:/{champion.name}/999", None,
                                         champion.tracking_uri).result()
    assert not failed.ok and failed.error


def test_a_prestarted_process_for_another_store_is_discarded(
        champion: ServedChampion, tmp_path: Path) -> None:
    from churn_assets.registry import load_check

    load_check.prestart_load_check(f"sqlite:///{tmp_path / 'other.db'}")
    assert load_check._PRESTARTED
    pending = load_check.PendingLoadCheck(f"models:/{champion.name}/{champion.version}",
                                          champion.raw_rows.head(20), champion.tracking_uri)
    assert pending._process.preload == () and not load_check._PRESTARTED
    check = pending.result()
    assert check.ok, check.error


@pytest.mark.parametrize(("uri", "database"), [
    ("sqlite:////tmp/mlflow.db", True), ("postgresql+psycopg2://u@127.0.0.1/mlflow", True),
    ("http://127.0.0.1:5000", False), ("file:///tmp/mlruns", False)])
def test_a_check_template_imports_a_database_stores_client_only_for_a_database(
        uri: str, database: bool) -> None:
    from churn_assets.registry import load_check

    assert load_check._store_modules(uri) == (load_check.DATABASE_STORE_MODULES if database
                                              else ())
