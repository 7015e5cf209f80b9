"""Who holds @champion and why, as lines of text (shared by `champion` and `train`)."""

from __future__ import annotations

from churn_assets.cli.store import Store
from churn_assets.names import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from churn_assets.registry.model_registry import current_champion_version, version_for_alias

REPORTED_METRICS = ("test_f1", "test_roc_auc", "test_pr_auc", "valid_f1", "valid_roc_auc")
# The audit trail the registry writes on a version: rule-based, manual, rollback.
AUDIT_PREFIXES = ("promotion.", "manual_promotion.", "rollback.", "champion.replaced")


def no_champion_line(store: Store) -> str:
    return f"no @{CHAMPION} for '{store.model_name}' in {store.tracking_uri}"


def why_line(tags: dict[str, str]) -> str:
    """The latest event that put this version on @champion, in one sentence."""
    if "rollback.requested_by" in tags and "rollback.from_version" in tags:
        return (f"rolled back from v{tags['rollback.from_version']} by "
                f"{tags['rollback.requested_by']} at {tags.get('rollback.at', '?')}: "
                f"{tags.get('rollback.reason', '')}")
    if "manual_promotion.requested_by" in tags and "manual_promotion.from_version" in tags:
        return (f"promoted by hand by {tags['manual_promotion.requested_by']} at "
                f"{tags.get('manual_promotion.at', '?')}: {tags.get('manual_promotion.reason')}")
    return tags.get("promotion.reason", "no decision recorded on this version")


def champion_lines(store: Store) -> list[str]:
    client, name = store.client, store.model_name
    version = current_champion_version(client, name)
    if version is None:
        return [no_champion_line(store)]
    details = client.get_model_version(name, version)
    tags = dict(details.tags)
    metrics = client.get_run(details.run_id).data.metrics if details.run_id else {}
    others = {alias: version_for_alias(client, name, alias)
              for alias in (PREVIOUS_CHAMPION, CHALLENGER)}
    lines = [
        f"champion: models:/{name}@{CHAMPION} = version {version}",
        f"  why:            {why_line(tags)}",
        f"  tracking store: {store.tracking_uri}",
        f"  mlflow run:     {details.run_id or 'n/a'}",
        *(f"  @{alias}: version {held}" for alias, held in others.items() if held),
    ]
    metric_lines = [f"    {m:<14} {metrics[m]:.4f}" for m in REPORTED_METRICS if m in metrics]
    if metric_lines:
        lines += ["  metrics (its training run):", *metric_lines]
    audit = sorted((k, v) for k, v in tags.items() if k.startswith(AUDIT_PREFIXES))
    if audit:
        lines += ["  decision tags:", *(f"    {k} = {v}" for k, v in audit)]
    return lines
