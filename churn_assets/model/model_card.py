"""A model card in markdown, rendered from plain facts.

The same text becomes the run's ``model_card.md`` artifact, the model version's description
and Dagster metadata, so it is built from a plain dict anyone can assemble (no MLflow or
Dagster objects). Figures are rounded to 4 digits; a missing section says so instead of
disappearing, so a reader sees what was not recorded.

Facts (every key optional)::

    model_name, version, run_id, run_url
    data:        {source, sha256, rows}
    splits:      {split: {rows, churn_rate}}
    features:    {kept: [name], dropped: {name: reason}}
    parameters:  {name: value}
    threshold:   float
    metrics:     {split: {metric: float | Interval | {estimate, low, high}}}
    promotion:   PromotionDecision.facts()  (promote, rule, reason, segments, ...)
    top_features: [(name, importance)] or {name: importance}
    retention:   {policy, capacity, calibration, economics, metrics}
    known_limits: [text]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

NOT_RECORDED = "_not recorded_"


def fmt(value: Any, digits: int = 4) -> str:
    """Floats rounded; intervals as ``estimate [low, high]``; None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "estimate") and hasattr(value, "low"):
        value = {"estimate": value.estimate, "low": value.low, "high": value.high}
    if isinstance(value, Mapping) and {"estimate", "low", "high"} <= set(value):
        return (f"{value['estimate']:.{digits}f} "
                f"[{value['low']:.{digits}f}, {value['high']:.{digits}f}]")
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _data(facts: Mapping[str, Any]) -> str:
    data = facts.get("data") or {}
    splits = facts.get("splits") or {}
    lines = [f"- Source: `{data.get('source', 'unknown')}`",
             f"- Content hash (SHA-256): `{data.get('sha256', 'unknown')}`"]
    if "rows" in data:
        lines.append(f"- Rows: {data['rows']}")
    body = "\n".join(lines)
    if splits:
        body += "\n\n" + table(["split", "rows", "churn rate"],
                               [(name, s.get("rows"), s.get("churn_rate"))
                                for name, s in splits.items()])
    return body


def _features(facts: Mapping[str, Any]) -> str:
    features = facts.get("features")
    if not features:
        return NOT_RECORDED
    kept = features.get("kept") or []
    dropped = features.get("dropped") or {}
    body = f"Kept ({len(kept)}): " + (", ".join(f"`{k}`" for k in kept) or "none")
    if dropped:
        body += "\n\nDropped:\n\n" + table(["column", "reason"], sorted(dropped.items()))
    else:
        body += "\n\nDropped: none"
    return body + _leakage(features.get("leakage"))


def _leakage(leakage: Mapping[str, Any] | None) -> str:
    if not leakage:
        return ""
    if leakage.get("skipped"):
        return f"\n\nLeakage check: not run ({leakage['skipped']})"
    limits = leakage["limits"]
    rows = [(r["column"], r["auc_alone"], r["missing_auc"], r["churners_only"], r["verdict"])
            for r in leakage.get("strongest") or []]
    return (f"\n\nLeakage check on {leakage['rows']} train rows (a column is a suspect at "
            f"ROC-AUC alone or of its missingness >= {limits['max_auc']:g}, or when "
            f">= {limits['max_churners_only']:.0%} of churners hold values no non-churner "
            "holds); strongest columns:\n\n"
            + table(["column", "ROC-AUC alone", "missingness ROC-AUC", "churners only",
                     "verdict"], rows))


def _parameters(facts: Mapping[str, Any]) -> str:
    parameters = facts.get("parameters") or {}
    body = table(["parameter", "value"], sorted(parameters.items())) if parameters \
        else NOT_RECORDED
    if facts.get("threshold") is not None:
        body += (f"\n\nDecision threshold: **{fmt(float(facts['threshold']))}** "
                 "(F1-optimal on the validation split)")
    return body


def _metrics(facts: Mapping[str, Any]) -> str:
    metrics = facts.get("metrics") or {}
    if not metrics:
        return NOT_RECORDED
    names = list(dict.fromkeys(name for split in metrics.values() for name in split))
    rows = [(name, *(split.get(name) for split in metrics.values())) for name in names]
    return (table(["metric", *metrics], rows)
            + "\n\nIntervals: 95% stratified bootstrap over the split's rows.")


def promotion_section(promotion: Mapping[str, Any] | None) -> str:
    """The decision with its segment table; also usable alone as Dagster metadata."""
    if not promotion:
        return NOT_RECORDED
    verdict = "**promoted to @champion**" if promotion.get("promote") else "**not promoted**"
    lines = [f"- Decision: {verdict}", f"- Reason: {fmt(promotion.get('reason'))}",
             f"- Rule: {fmt(promotion.get('rule'))}"]
    for key, label in (("f1_delta", "F1 delta vs champion"),
                       ("roc_auc_delta", "ROC-AUC delta vs champion")):
        if promotion.get(key):
            lines.append(f"- {label}: {promotion[key]}")
    if promotion.get("previous_champion"):
        lines.append(f"- Champion at decision time: v{promotion['previous_champion']}")
    if promotion.get("load_check"):
        lines.append(f"- Fresh-process load check: {promotion['load_check']}")
    body = "\n".join(lines)
    segments = promotion.get("segments") or []
    if segments:
        body += "\n\n" + table(
            ["segment", "rows", "champion F1", "candidate F1", "gain", "gain interval",
             "blocks"],
            [(s["segment"], s["rows"], s.get("champion_f1"), s.get("candidate_f1"),
              _segment_gain(s), s.get("delta_interval"), "**yes**" if s.get("blocked") else "no")
             for s in segments])
    return body


def _segment_gain(row: Mapping[str, Any]) -> str | None:
    """The segment's gain in the metric it is judged on (cards older than the setting: F1)."""
    if row.get("delta") is None:
        return None
    return f"{row['delta']:+.4f} {row.get('metric', 'f1')}"


def _top_features(facts: Mapping[str, Any]) -> str:
    top = facts.get("top_features")
    if not top:
        return NOT_RECORDED
    items = list(top.items()) if isinstance(top, Mapping) else [tuple(t) for t in top]
    return table(["feature", "importance"], items)


def _limits(facts: Mapping[str, Any]) -> str:
    limits = facts.get("known_limits") or []
    return "\n".join(f"- {limit}" for limit in limits) if limits else NOT_RECORDED


CAMPAIGN_PICTURES = ("cumulative_gains", "lift", "expected_profit_curve", "reliability")


def _retention(facts: Mapping[str, Any]) -> str:
    """Policy, calibration, economics and the test figures; pictures as run-artifact links."""
    retention = facts.get("retention")
    if not retention:
        return NOT_RECORDED
    economics = retention.get("economics")
    lines = [f"- Policy: `{retention.get('policy')}`"
             + (f" (capacity {fmt(retention['capacity'])})" if retention.get("capacity") else ""),
             f"- Calibration: {retention.get('calibration')} (chosen by cross-fitted Brier "
             "score on the validation split)",
             "- Economics: " + (", ".join(f"{k} `{fmt(v)}`" for k, v in economics.items())
                                if economics else "none (no expected values)")]
    metrics = {k.removeprefix("test_"): v for k, v in (retention.get("metrics") or {}).items()
               if k.startswith("test_")}
    body = "\n".join(lines) + "\n\n" + table(["test figure", "value"], sorted(metrics.items()))
    shown = [n for n in CAMPAIGN_PICTURES if n != "expected_profit_curve" or economics]
    return body + "\n\n" + "\n\n".join(
        f"![{n.replace('_', ' ')}](evaluation/{n}.png)" for n in shown)


def _promotion(facts: Mapping[str, Any]) -> str:
    return promotion_section(facts.get("promotion"))


SECTIONS = (("Data", _data), ("Features", _features), ("Parameters", _parameters),
            ("Metrics", _metrics), ("Promotion decision", _promotion),
            ("Top features", _top_features), ("Retention campaign", _retention),
            ("Known limits", _limits))


def render_model_card(facts: Mapping[str, Any]) -> str:
    name = facts.get("model_name", "model")
    version = f" v{facts['version']}" if facts.get("version") else ""
    header = [f"# Model card: {name}{version}"]
    if facts.get("run_id"):
        run = f"[{facts['run_id']}]({facts['run_url']})" if facts.get("run_url") \
            else f"`{facts['run_id']}`"
        header.append(f"MLflow run: {run}")
    parts = ["\n\n".join(header)]
    parts += [f"## {title}\n\n{render(facts)}" for title, render in SECTIONS]
    return "\n\n".join(parts) + "\n"
