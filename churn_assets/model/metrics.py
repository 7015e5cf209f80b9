"""Classification figures and the F1-optimal decision threshold."""

from __future__ import annotations

import numpy as np

# sklearn is imported in the functions: the definitions import this module, and a process
# that only loads them (code server, sensor, `dg check defs`) never computes a metric.


def best_f1_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The probability cut-off that maximises F1 on the given (validation) rows."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, probabilities)
    # precision/recall have one more entry than thresholds (the point at recall 0).
    f1 = 2 * precision[:-1] * recall[:-1] / np.clip(precision[:-1] + recall[:-1], 1e-12, None)
    return float(thresholds[int(np.argmax(f1))])


def classification_metrics(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float
) -> dict[str, float]:
    """F1, ROC-AUC, PR-AUC, precision, recall, accuracy of thresholded probabilities."""
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    labels = np.asarray(labels)
    if np.unique(labels).size < 2:
        raise ValueError("metrics need both classes among the labels")
    predicted = (np.asarray(probabilities) >= threshold).astype(int)
    return {
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(labels, probabilities)),
        "pr_auc": float(average_precision_score(labels, probabilities)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "accuracy": float(accuracy_score(labels, predicted)),
    }
