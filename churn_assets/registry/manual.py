"""A person's promotion: put a chosen registered version on @champion, outside the rule.

The promotion rule is skipped on purpose (the person decides), but not the fresh-process
load check: a version that cannot serve the contract never becomes champion. Who and why are
recorded on the versions the move touches, and the alias moves last, as in
``model_registry``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from churn_assets.names import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from churn_assets.registry.load_check import LoadCheck, check_model_loads
from churn_assets.registry.model_registry import current_champion_version, version_for_alias
from churn_assets.registry.registry_lock import registry_lock
from churn_assets.registry.version_tags import set_version_tags

# mlflow is imported where it is used: `python -m churn_assets generate`, `init` and
# `--help` never open the registry.
if TYPE_CHECKING:
    from mlflow import MlflowClient


class PromotionRefused(ValueError):
    """The manual promotion was not done; the aliases are unchanged."""


@dataclass(frozen=True)
class ManualPromotion:
    version: str
    previous_champion_version: str | None
    load_check: LoadCheck


def promote_version(
    client: MlflowClient, name: str, version: str, *, tracking_uri: str, requested_by: str,
    reason: str, sample_rows: pd.DataFrame | None = None, lock_dir: Path | None = None,
) -> ManualPromotion:
    """Move @champion to ``version`` after the fresh-process load check (on ``sample_rows``,
    default the version's input example). The displaced champion becomes @previous_champion;
    a promoted @challenger loses that alias. Raises PromotionRefused, aliases unchanged,
    when the audit is missing, the version does not exist, already is champion, or fails
    the load check."""
    from mlflow.exceptions import MlflowException

    version = str(version)
    if not requested_by.strip() or not reason.strip():
        raise PromotionRefused("a manual promotion needs requested_by and reason: they are "
                               "the audit")
    try:
        client.get_model_version(name, version)
    except MlflowException as error:
        raise PromotionRefused(f"{name} has no version {version}") from error
    with registry_lock(tracking_uri, name, lock_dir):
        current = current_champion_version(client, name)
        if current == version:
            raise PromotionRefused(f"{name} v{version} already holds @{CHAMPION}")
        check = check_model_loads(f"models:/{name}/{version}", sample_rows, tracking_uri)
        at = datetime.now(UTC).isoformat(timespec="seconds")
        if not check.ok:
            client.set_model_version_tag(
                name, version, "manual_promotion.refused",
                f"{at} for {requested_by}: {check.error}")
            raise PromotionRefused(
                f"{name} v{version} failed the load check in a fresh process, @{CHAMPION} "
                f"stays on {'v' + current if current else 'nobody'}: {check.error}")
        audit = {"manual_promotion.requested_by": requested_by,
                 "manual_promotion.reason": reason, "manual_promotion.at": at}
        set_version_tags(client, name, version, audit | {
            "manual_promotion.from_version": current or "none",
            "manual_promotion.load_check": check.text()})
        if current is not None:
            set_version_tags(client, name, current,
                             audit | {"manual_promotion.replaced_by_version": version})
            client.set_registered_model_alias(name, PREVIOUS_CHAMPION, current)
        if version_for_alias(client, name, CHALLENGER) == version:
            client.delete_registered_model_alias(name, CHALLENGER)
        client.set_registered_model_alias(name, CHAMPION, version)
    return ManualPromotion(version, current, check)
