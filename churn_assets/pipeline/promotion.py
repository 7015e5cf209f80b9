"""One promotion, as ``champion_model`` runs it: register the candidate, decide on the same
current test rows (``registry.model_registry.promote_candidate``: floors, the metric's paired
gain, segments, the fresh-process load check), and give the version its model card. Nothing
is written before the candidate's pictures are read and the source ids logged, so a failure
there moves no alias."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from churn_assets.dataset_config import DatasetConfig, PromotionConfig
from churn_assets.model.evaluation_plots import markdown_with_images
from churn_assets.model.model_card import render_model_card
from churn_assets.model.model_logging import EVALUATION_FOLDER, MODEL_CARD_ARTIFACT
from churn_assets.names import LABEL, SPLIT
from churn_assets.registry.challenger_trial import log_source_ids
from churn_assets.registry.load_check import ServingLimits
from churn_assets.registry.model_registry import (
    RegistryOutcome,
    promote_candidate,
    register_candidate,
)

# mlflow is imported where it is used: the definitions import this module, and loading
# them (code server, sensor, `dg check defs`) talks to no tracking server.

SERVING_LIMITS = ("max_model_mb", "max_p95_latency_ms_per_1000", "max_peak_memory_mb")


@dataclass(frozen=True)
class PromotionRun:
    version: str
    outcome: RegistryOutcome
    promotion: dict  # the decision's facts, as the model card shows them
    card: str  # the version's full model card, decision included
    card_facts: dict
    pictures: str  # the candidate's evaluation pictures, as markdown


def pictures_markdown(run_id: str) -> str:
    """The candidate run's evaluation PNGs, embedded (the UI shows them with the decision)."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=EVALUATION_FOLDER, dst_path=tmp))
        return markdown_with_images({p.stem: p for p in sorted(folder.glob("*.png"))})


def register_and_decide(client: Any, tracking_uri: str, data: DatasetConfig,
                        settings: PromotionConfig, candidate: dict, ids: pd.Series,
                        test: pd.DataFrame, requested_by: str, why: str) -> PromotionRun:
    """``candidate``: ``tuned_churn_model``'s value; ``ids``: every id of the table it was
    trained and judged on; ``test``: the current test rows (raw columns, split and label)."""
    run_id = candidate["run_id"]
    facts = candidate.get("card_facts") or {"model_name": data.model_name}
    pictures = pictures_markdown(run_id)  # before any registry write: a failure moves nothing
    log_source_ids(client, run_id, ids)  # a trial must never look at these rows again
    version = register_candidate(data.model_name, candidate["model_uri"], run_id)
    card_facts = facts | {"version": version}
    outcome = promote_candidate(
        client, data.model_name, version, test.drop(columns=[SPLIT, LABEL, data.target]),
        test[LABEL].to_numpy(), settings, tracking_uri=tracking_uri, requested_by=requested_by,
        why=why,
        serving_limits=ServingLimits(**{key: getattr(settings, key) for key in SERVING_LIMITS}),
        economics=data.campaign_economics(), logistic=candidate.get("baselines"),
        model_card=lambda promotion: render_model_card(card_facts | {"promotion": promotion}))
    promotion = outcome.decision.facts() | {
        "previous_champion": outcome.previous_champion_version,
        "load_check": outcome.load_check.text()}
    card = render_model_card(card_facts | {"promotion": promotion})
    client.log_text(run_id, card, MODEL_CARD_ARTIFACT)  # the full card, with the decision
    return PromotionRun(version, outcome, promotion, card, card_facts, pictures)


def log_registry_metrics(run: PromotionRun) -> None:
    """The candidate's test figures as the registry saw them, into the active MLflow run."""
    import mlflow

    decision = run.outcome.decision
    mlflow.log_metrics({k: v for k, v in {
        "registry_candidate_test_f1": decision.candidate_f1,
        "registry_candidate_test_roc_auc": decision.candidate_roc_auc}.items() if v is not None})
