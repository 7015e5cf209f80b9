"""The challenger trial's accumulated evidence, as a table and a picture (one row per look)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from churn_assets.registry.sequential_evidence import Evidence, Look


def evidence_table(looks: Sequence[Look], path: Sequence[Evidence]) -> pd.DataFrame:
    """Each look's own gain and the evidence accumulated up to it."""
    return pd.DataFrame([{
        "look": number, "snapshot": look.snapshot, "rows": look.rows,
        "gain": look.gain, "standard_error": look.standard_error,
        "accumulated_gain": evidence.gain, "low": evidence.low, "high": evidence.high,
        "always_valid_p": evidence.always_valid_p, "at": look.at,
    } for number, (look, evidence) in enumerate(zip(looks, path, strict=True), start=1)])


def evidence_plot(table: pd.DataFrame, margin: float, label: str, path: Path) -> Path:
    """Per-look gains, the accumulated gain and its confidence sequence against the margin."""
    from matplotlib.figure import Figure  # object API: no pyplot global state

    figure = Figure(figsize=(6, 3.2), dpi=100)
    ax = figure.subplots()
    looks = table["look"].to_numpy()
    low, high = table["low"].clip(lower=-1), table["high"].clip(upper=1)
    if len(looks) > 1:
        ax.fill_between(looks, low, high, alpha=0.25, label="confidence sequence")
    else:  # a band over one look has no width: draw the interval as a bar
        ax.vlines(looks, low, high, linewidth=12, alpha=0.25, label="confidence sequence")
    ax.plot(looks, table["accumulated_gain"], marker="o", label="accumulated gain")
    ax.scatter(looks, table["gain"], marker="x", color="grey", label="this snapshot")
    ax.axhline(margin, color="red", linestyle="--", linewidth=1, label=f"margin {margin:g}")
    ax.set_xlabel("labeled snapshot")
    ax.set_ylabel(f"{label} gain over @champion")
    ax.set_xticks(looks)
    ax.legend(fontsize=7, loc="best")
    figure.tight_layout()
    figure.savefig(path)
    return path
