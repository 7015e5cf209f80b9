"""Bootstrap intervals for classification metrics, single and paired.

Resampling is stratified by class (each resample keeps the positives and negatives counts),
so ROC-AUC is defined in every resample and small test sets do not produce degenerate draws.
Paired intervals resample the *same rows* for both models: the interval is about the
difference, with the shared noise of the rows cancelled out.

A bootstrap costs resamples x rows (1,000 x 150k test rows: 26 s). Above ``MAX_ROWS`` rows
``metric_interval`` bootstraps a stratified subsample of m = ``MAX_ROWS`` rows and scales each
draw's distance from the subsample's own value by sqrt(m / n) around the estimate on all n
rows (the m-out-of-n rescaling of Bickel, Götze and van Zwet 1997; these metrics' spread
shrinks as 1 / sqrt(rows)). The estimate itself is always the metric on every row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike

PROBABILITY_CLIP = 1e-15  # log-loss of a 0/1 answer that is wrong is finite, as in sklearn


@dataclass(frozen=True)
class Interval:
    """A point estimate on all rows and its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    level: float
    resamples: int

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def text(self, digits: int = 4) -> str:
        whole = abs(self.level * 100 - round(self.level * 100)) < 1e-9
        level = f"{self.level:.0%}" if whole else f"{self.level:.1%}"  # 99.7 %, not 100 %
        return (f"{self.estimate:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"
                f" ({level}, {self.resamples} resamples)")


# Resamples scored per block: bounds the (block, rows) count matrices to some 16 MB each.
BLOCK_CELLS = 2_000_000
MAX_ROWS = 200_000  # rows a single interval resamples; more are subsampled (see above)


def stratified_subsample(labels: np.ndarray, rows: int, seed: int) -> np.ndarray:
    """Sorted positions of about ``rows`` rows, each class keeping its share."""
    rng = np.random.default_rng(seed)
    chosen = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        take = max(2, round(rows * members.size / labels.size))
        chosen.append(rng.choice(members, size=min(take, members.size), replace=False))
    return np.sort(np.concatenate(chosen))


@dataclass(frozen=True)
class _Scored:
    """One model's answers on the rows, with the rows sorted once by score (highest first)
    and tied scores grouped: every resample's metric is then sums over these groups of the
    resample's row counts, with no sorting and no per-resample Python call."""

    positive: np.ndarray  # labels, bool, rows in their own order
    predicted: np.ndarray  # 0/1 answers at the threshold, bool
    order: np.ndarray  # rows by descending score
    starts: np.ndarray  # first position (in ``order``) of each group of equal scores
    row_loss: np.ndarray  # each row's log-loss, rows in their own order

    @classmethod
    def of(cls, labels: np.ndarray, probabilities: np.ndarray, predicted: np.ndarray):
        order = np.argsort(-probabilities, kind="stable")
        ranked = probabilities[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        clipped = np.clip(probabilities, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
        row_loss = -np.where(labels.astype(bool), np.log(clipped), np.log1p(-clipped))
        return cls(labels.astype(bool), predicted.astype(bool), order, starts, row_loss)


class _Block:
    """One model's answers and a block of resamples' draw counts (``counts[r, i]``: how often
    resample r drew row i). The counts per group of tied scores, which ROC-AUC and PR-AUC
    both need, are gathered once per block (that gather is most of either metric's cost)."""

    def __init__(self, scored: _Scored, counts: np.ndarray):
        self.scored, self.counts = scored, counts

    @functools.cached_property
    def ranked(self) -> tuple[np.ndarray, np.ndarray]:
        """Each resample's positives and negatives per group of tied scores, highest first."""
        scored = self.scored
        ranked = self.counts[:, scored.order]
        drawn = np.add.reduceat(ranked, scored.starts, axis=1)
        positives = np.add.reduceat(ranked * scored.positive[scored.order], scored.starts, axis=1)
        return positives, drawn - positives  # counts: whole numbers, so exact

    @functools.cached_property
    def classes(self) -> tuple[float, float]:
        """Positives and negatives drawn: stratified, the same in every resample."""
        positives = float(self.counts[0] @ self.scored.positive)
        return positives, float(self.counts[0].sum()) - positives


def _f1_draws(block: _Block) -> np.ndarray:
    scored, counts = block.scored, block.counts
    tp = counts @ (scored.positive & scored.predicted)
    wrong = counts @ (scored.positive != scored.predicted)  # fp + fn
    return np.divide(2 * tp, 2 * tp + wrong, out=np.zeros(len(tp)), where=2 * tp + wrong > 0)


def _roc_auc_draws(block: _Block) -> np.ndarray:
    """Mann-Whitney U: a tie counts half, as in sklearn."""
    positives, negatives = block.classes
    pos, neg = block.ranked
    below = negatives - np.cumsum(neg, axis=1)  # negatives scored strictly lower
    return (pos * (below + 0.5 * neg)).sum(axis=1) / (positives * negatives)


def _pr_auc_draws(block: _Block) -> np.ndarray:
    """sklearn's average precision: the sum of recall steps times precision."""
    positives, _ = block.classes
    pos, neg = block.ranked
    hits, seen = np.cumsum(pos, axis=1), np.cumsum(pos + neg, axis=1)
    precision = np.divide(hits, seen, out=np.zeros(hits.shape), where=seen > 0)
    return (pos * precision).sum(axis=1) / positives


def _log_loss_draws(block: _Block) -> np.ndarray:
    return block.counts @ block.scored.row_loss / float(block.counts[0].sum())


@dataclass(frozen=True)
class BootstrapMetric:
    """A metric an interval can be computed for: its value on one set of rows
    (labels, probabilities, 0/1 answers), and its value on every resample of a block at once
    from the draw counts, as sums over rows."""

    score: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    draws: Callable[[_Block], np.ndarray]


def _sklearn() -> ModuleType:
    """sklearn.metrics, imported when a metric is computed: the definitions import this
    module, and a process that only loads them never computes one."""
    import sklearn.metrics

    return sklearn.metrics


# How each bootstrapped metric is computed, by its name in ``model.metric_registry`` (which
# says what each metric is used for: monitored, online, a promotion metric).
METRICS: dict[str, BootstrapMetric] = {
    "f1": BootstrapMetric(
        lambda y, _p, yhat: float(_sklearn().f1_score(y, yhat, zero_division=0)), _f1_draws),
    "roc_auc": BootstrapMetric(lambda y, p, _yhat: float(_sklearn().roc_auc_score(y, p)),
                               _roc_auc_draws),
    "pr_auc": BootstrapMetric(
        lambda y, p, _yhat: float(_sklearn().average_precision_score(y, p)), _pr_auc_draws),
    "log_loss": BootstrapMetric(lambda y, p, _yhat: float(_sklearn().log_loss(
        y, np.clip(p, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP), labels=[0, 1])),
        _log_loss_draws),
}


def _metric(name: str) -> BootstrapMetric:
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric '{name}': use one of {', '.join(METRICS)}") from None


def stratified_counts(labels: ArrayLike, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of (resamples, rows) draw counts: each resample draws with replacement within
    each class as many rows as the class has. Counts, not index lists: the same draws, and
    the metrics become sums (see ``BootstrapMetric.draws``)."""
    labels = np.asarray(labels)
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    rng = np.random.default_rng(seed)
    classes = [np.flatnonzero(labels == value) for value in np.unique(labels)]
    block = max(1, BLOCK_CELLS // max(1, labels.size))
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        counts = np.zeros((size, labels.size))
        for members in classes:
            draws = rng.integers(0, members.size, size=(size, members.size))
            draws += np.arange(size)[:, None] * members.size  # one bincount for the block
            counts[:, members] = np.bincount(draws.ravel(), minlength=draws.size).reshape(
                size, members.size)
        yield counts


def _bootstrap_metrics(metrics: Sequence[str], labels: np.ndarray, models: list[_Scored],
                       resamples: int, seed: int) -> dict[str, list[np.ndarray]]:
    """Each metric of each model on the same resamples (paired when there are two models):
    the draw counts, a third of a bootstrap's cost, are made once for all the metrics."""
    for metric in metrics:
        _metric(metric)  # an unknown name fails here, before any work
    draws: dict[str, list[list[np.ndarray]]] = {m: [[] for _ in models] for m in metrics}
    for counts in stratified_counts(labels, resamples, seed):
        blocks = [_Block(scored, counts) for scored in models]
        for metric in metrics:
            for model_draws, block in zip(draws[metric], blocks, strict=True):
                model_draws.append(_metric(metric).draws(block))
    return {m: [np.concatenate(parts) for parts in draws[m]] for m in metrics}


def _bootstrap(metric: str, labels: np.ndarray, models: list[_Scored], resamples: int,
               seed: int) -> list[np.ndarray]:
    """Each model's metric on the same resamples (paired when there are two)."""
    return _bootstrap_metrics((metric,), labels, models, resamples, seed)[metric]


def _check(labels: np.ndarray, *arrays: np.ndarray) -> None:
    if np.unique(labels).size < 2:
        raise ValueError("bootstrap intervals need both classes among the labels")
    if any(a.shape != labels.shape for a in arrays):
        raise ValueError("labels and scores must have the same length")


def _interval(estimate: float, draws: np.ndarray, level: float) -> Interval:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), level, int(draws.size))


def metric_interval(
    metric: str, labels: ArrayLike, probabilities: ArrayLike, threshold: float,
    resamples: int = 1000, seed: int = 0, level: float = 0.95, max_rows: int | None = MAX_ROWS,
) -> Interval:
    """The metric on all rows, and its bootstrap interval (rescaled from a subsample of
    ``max_rows`` rows above that many; None: every row)."""
    return metric_intervals((metric,), labels, probabilities, threshold, resamples, seed,
                            level, max_rows)[metric]


def metric_intervals(
    metrics: Sequence[str], labels: ArrayLike, probabilities: ArrayLike, threshold: float,
    resamples: int = 1000, seed: int = 0, level: float = 0.95, max_rows: int | None = MAX_ROWS,
) -> dict[str, Interval]:
    """``metric_interval`` of each metric, from one set of resamples: the same intervals as
    one call per metric (same seed, same draws) for a fraction of the cost."""
    scores = {metric: _metric(metric).score for metric in metrics}
    y, p = np.asarray(labels), np.asarray(probabilities, dtype=float)
    _check(y, p)
    yhat = (p >= threshold).astype(int)
    estimates = {metric: score(y, p, yhat) for metric, score in scores.items()}
    if max_rows is None or y.size <= max_rows:
        draws = _bootstrap_metrics(metrics, y, [_Scored.of(y, p, yhat)], resamples, seed)
        return {m: _interval(estimates[m], draws[m][0], level) for m in metrics}
    rows = stratified_subsample(y, max_rows, seed)
    ys, ps, yhats = y[rows], p[rows], yhat[rows]
    draws = _bootstrap_metrics(metrics, ys, [_Scored.of(ys, ps, yhats)], resamples, seed)
    scale = np.sqrt(rows.size / y.size)
    return {m: _interval(estimates[m], estimates[m] + (draws[m][0] - scores[m](ys, ps, yhats))
                         * scale, level) for m in metrics}


def paired_delta_draws(
    metric: str, labels: ArrayLike, candidate: ArrayLike, candidate_threshold: float,
    champion: ArrayLike, champion_threshold: float, resamples: int = 1000, seed: int = 0,
) -> tuple[float, np.ndarray]:
    """metric(candidate) - metric(champion) on all rows, and on every paired resample."""
    score = _metric(metric).score
    y = np.asarray(labels)
    p_new, p_old = np.asarray(candidate, dtype=float), np.asarray(champion, dtype=float)
    _check(y, p_new, p_old)
    yhat_new = (p_new >= candidate_threshold).astype(int)
    yhat_old = (p_old >= champion_threshold).astype(int)
    new, old = _bootstrap(metric, y, [_Scored.of(y, p_new, yhat_new),
                                      _Scored.of(y, p_old, yhat_old)], resamples, seed)
    return score(y, p_new, yhat_new) - score(y, p_old, yhat_old), new - old


def paired_delta_interval(
    metric: str, labels: ArrayLike, candidate: ArrayLike, candidate_threshold: float,
    champion: ArrayLike, champion_threshold: float,
    resamples: int = 1000, seed: int = 0, level: float = 0.95,
) -> Interval:
    """metric(candidate) - metric(champion) on the same rows, and its paired interval."""
    estimate, draws = paired_delta_draws(metric, labels, candidate, candidate_threshold,
                                         champion, champion_threshold, resamples, seed)
    return _interval(estimate, draws, level)
