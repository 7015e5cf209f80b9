"""Pictures of a candidate: curves, confusion matrix, calibration, importances, SHAP, tuning.

Hand-written with matplotlib's object API (``Figure``, no pyplot global state, so it is
safe in threads and never opens a window). ``mlflow.models.evaluate`` was considered: for
our pyfunc (a ``python_model``, raw rows in, a two-column DataFrame out) it finds no raw
model with ``predict_proba``, so it draws no ROC/PR/calibration curve, and its SHAP step
needs the ``shap`` package and numeric model inputs; only the confusion matrix would come
out. The SHAP picture uses the model family's own per-row contributions (TreeSHAP for the
tree families, ``coef * x`` for the linear one), in log-odds.

Images are small (dpi 80) so they can be embedded in Dagster metadata as data URIs.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from churn_assets.model.families import FittedModel, get_family

# matplotlib, sklearn and optuna are imported by the functions that draw: the definitions
# import this module, and loading them (code server, sensor, `dg check defs`) draws nothing.
if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

DPI = 80
SIZE = (4.8, 3.6)
TOP_FEATURES = 12
SHAP_ROWS = 800  # enough for the picture; fewer points keep the PNG small
EMBED_LIMIT_BYTES = 60_000


@dataclass(frozen=True)
class EvaluationPictures:
    paths: dict[str, Path]  # name -> PNG, in display order
    brier_score: float


def _figure() -> tuple[Figure, object]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, layout="constrained")
    return figure, figure.subplots()


# The constrained layout was 35-40 % of a picture's cost (ROC curve 0.17 -> 0.11 CPU s,
# calibration 0.16 -> 0.09). Pictures whose furniture is known in advance (axes of shares,
# tick labels of a few characters, a one-line title) take these fixed margins instead; those
# with text labels of any length (feature, parameter, family names) keep the layout.
FIXED_MARGINS = {"left": 0.15, "right": 0.97, "bottom": 0.14, "top": 0.91}


def fixed_figure() -> tuple[Figure, object]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE)
    figure.subplots_adjust(**FIXED_MARGINS)
    return figure, figure.subplots()


def roc_figure(labels: np.ndarray, probabilities: np.ndarray) -> Figure:
    from sklearn.metrics import roc_auc_score, roc_curve

    figure, ax = fixed_figure()
    fpr, tpr, _ = roc_curve(labels, probabilities)
    ax.plot(fpr, tpr, label=f"ROC-AUC {roc_auc_score(labels, probabilities):.4f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right")
    return figure


def pr_figure(labels: np.ndarray, probabilities: np.ndarray) -> Figure:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    figure, ax = fixed_figure()
    precision, recall, _ = precision_recall_curve(labels, probabilities)
    ax.plot(recall, precision,
            label=f"PR-AUC {average_precision_score(labels, probabilities):.4f}")
    ax.axhline(np.mean(labels), linestyle="--", color="grey", linewidth=0.8,
               label=f"churn rate {np.mean(labels):.4f}")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall curve")
    ax.legend(loc="upper right")
    return figure


def confusion_figure(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> Figure:
    from sklearn.metrics import confusion_matrix

    figure, ax = _figure()
    counts = confusion_matrix(labels, (probabilities >= threshold).astype(int), labels=[0, 1])
    ax.imshow(counts, cmap="Blues")
    for (row, column), count in np.ndenumerate(counts):
        ax.text(column, row, str(count), ha="center", va="center",
                color="white" if count > counts.max() / 2 else "black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["stays", "churns"],
           yticklabels=["stays", "churns"], xlabel="predicted", ylabel="actual",
           title=f"Confusion matrix at threshold {threshold:.4f}")
    return figure


def calibration_figure(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> tuple[Figure, float]:
    """Reliability curve (quantile bins) and the Brier score."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    brier = float(brier_score_loss(labels, probabilities))
    observed, predicted = calibration_curve(labels, probabilities, n_bins=bins,
                                            strategy="quantile")
    figure, ax = fixed_figure()
    ax.plot(predicted, observed, marker="o", label=f"model (Brier {brier:.4f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="perfect")
    ax.set(xlabel="mean predicted probability", ylabel="observed churn rate",
           title="Calibration")
    ax.legend(loc="upper left")
    return figure, brier


def top_features(model: FittedModel, top: int = TOP_FEATURES) -> list[tuple[str, float]]:
    """Features by their share of the model's global importance (the family's measure, e.g.
    total gain), largest first; for the model card."""
    importance = pd.Series(model.importances(), dtype=float)
    if importance.empty or importance.sum() <= 0:
        return []
    share = (importance / importance.sum()).sort_values(ascending=False).head(top)
    return [(str(name), float(value)) for name, value in share.items()]


def importance_figure(model: FittedModel, top: int = TOP_FEATURES) -> Figure:
    figure, ax = _figure()
    kind = get_family(model.family).importance_kind
    ranked = top_features(model, top)
    if not ranked:  # e.g. early stopping kept only trees without a split (nothing learned)
        ax.text(0.5, 0.5, "no feature is used by the model", ha="center")
        ax.set(title=f"Global importance ({kind})")
        return figure
    names, shares = zip(*reversed(ranked), strict=True)
    ax.barh(names, shares)
    ax.set(xlabel="share of importance", title=f"Global importance ({kind})")
    ax.tick_params(axis="y", labelsize=7)
    return figure


def shap_contributions(model: FittedModel, features: pd.DataFrame) -> pd.DataFrame:
    """Per-row, per-feature contributions to the log-odds, bias column dropped."""
    contributions = model.contributions(features)
    return pd.DataFrame(contributions[:, :-1], columns=features.columns, index=features.index)


def shap_figure(model: FittedModel, features: pd.DataFrame, top: int = TOP_FEATURES,
                seed: int = 0) -> Figure:
    """Beeswarm-like: one row per feature (largest mean |contribution| on top), one dot per
    customer at its contribution, coloured by the feature's value (low blue, high red)."""
    if len(features) > SHAP_ROWS:
        features = features.sample(SHAP_ROWS, random_state=seed)
    contributions = shap_contributions(model, features)
    order = contributions.abs().mean().sort_values().tail(top).index
    rng = np.random.default_rng(seed)
    figure, ax = _figure()
    for position, name in enumerate(order):
        values = features[name].to_numpy(float)
        span = np.nanmax(values) - np.nanmin(values) if np.isfinite(values).any() else 0
        colour = (values - np.nanmin(values)) / span if span else np.full(values.size, 0.5)
        ax.scatter(contributions[name], position + rng.uniform(-0.3, 0.3, values.size),
                   c=colour, cmap="coolwarm", s=4, alpha=0.6, linewidths=0)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(order)), labels=list(order), fontsize=7)
    ax.set(xlabel="contribution to churn log-odds", title="SHAP summary (test rows)")
    return figure


def optimisation_history_figure(study: optuna.Study) -> Figure:
    import optuna

    trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    values = np.array([t.value for t in trials])
    best = np.minimum.accumulate(values) if study.direction.name == "MINIMIZE" \
        else np.maximum.accumulate(values)
    figure, ax = _figure()
    ax.scatter([t.number for t in trials], values, s=10, label="trial")
    ax.plot([t.number for t in trials], best, color="tab:red", label="best so far")
    ax.set(xlabel="trial", ylabel="objective", title="Optuna optimisation history")
    ax.legend(loc="upper right")
    return figure


def parameter_importance_figure(study: optuna.Study, seed: int = 0) -> Figure:
    import optuna

    importances = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
    series = pd.Series(importances).sort_values()
    figure, ax = _figure()
    ax.barh(series.index, series.to_numpy())
    ax.set(xlabel="importance (fANOVA)", title="Hyperparameter importance")
    ax.tick_params(axis="y", labelsize=7)
    return figure


def write_evaluation_plots(
    folder: Path, labels: np.ndarray, probabilities: np.ndarray, threshold: float,
    model: FittedModel | None = None, features: pd.DataFrame | None = None,
    study: optuna.Study | None = None,
) -> EvaluationPictures:
    """Write the PNGs into ``folder``. ``features``: the model matrix of the same rows
    (for SHAP); ``study``: the tuning study. Pictures whose inputs are absent are left out;
    the tuning pictures need at least two completed trials (the
    parameter importance two different objective values)."""
    import optuna

    folder.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    calibration, brier = calibration_figure(labels, probabilities)
    figures = {
        "roc_curve": roc_figure(labels, probabilities),
        "pr_curve": pr_figure(labels, probabilities),
        "confusion_matrix": confusion_figure(labels, probabilities, threshold),
        "calibration_curve": calibration,
    }
    if model is not None:
        figures["feature_importance"] = importance_figure(model)
        if features is not None:
            figures["shap_summary"] = shap_figure(model, features)
    completed = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)) if study else []
    if len(completed) >= 2:
        figures["optimisation_history"] = optimisation_history_figure(study)
    # fANOVA explains the spread of the objective: trials that all scored the same (e.g. a
    # resumed study on a tiny table) have none, and optuna raises instead of answering.
    if len({trial.value for trial in completed}) >= 2:
        figures["parameter_importance"] = parameter_importance_figure(study)
    paths = {}
    for name, figure in figures.items():
        paths[name] = folder / f"{name}.png"
        figure.savefig(paths[name], dpi=DPI)
    return EvaluationPictures(paths, brier)


def leaderboard_figure(board: pd.DataFrame) -> Figure:
    """Validation log-loss per family (lower is better), the chosen one highlighted."""
    figure, ax = _figure()
    ordered = board.sort_values("valid_log_loss", ascending=False)
    colours = ["tab:red" if chosen else "tab:blue" for chosen in ordered["chosen"]]
    ax.barh(ordered["family"], ordered["valid_log_loss"], color=colours)
    for position, row in enumerate(ordered.itertuples()):
        ax.text(row.valid_log_loss, position, f" {row.valid_log_loss:.4f}  "
                f"AUC {row.valid_roc_auc:.3f}  {row.tune_seconds + row.fit_seconds:.0f}s",
                va="center", fontsize=7)
    low = float(ordered["valid_log_loss"].min())
    ax.set_xlim(low * 0.9, float(ordered["valid_log_loss"].max()) * 1.25)
    ax.set(xlabel="valid log-loss (chosen in red)", title="Model families")
    return figure


def write_leaderboard_figure(folder: Path, board: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "family_leaderboard.png"
    leaderboard_figure(board).savefig(path, dpi=DPI)
    return path


def markdown_with_images(paths: Mapping[str, Path], limit_bytes: int = EMBED_LIMIT_BYTES) -> str:
    """The PNGs as markdown with base64 data URIs (Dagster's ``MetadataValue.md`` renders
    them). An image over ``limit_bytes`` is named instead of embedded."""
    parts = []
    for name, path in paths.items():
        title = name.replace("_", " ").capitalize()
        data = Path(path).read_bytes()
        if len(data) > limit_bytes:
            parts.append(f"**{title}**: {len(data) // 1000} KB, too large to embed; "
                         f"see the MLflow artifact `{Path(path).name}`")
            continue
        encoded = base64.b64encode(data).decode("ascii")
        parts.append(f"**{title}**\n\n![{title}](data:image/png;base64,{encoded})")
    return "\n\n".join(parts)
