"""Champion/challenger bookkeeping in the MLflow model registry (no Dagster here).

Every alias move is the last step of its operation: tags and the description are written
first, so a failure anywhere leaves ``@champion`` exactly where it was, and every move that
happens is explained on the model versions it touches.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from churn_assets.dataset_config import PromotionConfig
from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.model.economics import Economics
from churn_assets.names import (
    CHALLENGER,
    CHAMPION,
    OUTPUT_COLUMNS,
    PREDICTION,
    PREVIOUS_CHAMPION,
    PROBABILITY,
)
from churn_assets.registry.load_check import (
    LoadCheck,
    PendingLoadCheck,
    ServingLimits,
    check_model_loads,
)
from churn_assets.registry.promotion_rule import (
    CHALLENGER as ON_TRIAL,
)
from churn_assets.registry.promotion_rule import (
    PromotionDecision,
    ScoredModel,
    decide_promotion,
    rule_text,
)
from churn_assets.registry.registry_lock import registry_lock
from churn_assets.registry.sequential_evidence import split_fingerprint
from churn_assets.registry.version_tags import set_version_tags

# mlflow is imported where it is used: the definitions import this module, and loading
# them (code server, sensor, `dg check defs`) talks to no registry.
if TYPE_CHECKING:
    from mlflow import MlflowClient

FINGERPRINT_TAG = "promotion.test_fingerprint"
TRIAL_STATUS_TAG = "challenger.status"
TRIAL_CHAMPION_TAG = "challenger.champion_version"

DESCRIPTION_LIMIT = 5000  # MLflow's registry column; Postgres enforces it
SAMPLE_ROWS = 50  # raw rows the fresh-process load check scores
MAX_REDECISIONS = 3


class RollbackRefused(ValueError):
    """The rollback was not done; the aliases are unchanged."""


@dataclass(frozen=True)
class RegistryOutcome:
    version: str
    decision: PromotionDecision
    load_check: LoadCheck
    previous_champion_version: str | None  # who held @champion when the decision was taken
    champion_version: str | None  # who holds @champion afterwards


@dataclass(frozen=True)
class RollbackOutcome:
    from_version: str
    to_version: str
    load_check: LoadCheck


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def version_for_alias(client: MlflowClient, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(error).lower():
            return None
        raise


def current_champion_version(client: MlflowClient, name: str) -> str | None:
    return version_for_alias(client, name, CHAMPION)


def score_version(name: str, version: str, rows: pd.DataFrame) -> ScoredModel:
    """Score through the public contract (raw rows in, probability and 0/1 out).

    The served model does not publish its threshold; the smallest probability it calls
    positive reproduces its 0/1 answers exactly on these rows, which is all the bootstrap
    needs (it resamples these rows)."""
    import mlflow

    predictions = predict_in_batches(mlflow.pyfunc.load_model(f"models:/{name}/{version}"), rows)
    if list(predictions.columns) != list(OUTPUT_COLUMNS):
        raise ValueError(f"{name} v{version} returned columns {list(predictions.columns)}")
    probability = predictions[PROBABILITY].to_numpy(float)
    positive = predictions[PREDICTION].to_numpy() == 1
    threshold = float(probability[positive].min()) if positive.any() else float("inf")
    return ScoredModel(probability, threshold)


def register_candidate(name: str, model_uri: str, run_id: str) -> str:
    """Idempotent per training run: a retried step (its first attempt registered the version,
    then the tracking server went away) gets that version back instead of a second one."""
    import mlflow
    from mlflow import MlflowClient

    earlier = [v for v in MlflowClient().search_model_versions(f"name='{name}'")
               if v.run_id == run_id or (v.tags or {}).get("source_run_id") == run_id]
    if earlier:
        return str(min(int(v.version) for v in earlier))
    return str(mlflow.register_model(model_uri, name, tags={"source_run_id": run_id}).version)


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.4f}"


def rows_fingerprint(rows: pd.DataFrame) -> str:
    """The test rows' fingerprint (their content, any order): the key of their look count."""
    return split_fingerprint(pd.util.hash_pandas_object(rows, index=False))


def looks_at(client: MlflowClient, name: str, fingerprint: str) -> int:
    """How many candidates were already compared with a champion on these test rows,
    counted from the registry's own tags (so every process and run agrees)."""
    versions = client.search_model_versions(f"name = '{name}'")
    return sum(1 for v in versions if v.tags.get(FINGERPRINT_TAG) == fingerprint)


def decision_tags(
    decision: PromotionDecision, load_check: LoadCheck, previous: str | None,
    requested_by: str, why: str,
) -> dict[str, str]:
    gain = decision.gain
    return {
        "promotion.decision": "promoted" if decision.promote else "rejected",
        "promotion.outcome": decision.outcome,
        "promotion.metric": decision.metric,
        "promotion.delta": gain.text() if gain else "none",
        "promotion.delta_low": _fmt(gain.low if gain else None),
        "promotion.delta_high": _fmt(gain.high if gain else None),
        "promotion.look": str(decision.look),
        "promotion.rule": decision.rule,
        "promotion.reason": decision.reason,
        "promotion.f1_delta": decision.f1_delta.text() if decision.f1_delta else "none",
        "promotion.roc_auc_delta":
            decision.roc_auc_delta.text() if decision.roc_auc_delta else "none",
        "promotion.candidate_test_f1": _fmt(decision.candidate_f1),
        "promotion.candidate_test_roc_auc": _fmt(decision.candidate_roc_auc),
        "promotion.champion_test_f1": _fmt(decision.champion_f1),
        "promotion.champion_test_roc_auc": _fmt(decision.champion_roc_auc),
        "promotion.blocking_segments": ", ".join(decision.blocking_segments) or "none",
        "promotion.previous_champion_version": previous or "none",
        "promotion.test_rows": str(decision.test_rows),
        "promotion.load_check": load_check.text(),
        **load_check.tags(),
        "promotion.requested_by": requested_by,
        "promotion.why": why or "none given",
        "promotion.decided_at": _now(),
    }


def _fit_description(markdown: str) -> str:
    if len(markdown) <= DESCRIPTION_LIMIT:
        return markdown
    note = "\n\n*(cut to fit the registry; the full card is the run's model_card.md)*"
    return markdown[: DESCRIPTION_LIMIT - len(note)] + note


def promote_candidate(
    client: MlflowClient, name: str, version: str, rows: pd.DataFrame, labels: np.ndarray,
    rules: PromotionConfig, *, tracking_uri: str, requested_by: str = "churn_assets",
    why: str = "", model_card: Callable[[dict], str] | None = None,
    lock_dir: Path | None = None, serving_limits: ServingLimits | None = None,
    economics: Economics | None = None, logistic: dict | None = None,
) -> RegistryOutcome:
    """Decide on a registered candidate and move the aliases accordingly (``logistic``: a
    first model's comparison with a logistic regression, ``first_model``).

    1. Load check in a fresh process on sample test rows (the candidate is scored here
       meanwhile): a model that fails is rejected, gets no alias, and the champion is not
       even scored.
    2. Under the registry lock: score the champion on the same rows, decide, and re-read
       the champion; if it moved meanwhile (a writer that does not take the lock), decide
       again against the new one. The candidate is the k-th look at these test rows
       (``looks_at``), which sets its share of the false-promotion budget.
    3. Tags and description (``model_card(promotion_facts)``, where the facts are
       ``decision.facts()`` plus ``previous_champion`` and ``load_check``), then the
       aliases: promoted, the old champion becomes @previous_champion and the candidate
       @champion; inconclusive but not worse, the candidate becomes @challenger and is on
       trial (``judge_challenger``); otherwise no alias moves.
    """
    version = str(version)
    pending = PendingLoadCheck(f"models:/{name}/{version}", rows.head(SAMPLE_ROWS), tracking_uri,
                               limits=serving_limits or ServingLimits())
    try:  # scored here while the check's child starts; the check still decides first
        candidate: ScoredModel | Exception = score_version(name, version, rows)
    except Exception as error:  # the check names what is wrong better, when it fails too
        candidate = error
    check = pending.result()
    if not check.ok:
        decision = PromotionDecision(
            promote=False, rule=rule_text(rules), test_rows=len(rows), metric=rules.metric,
            reason=f"not promoted: the model failed the load check in a fresh process: "
                   f"{check.error}")
        previous = current_champion_version(client, name)
        _write_version_record(client, name, version, decision_tags(
            decision, check, previous, requested_by, why), model_card, decision, check,
            previous)
        return RegistryOutcome(version, decision, check, previous, previous)

    if isinstance(candidate, Exception):
        raise candidate
    champions: dict[str, ScoredModel] = {}
    fingerprint = rows_fingerprint(rows)
    with registry_lock(tracking_uri, name, lock_dir):
        look = looks_at(client, name, fingerprint) + 1
        for _ in range(MAX_REDECISIONS):
            previous = current_champion_version(client, name)
            if previous == version:
                raise ValueError(f"{name} v{version} already holds @{CHAMPION}")
            if previous is not None and previous not in champions:
                champions[previous] = score_version(name, previous, rows)
            decision = decide_promotion(candidate, champions.get(previous), labels, rows, rules,
                                        look, economics, logistic)
            if current_champion_version(client, name) == previous:
                break
        else:
            raise RuntimeError(f"@{CHAMPION} of {name} kept moving while deciding; try again")

        tags = decision_tags(decision, check, previous, requested_by, why)
        if previous is not None:
            tags[FINGERPRINT_TAG] = fingerprint  # counts as a look only against a champion
        _write_version_record(client, name, version, tags, model_card, decision, check,
                              previous)
        if decision.outcome == ON_TRIAL:
            start_trial(client, name, version, previous)
        if not decision.promote:
            return RegistryOutcome(version, decision, check, previous, previous)
        end_trial(client, name, version, f"@{CHAMPION} moved to v{version}")
        if previous is not None:
            set_version_tags(client, name, previous, {
                "champion.replaced_by_version": version, "champion.replaced_at": _now(),
                "champion.replaced_because": decision.reason})
            # Previous first: if we stop between the two moves, @champion is still intact.
            client.set_registered_model_alias(name, PREVIOUS_CHAMPION, previous)
        client.set_registered_model_alias(name, CHAMPION, version)
    return RegistryOutcome(version, decision, check, previous, version)


def start_trial(client: MlflowClient, name: str, version: str, champion: str | None) -> None:
    """``version`` becomes @challenger against ``champion``; a trial it replaces ends."""
    end_trial(client, name, version, f"replaced by v{version}")
    set_version_tags(client, name, version, {
        TRIAL_STATUS_TAG: "on_trial", TRIAL_CHAMPION_TAG: champion or "none",
        "challenger.since": _now()})
    client.set_registered_model_alias(name, CHALLENGER, version)


def end_trial(client: MlflowClient, name: str, newcomer: str, why: str) -> None:
    """The current @challenger (other than ``newcomer``) stops being on trial."""
    current = version_for_alias(client, name, CHALLENGER)
    if current is None or current == newcomer:
        return
    client.set_model_version_tag(name, current, TRIAL_STATUS_TAG, f"ended: {why}")
    client.delete_registered_model_alias(name, CHALLENGER)


def _write_version_record(
    client: MlflowClient, name: str, version: str, tags: dict[str, str],
    model_card: Callable[[dict], str] | None, decision: PromotionDecision, check: LoadCheck,
    previous: str | None,
) -> None:
    set_version_tags(client, name, version, tags)
    if model_card is not None:
        facts = decision.facts() | {"previous_champion": previous, "load_check": check.text()}
        client.update_model_version(name, version, description=_fit_description(
            model_card(facts)))


def rollback(
    client: MlflowClient, name: str, *, tracking_uri: str, requested_by: str, reason: str,
    target_version: str | None = None, sample_rows: pd.DataFrame | None = None,
    lock_dir: Path | None = None,
) -> RollbackOutcome:
    """Move @champion back to ``target_version`` (default: @previous_champion) after the
    fresh-process load check (on ``sample_rows``, default the target's input example).
    The displaced champion becomes @previous_champion; both versions record who and why.
    Raises RollbackRefused, aliases unchanged, when the target is missing, already
    champion, or fails the load check."""
    from mlflow.exceptions import MlflowException

    if not requested_by.strip() or not reason.strip():
        raise RollbackRefused("a rollback needs requested_by and reason: they are the audit")
    with registry_lock(tracking_uri, name, lock_dir):
        current = current_champion_version(client, name)
        if current is None:
            raise RollbackRefused(f"{name} has no @{CHAMPION} to roll back from")
        target = str(target_version) if target_version else version_for_alias(
            client, name, PREVIOUS_CHAMPION)
        if target is None:
            raise RollbackRefused(f"{name} has no @{PREVIOUS_CHAMPION}; name a target version")
        if target == current:
            raise RollbackRefused(f"{name} v{target} already holds @{CHAMPION}")
        try:
            client.get_model_version(name, target)
        except MlflowException as error:
            raise RollbackRefused(f"{name} has no version {target}") from error
        check = check_model_loads(f"models:/{name}/{target}", sample_rows, tracking_uri)
        at = _now()
        if not check.ok:
            client.set_model_version_tag(
                name, target, "rollback.refused", f"{at} for {requested_by}: {check.error}")
            raise RollbackRefused(
                f"{name} v{target} failed the load check in a fresh process, @{CHAMPION} "
                f"stays on v{current}: {check.error}")
        audit = {"rollback.requested_by": requested_by, "rollback.reason": reason,
                 "rollback.at": at}
        set_version_tags(client, name, target, audit | {"rollback.from_version": current})
        set_version_tags(client, name, current, audit | {"rollback.replaced_by_version": target})
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION, current)
        client.set_registered_model_alias(name, CHAMPION, target)
    return RollbackOutcome(current, target, check)


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
    return load_version_reference(client, name, version, artifact_path)


def load_version_reference(
    client: MlflowClient, name: str, version: str, artifact_path: str
) -> ChampionReference:
    """A version and the rows it was trained on (its run's ``artifact_path``)."""
    import mlflow

    run_id = client.get_model_version(name, version).run_id
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=artifact_path, dst_path=tmp)
        rows = pd.read_parquet(local)
    return ChampionReference(version, f"models:/{name}/{version}", rows)
