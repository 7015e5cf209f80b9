"""The drift report a person reads: one chart per feature and an HTML page that embeds them."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from churn_assets.monitoring.drift import (
    P_VALUE_METHODS,
    DriftReport,
    FeatureDrift,
    category_counts,
    finite_values,
)

_MAX_BARS = 20  # an accidental ID column must not make an unreadable chart


def _draw(ax: Any, drift: FeatureDrift, reference: ArrayLike, current: ArrayLike) -> None:
    if drift.kind == "numeric":
        ref, cur = finite_values(reference), finite_values(current)
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=30)
        ax.hist(ref, bins=edges, density=True, alpha=0.5, label="reference")
        ax.hist(cur, bins=edges, density=True, alpha=0.5, label="current")
        ax.set_ylabel("density")
    else:
        categories, ref_counts, cur_counts = category_counts(reference, current)
        order = np.argsort(-(ref_counts / ref_counts.sum() + cur_counts / cur_counts.sum()),
                           kind="stable")[:_MAX_BARS]
        x = np.arange(order.size)
        ax.bar(x - 0.2, ref_counts[order] / ref_counts.sum(), width=0.4, label="reference")
        ax.bar(x + 0.2, cur_counts[order] / cur_counts.sum(), width=0.4, label="current")
        ax.set_xticks(x, [str(c) for c in categories[order]], rotation=30, ha="right")
        ax.set_ylabel("share of rows")
    kind = "p-value" if drift.method in P_VALUE_METHODS else "distance"
    verdict = "DRIFTED" if drift.drifted else "no drift"
    ax.set_title(f"{drift.feature}: {drift.method} {kind} {drift.statistic:.3g} "
                 f"(threshold {drift.threshold:g}) - {verdict}", fontsize=9)
    ax.legend()


def write_drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, report: DriftReport, out_dir: Path,
    *, reference_scores: np.ndarray | None = None, current_scores: np.ndarray | None = None,
) -> Path:
    """Write one PNG per feature and ``drift_report.html`` embedding them; return the HTML path.

    Pass the scores too to get a chart of the prediction drift as well.
    """
    # Figure used directly renders with Agg and touches no pyplot global state (no backend
    # switch, nothing to leak across threads); imported here so importing this module is cheap.
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts: list[tuple[FeatureDrift, ArrayLike, ArrayLike]] = [
        (f, reference[f.feature], current[f.feature]) for f in report.features
    ]
    if report.prediction_drift and reference_scores is not None and current_scores is not None:
        charts.append((report.prediction_drift, reference_scores, current_scores))
    sections = []
    for index, (drift, ref, cur) in enumerate(charts):
        name = f"{index:02d}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', drift.feature)}.png"
        figure = Figure(figsize=(7, 4))
        _draw(figure.add_subplot(), drift, ref, cur)
        figure.savefig(out_dir / name, dpi=100, bbox_inches="tight")
        figure.clear()
        title = html.escape(drift.feature)
        sections.append(f'<h3>{title}</h3>\n<img src="{name}" alt="{title}">')
    drifted = sum(f.drifted for f in report.features)
    table = report.to_frame().to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}")
    page = (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>Drift report</title>\n'
        "<style>body{font-family:sans-serif;margin:2em} th,td{padding:2px 8px}</style>\n"
        "</head><body>\n<h1>Drift report</h1>\n"
        f"<p>{drifted} of {len(report.features)} features drifted (share "
        f"{report.drifted_share:.2f}); dataset drift: <b>{'yes' if report.drift_detected else 'no'}"
        "</b>. PSI is shown for information; the method column decides.</p>\n"
        f"{table}\n" + "\n".join(sections) + "\n</body></html>\n"
    )
    path = out_dir / "drift_report.html"
    path.write_text(page, encoding="utf-8")
    return path
