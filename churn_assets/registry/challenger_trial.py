"""The challenger on trial, in the MLflow registry: one look per labeled snapshot.

A candidate whose gain on the test split was inconclusive but not worse holds
``@challenger`` (``model_registry.start_trial``). Each labeled snapshot then scores it
beside ``@champion`` on rows neither trained on (the caller chooses them), appends the look
to the challenger's ``challenger.looks`` tag and judges the accumulated evidence
(``sequential_evidence.judge_trial``). Promotion goes through the same steps as an
immediate one: under the registry lock, the segment rule on the snapshot rows, the
fresh-process load check, the audit tags, then the aliases (last).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from churn_assets.dataset_config import PromotionConfig
from churn_assets.model.economics import Economics
from churn_assets.names import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from churn_assets.registry.load_check import LoadCheck, check_model_loads
from churn_assets.registry.model_registry import (
    SAMPLE_ROWS,
    TRIAL_CHAMPION_TAG,
    TRIAL_STATUS_TAG,
    _now,
    current_champion_version,
    score_version,
    version_for_alias,
)
from churn_assets.registry.promotion_metrics import promotion_metric
from churn_assets.registry.promotion_rule import (
    ScoredModel,
    segment_metric,
    segment_table,
    snapshot_look,
    trial_rule,
)
from churn_assets.registry.registry_lock import registry_lock
from churn_assets.registry.sequential_evidence import (
    CONTINUE,
    PROMOTED,
    RETIRED,
    Evidence,
    Look,
    TrialVerdict,
    accumulate,
    judge_trial,
    looks_from_json,
    looks_to_json,
)
from churn_assets.registry.version_tags import set_version_tags

# mlflow is imported where it is used: the definitions import this module, and loading
# them (code server, sensor, `dg check defs`) talks to no tracking server.
if TYPE_CHECKING:
    from mlflow import MlflowClient

LOOKS_TAG = "challenger.looks"
# The ids of every row a candidate's own data held (train, valid and test): its test rows
# decided whether it went on trial, its valid rows tuned it, so no trial look may reuse them.
SOURCE_IDS_ARTIFACT = "reference/source_ids.parquet"


def log_source_ids(client: MlflowClient, run_id: str, ids: pd.Series) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(SOURCE_IDS_ARTIFACT).name
        pd.DataFrame({"id": ids.astype(str).to_numpy()}).to_parquet(path, index=False)
        client.log_artifact(run_id, str(path), str(Path(SOURCE_IDS_ARTIFACT).parent))


def load_source_ids(client: MlflowClient, name: str, version: str) -> set[str] | None:
    """The ids of the version's own data; None for a version registered before they were
    logged."""
    import tempfile

    import mlflow
    from mlflow.exceptions import MlflowException

    run_id = client.get_model_version(name, version).run_id
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=SOURCE_IDS_ARTIFACT, dst_path=tmp)
        except (MlflowException, OSError):
            return None
        return set(pd.read_parquet(local)["id"])


@dataclass(frozen=True)
class TrialOutcome:
    challenger_version: str
    champion_version: str  # who held @champion when the look was taken
    verdict: TrialVerdict
    looks: list[Look]
    load_check: LoadCheck | None  # only when the evidence was conclusive
    champion_after: str

    @property
    def decision(self) -> str:
        return self.verdict.decision

    def path(self, settings: PromotionConfig) -> list[Evidence]:
        """The accumulated evidence after each look (the trial's plot and table)."""
        rule = trial_rule(settings)
        return [accumulate(self.looks[:n], rule) for n in range(1, len(self.looks) + 1)]


def trial_versions(client: MlflowClient, name: str) -> tuple[str, str] | None:
    """(challenger, champion) when a challenger is on trial, else None."""
    challenger = version_for_alias(client, name, CHALLENGER)
    champion = current_champion_version(client, name)
    if challenger is None or champion is None or challenger == champion:
        return None
    return challenger, champion


def judge_challenger(
    client: MlflowClient, name: str, rows: pd.DataFrame, labels: Sequence[int] | np.ndarray,
    settings: PromotionConfig, *, expected: tuple[str, str], tracking_uri: str, snapshot: str,
    requested_by: str, why: str = "", lock_dir=None, economics: Economics | None = None,
    scored: Mapping[str, ScoredModel] | None = None,
) -> TrialOutcome | None:
    """One look at the trial of ``expected = (challenger, champion)`` on ``rows`` (raw
    columns, target absent) and ``labels``. None when the aliases moved since the caller
    chose the rows (the next snapshot judges the new pair). ``scored``: version ->
    probabilities and threshold already computed on ``rows`` (the service's shadow log);
    else both versions are loaded and score them here."""
    labels = np.asarray(labels).astype(int)
    challenger, champion = expected
    with registry_lock(tracking_uri, name, lock_dir):
        if trial_versions(client, name) != expected:
            return None
        tags = client.get_model_version(name, challenger).tags
        looks = looks_from_json(tags.get(LOOKS_TAG))
        metric = promotion_metric(settings.metric)
        if tags.get(TRIAL_CHAMPION_TAG, champion) != champion:
            verdict = TrialVerdict(RETIRED, f"retired: @champion moved from "
                                   f"v{tags[TRIAL_CHAMPION_TAG]} to v{champion} during the "
                                   "trial; its evidence was about the old champion",
                                   accumulate(looks, trial_rule(settings)))
            return _finish(client, name, challenger, champion, verdict, looks, None)
        scored = dict(scored) if scored is not None else {
            v: score_version(name, v, rows) for v in (challenger, champion)}
        looks.append(snapshot_look(scored[challenger], scored[champion], labels, settings,
                                   snapshot, _now(), rows=rows, economics=economics))
        verdict = judge_trial(looks, trial_rule(settings), metric.label)
        client.set_model_version_tag(name, challenger, LOOKS_TAG, looks_to_json(looks))
        if verdict.decision != PROMOTED:
            return _finish(client, name, challenger, champion, verdict, looks, None)
        blocked = [row["segment"] for row in segment_table(
            labels, rows, scored[challenger], scored[champion], settings, economics)
            if row["blocked"]]
        if blocked:
            verdict = TrialVerdict(RETIRED, f"retired: {verdict.reason}, but segment(s) "
                                   f"{', '.join(blocked)} lose more than the margin "
                                   f"{settings.segment_margin:g} "
                                   f"{segment_metric(settings).label}", verdict.evidence)
            return _finish(client, name, challenger, champion, verdict, looks, None)
        check = check_model_loads(f"models:/{name}/{challenger}", rows.head(SAMPLE_ROWS),
                                  tracking_uri)
        if not check.ok:
            verdict = TrialVerdict(RETIRED, f"retired: the evidence was conclusive but the model "
                                   f"failed the load check in a fresh process: {check.error}",
                                   verdict.evidence)
            return _finish(client, name, challenger, champion, verdict, looks, check)
        audit = {
            "promotion.decision": "promoted", "promotion.outcome": "promoted_by_trial",
            "promotion.reason": verdict.reason, "promotion.metric": metric.name,
            "promotion.delta": verdict.evidence.text(),
            "promotion.delta_low": f"{verdict.evidence.low:.4f}",
            "promotion.delta_high": f"{verdict.evidence.high:.4f}",
            "promotion.previous_champion_version": champion,
            "promotion.load_check": check.text(), "promotion.requested_by": requested_by,
            "promotion.why": why or f"challenger trial, {snapshot}",
            "promotion.decided_at": _now(),
        }
        set_version_tags(client, name, challenger, audit)
        set_version_tags(client, name, champion, {
            "champion.replaced_by_version": challenger, "champion.replaced_at": _now(),
            "champion.replaced_because": verdict.reason})
        outcome = _finish(client, name, challenger, champion, verdict, looks, check)
        # Previous first: if we stop between the two moves, @champion is still intact.
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION, champion)
        client.set_registered_model_alias(name, CHAMPION, challenger)
        return outcome


def _finish(client: MlflowClient, name: str, challenger: str, champion: str,
            verdict: TrialVerdict, looks: list[Look], check: LoadCheck | None) -> TrialOutcome:
    """Record the verdict on the challenger; a finished trial gives up @challenger."""
    finished = verdict.decision != CONTINUE
    set_version_tags(client, name, challenger, {
        "challenger.decision": verdict.decision, "challenger.reason": verdict.reason[:4000],
        "challenger.evidence": verdict.evidence.text()}
        | ({TRIAL_STATUS_TAG: verdict.decision} if finished else {}))
    if finished:
        client.delete_registered_model_alias(name, CHALLENGER)
    after = challenger if verdict.decision == PROMOTED else champion
    return TrialOutcome(challenger, champion, verdict, looks, check, after)
