"""The challenger's trial fed from live traffic: the shadow arm's rows of the prediction log
(the same customers scored by both models, answered by the champion) with their outcomes
are one more look of the same confidence sequence (``challenger_trial.judge_challenger``).

Each look takes only pairs logged after the previous online look (its ``snapshot`` name says
until when) and never rows of either model's own data."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from churn_assets.dataset_config import DatasetConfig, PromotionConfig
from churn_assets.monitoring.online_performance import (
    CHURNED,
    ONLINE_LOOK_PREFIX,
    shadow_pairs,
)
from churn_assets.names import PROBABILITY
from churn_assets.registry.challenger_trial import (
    LOOKS_TAG,
    TrialOutcome,
    judge_challenger,
    load_source_ids,
    trial_versions,
)
from churn_assets.registry.promotion_rule import ScoredModel
from churn_assets.registry.sequential_evidence import looks_from_json

MIN_ONLINE_ROWS = 100


@dataclass(frozen=True)
class OnlineLook:
    outcome: TrialOutcome | None
    reason: str  # why no look was taken, or the verdict's reason
    pairs: int


def _last_online_look(client: MlflowClient, name: str, challenger: str) -> pd.Timestamp | None:
    looks = looks_from_json(client.get_model_version(name, challenger).tags.get(LOOKS_TAG))
    times = [pd.Timestamp(look.snapshot.removeprefix(ONLINE_LOOK_PREFIX)) for look in looks
             if look.snapshot.startswith(ONLINE_LOOK_PREFIX)]
    return max(times) if times else None


def take_online_look(client: MlflowClient, data: DatasetConfig, joined: pd.DataFrame,
                     settings: PromotionConfig, tracking_uri: str, requested_by: str
                     ) -> OnlineLook:
    """``joined``: log rows with outcomes (``online_performance.join_outcomes``), ``logged_at``
    in UTC."""
    versions = trial_versions(client, data.model_name)
    if versions is None:
        return OnlineLook(None, "no challenger on trial", 0)
    challenger, champion = versions
    since = _last_online_look(client, data.model_name, challenger)
    fresh = joined if since is None else joined[joined["logged_at"] > since]
    pairs = shadow_pairs(fresh, champion, challenger).frame
    for version in versions:
        source = load_source_ids(client, data.model_name, version)
        if source is not None:
            pairs = pairs[~pairs["customer_id"].astype(str).isin(source)]
    labels = pairs[CHURNED].to_numpy()
    if len(pairs) < MIN_ONLINE_ROWS or np.unique(labels).size < 2:
        return OnlineLook(None, f"{len(pairs)} shadow pairs with outcomes (at least "
                          f"{MIN_ONLINE_ROWS}, both classes); no look taken", len(pairs))
    scored = {v: ScoredModel(pairs[f"{PROBABILITY}_{arm}"].to_numpy(float),
                             float(pairs[f"threshold_{arm}"].iloc[0]))
              for v, arm in ((challenger, "shadow"), (champion, "champion"))}
    rows = pd.DataFrame([json.loads(text) for text in pairs["input_row"]])
    until = pd.Timestamp(pairs["logged_at"].max()).isoformat()
    outcome = judge_challenger(
        client, data.model_name, rows.drop(columns=[data.target], errors="ignore"), labels,
        settings, expected=versions, tracking_uri=tracking_uri,
        snapshot=f"{ONLINE_LOOK_PREFIX}{until}", requested_by=requested_by,
        economics=data.campaign_economics(), scored=scored)
    if outcome is None:
        return OnlineLook(None, "the aliases moved while the pairs were chosen", len(pairs))
    return OnlineLook(outcome, outcome.verdict.reason, len(pairs))
