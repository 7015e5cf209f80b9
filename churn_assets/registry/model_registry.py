"""Champion/challenger bookkeeping in the MLflow model registry (no Dagster here)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.metrics import f1_score, roc_auc_score

from churn_assets.dataset_config import PromotionConfig
from churn_assets.names import CHALLENGER, CHAMPION
from churn_assets.registry.promotion_rule import PromotionDecision, Scores, decide_promotion


@dataclass(frozen=True)
class RegistryOutcome:
    version: str
    decision: PromotionDecision
    candidate: Scores
    champion: Scores | None
    previous_champion_version: str | None
    champion_version: str | None  # who holds @champion afterwards


def score_model(model_uri: str, rows: pd.DataFrame, labels: np.ndarray) -> Scores:
    """Score a registered model through its public contract: raw rows in, predictions out."""
    predictions = mlflow.pyfunc.load_model(model_uri).predict(rows)
    return Scores(
        f1=float(f1_score(labels, predictions["churn_prediction"], zero_division=0)),
        roc_auc=float(roc_auc_score(labels, predictions["churn_probability"])),
    )


def current_champion_version(client: MlflowClient, name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(error).lower():
            return None
        raise


def register_and_decide(
    client: MlflowClient, name: str, model_uri: str, run_id: str, rows: pd.DataFrame,
    labels: np.ndarray, rules: PromotionConfig,
) -> RegistryOutcome:
    """Register the candidate, score it and the champion on the same rows, then move aliases.

    Aliases move last: any error before that leaves @champion exactly where it was.
    """
    version = mlflow.register_model(model_uri, name, tags={"source_run_id": run_id}).version
    candidate = score_model(f"models:/{name}/{version}", rows, labels)
    previous = current_champion_version(client, name)
    champion = score_model(f"models:/{name}/{previous}", rows, labels) if previous else None
    decision = decide_promotion(candidate, champion, rules)
    tags = {
        "promotion.decision": "promoted" if decision.promote else "rejected",
        "promotion.reason": decision.reason,
        "promotion.candidate_test_f1": f"{candidate.f1:.6f}",
        "promotion.candidate_test_roc_auc": f"{candidate.roc_auc:.6f}",
        "promotion.champion_test_f1": f"{champion.f1:.6f}" if champion else "none",
        "promotion.champion_test_roc_auc": f"{champion.roc_auc:.6f}" if champion else "none",
        "promotion.previous_champion_version": previous or "none",
        "promotion.test_rows": str(len(rows)),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_registered_model_alias(name, CHAMPION if decision.promote else CHALLENGER, version)
    return RegistryOutcome(
        version=str(version), decision=decision, candidate=candidate, champion=champion,
        previous_champion_version=previous,
        champion_version=str(version) if decision.promote else previous,
    )


@dataclass(frozen=True)
class ChampionReference:
    version: str
    model_uri: str
    rows: pd.DataFrame  # the rows the champion was trained on (raw columns and target)


def load_champion_reference(
    client: MlflowClient, name: str, artifact_path: str
) -> ChampionReference | None:
    """The current champion and its training rows, or None when there is no champion."""
    version = current_champion_version(client, name)
    if version is None:
        return None
    run_id = client.get_model_version(name, version).run_id
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=artifact_path, dst_path=tmp)
        rows = pd.read_parquet(local)
    return ChampionReference(version, f"models:/{name}/{version}", rows)
