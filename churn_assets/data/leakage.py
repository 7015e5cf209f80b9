"""Columns that may have been written after the outcome, found on train rows before tuning.

Real churn exports carry columns filled in *because* a customer left: a churn reason, a
cancellation date, a vendor's score computed from the outcome, the label again under another
name. Each makes a near-perfect test score and a model that is useless on customers who have
not left yet. Per feature column, on train rows only (a seeded sample of at most
``SAMPLE_ROWS``), three pieces of evidence:

- **alone**: the out-of-fold ROC-AUC of the column by itself (numeric: a depth-limited tree,
  missing values included; categorical: the per-level churn rate, smoothed). A copy or a
  recoding of the label scores ~1.0; the strongest honest predictors of the tables measured
  here stay far below (Telco's ``Contract`` 0.73, ``tenure`` 0.73; see docs/trust.md).
- **missingness**: the ROC-AUC of "value present" alone, with the share present among
  churners and the others (a cancellation date present only for leavers).
- **churners only**: the share of the train churners that sit in values (levels, tree
  leaves, the missing or the present state) holding no more than ``PURE_OTHERS``
  non-churners, with at least ``MIN_REGION_ROWS`` rows in all (a reason filled in only for
  churners).

A column is a suspect when its out-of-fold ROC-AUC alone or its missingness ROC-AUC reaches
``LeakageConfig.max_auc``, or its churners-only share reaches ``max_churners_only``; the YAML
settles it by ``drop:`` or ``leakage: {allow: {column: "why it is known in advance"}}``.
Pure logic: pandas, numpy and scikit-learn only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churn_assets.dataset_config import DatasetConfig

# sklearn is imported where it is used: the definitions import this module, and
# loading them (code server, sensor, `dg check defs`) fits no probe.

SAMPLE_ROWS = 50_000  # train rows looked at: enough to see a leak, seconds on any table
FOLDS = 5
TREE_DEPTH = 3
SMOOTHING = 10.0  # prior rows behind a level's churn rate (rare levels shrink to the base)
PURE_OTHERS = 0.01  # a churners-only value holds at most this share of non-churners
MIN_LEVEL_ROWS = 5  # smaller levels never count as churners-only (chance, not signal)
MIN_REGION_ROWS = 20  # honest columns of the tables measured never came close
MIN_CHURNERS = 10  # fewer train churners: no check (nothing to measure)
MISSING = "(missing)"


class LeakageError(ValueError):
    """Columns look written after the outcome; one message per column."""


@dataclass(frozen=True)
class ColumnEvidence:
    column: str
    kind: str  # numeric | categorical
    auc: float  # out-of-fold ROC-AUC of the column alone
    missing_auc: float | None  # ROC-AUC of "value present" alone; None: never missing
    present_churners: float  # share of churners with a value
    present_others: float
    churners_only: float  # share of churners in churners-only values
    churners_only_values: str  # which values those are (for the message)
    findings: tuple[str, ...] = ()  # why it is a suspect; empty: not a suspect
    allowed: str = ""  # the YAML's reason it is known in advance

    @property
    def suspect(self) -> bool:
        return bool(self.findings) and not self.allowed

    def evidence(self) -> str:
        parts = [f"alone it predicts the target with out-of-fold ROC-AUC {self.auc:.3f}"]
        if self.missing_auc is not None:
            parts.append(f"a value is present for {self.present_churners:.1%} of churners and "
                         f"{self.present_others:.1%} of the others (missingness ROC-AUC "
                         f"{self.missing_auc:.3f})")
        if self.churners_only:
            parts.append(f"{self.churners_only:.1%} of churners hold values only churners "
                         f"hold ({self.churners_only_values})")
        return "; ".join(parts)


@dataclass(frozen=True)
class LeakageReport:
    rows: int  # train rows looked at
    churners: int
    max_auc: float
    max_churners_only: float
    columns: tuple[ColumnEvidence, ...] = ()
    skipped: str = ""  # why nothing was measured, if so

    @property
    def suspects(self) -> list[ColumnEvidence]:
        return [c for c in self.columns if c.suspect]

    def messages(self) -> list[str]:
        """One message per suspect column: its name, the evidence, the YAML line."""
        return [
            f"column '{c.column}' may be written after the outcome ({'; '.join(c.findings)}): "
            f"{c.evidence()}, on {self.rows} train rows. Settle it in the dataset YAML: "
            f"`drop: [{c.column}]` if it is not known before a customer leaves, or "
            f"`leakage: {{allow: {{{c.column}: \"<why it is known in advance>\"}}}}`"
            for c in self.suspects]

    def raise_if_suspects(self) -> None:
        if self.suspects:
            raise LeakageError("training stopped before tuning, a column may leak the "
                               "outcome:\n- " + "\n- ".join(self.messages()))

    def table(self) -> pd.DataFrame:
        """One row per column, strongest first (metadata and the model card)."""
        rows = [{"column": c.column, "auc_alone": round(c.auc, 4),
                 "missing_auc": None if c.missing_auc is None else round(c.missing_auc, 4),
                 "churners_only": round(c.churners_only, 4),
                 "verdict": ("suspect" if c.suspect else f"allowed: {c.allowed}"
                             if c.findings else "ok")}
                for c in sorted(self.columns, key=lambda c: -c.auc)]
        return pd.DataFrame(rows, columns=["column", "auc_alone", "missing_auc",
                                           "churners_only", "verdict"])

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "churners": self.churners, "max_auc": self.max_auc,
                "max_churners_only": self.max_churners_only, "skipped": self.skipped,
                "columns": [asdict(c) | {"findings": list(c.findings)} for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeakageReport:
        columns = tuple(ColumnEvidence(**(c | {"findings": tuple(c["findings"])}))
                        for c in data.get("columns", []))
        return cls(data["rows"], data["churners"], data["max_auc"], data["max_churners_only"],
                   columns, data.get("skipped", ""))


def _blank_to_nan(values: pd.Series) -> pd.Series:
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return values.replace(r"^\s*$", np.nan, regex=True)
    return values


Folds = list[tuple[np.ndarray, np.ndarray]]


def fold_rows(y: np.ndarray, seed: int) -> Folds:
    """The (fit, held-out) row positions of the out-of-fold scores: they depend on the labels
    only, so one report computes them once for all its columns."""
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(y)), y))


def _out_of_fold(x: pd.Series, y: np.ndarray, numeric: bool, seed: int,
                 folds: Folds | None = None) -> np.ndarray:
    from sklearn.tree import DecisionTreeClassifier

    scores = np.zeros(len(y))
    leaf = max(10, len(y) // 200)
    values = x.to_numpy()
    # categorical: the smoothed churn rate per level, counted with bincount over the level
    # codes (a pandas groupby and map per fold cost ten times as much); a level absent from
    # the fit rows gets the base rate
    codes = None if numeric else pd.factorize(values)[0]
    for fit, held in folds if folds is not None else fold_rows(y, seed):
        if numeric:
            tree = DecisionTreeClassifier(max_depth=TREE_DEPTH, min_samples_leaf=leaf,
                                          random_state=seed)
            tree.fit(values[fit].reshape(-1, 1), y[fit])
            scores[held] = tree.predict_proba(values[held].reshape(-1, 1))[:, -1]
        else:
            base = y[fit].mean()
            size = np.bincount(codes[fit], minlength=codes.max() + 1)
            churned = np.bincount(codes[fit], weights=y[fit], minlength=codes.max() + 1)
            rate = (churned + SMOOTHING * base) / (size + SMOOTHING)
            scores[held] = np.where(size[codes[held]] > 0, rate[codes[held]], base)
    return scores


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if np.unique(score).size > 1 else 0.5


def _churners_only(groups: pd.Series, y: np.ndarray) -> tuple[float, str]:
    """Share of churners in groups (levels or leaves) that hold almost only churners."""
    counts = pd.DataFrame({"g": groups.to_numpy(), "y": y}).groupby("g")["y"].agg(["size", "sum"])
    others = counts["size"] - counts["sum"]
    pure = counts[(counts["size"] >= MIN_LEVEL_ROWS) & (others <= PURE_OTHERS * counts["size"])
                  & (counts["sum"] > 0)]
    if pure["size"].sum() < MIN_REGION_ROWS:
        return 0.0, ""
    names = [str(name) for name in pure.sort_values("sum", ascending=False).index[:3]]
    more = f" and {len(pure) - 3} more" if len(pure) > 3 else ""
    return float(pure["sum"].sum() / y.sum()), ", ".join(names) + more


def _leaf_names(x: pd.Series, y: np.ndarray, seed: int) -> pd.Series:
    """Each row's leaf of one depth-limited tree on the column, named by its value range."""
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=TREE_DEPTH, min_samples_leaf=MIN_LEVEL_ROWS,
                                  random_state=seed).fit(x.to_numpy().reshape(-1, 1), y)
    leaves = tree.apply(x.to_numpy().reshape(-1, 1))
    frame = pd.DataFrame({"leaf": leaves, "x": x.to_numpy()})
    ranges = frame.groupby("leaf")["x"].agg(["min", "max"])
    missing = frame[frame["x"].isna()]["leaf"].unique()
    names = {leaf: (MISSING if leaf in missing and np.isnan(row["min"]) else
                    f"{row['min']:g}..{row['max']:g}") for leaf, row in ranges.iterrows()}
    return pd.Series(leaves, index=x.index).map(names)


def column_evidence(values: pd.Series, y: np.ndarray, numeric: bool, seed: int = 0,
                    folds: Folds | None = None) -> ColumnEvidence:
    """The three pieces of evidence for one column (no verdict: see ``judge``); ``folds``:
    ``fold_rows(y, seed)``, when the caller has them already."""
    values = _blank_to_nan(values)
    present = values.notna().to_numpy()
    if numeric:
        x = pd.to_numeric(values, errors="coerce").astype("float64")
        groups = _leaf_names(x, y, seed)
    else:
        x = values.astype("string").str.strip().fillna(MISSING).astype(str)
        groups = x
    auc = _auc(y, _out_of_fold(x, y, numeric, seed, folds))
    missing_auc = None
    if 0 < present.sum() < present.size:
        raw = _auc(y, present.astype(float))
        missing_auc = max(raw, 1 - raw)
    share, names = _churners_only(groups, y)
    present_share = _churners_only(pd.Series(np.where(present, "(present)", MISSING)), y)
    if present_share[0] > share:  # e.g. a date of many distinct days, only for leavers
        share, names = present_share
    return ColumnEvidence(
        str(values.name), "numeric" if numeric else "categorical", auc, missing_auc,
        float(present[y == 1].mean()), float(present[y == 0].mean()), share, names)


def judge(evidence: ColumnEvidence, max_auc: float, max_churners_only: float,
          allowed: str = "") -> ColumnEvidence:
    findings = []
    if evidence.auc >= 0.99:
        findings.append("a near-copy of the target")
    elif evidence.auc >= max_auc:
        findings.append(f"alone it predicts the target at ROC-AUC >= {max_auc:g}")
    if evidence.missing_auc is not None and evidence.missing_auc >= max_auc:
        findings.append("its missingness follows the target")
    if evidence.churners_only >= max_churners_only:
        findings.append(f"{evidence.churners_only:.0%} of churners hold values no "
                        "non-churner holds")
    return ColumnEvidence(**(asdict(evidence) | {"findings": tuple(findings),
                                                 "allowed": allowed}))


def train_sample(frame: pd.DataFrame, config: DatasetConfig,
                 seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The train rows (the split the pipeline will make, from the id's hash) and their 0/1
    labels; a seeded sample of at most ``SAMPLE_ROWS``."""
    from churn_assets.data.column_roles import coerce_target_labels
    from churn_assets.data.splits import assign_splits, binary_target

    known = config.expectations.value_sets.get(config.target, ())
    frame, _ = coerce_target_labels(frame, config.target, config.positive_label, known)
    frame = frame[frame[config.target].notna()]
    train = frame[(assign_splits(frame[config.id_column], config.split) == "train").to_numpy()]
    if len(train) > SAMPLE_ROWS:
        train = train.sample(SAMPLE_ROWS, random_state=seed)
    return train, binary_target(train[config.target], config.positive_label).to_numpy()


def leakage_report(frame: pd.DataFrame, config: DatasetConfig, numeric: tuple[str, ...],
                   categorical: tuple[str, ...], seed: int = 0) -> LeakageReport:
    """Evidence and verdict for every feature column, on the train rows of ``frame`` (raw
    rows with the target and the id column)."""
    settings = config.leakage
    limits = {"max_auc": settings.max_auc, "max_churners_only": settings.max_churners_only}
    if not settings.check:
        return LeakageReport(0, 0, **limits, skipped="off (YAML leakage.check: false)")
    if config.target not in frame or config.id_column not in frame:
        return LeakageReport(0, 0, **limits, skipped="no target or id column in these rows")
    train, y = train_sample(frame, config, seed)
    churners = int(y.sum())
    if min(churners, len(y) - churners) < MIN_CHURNERS:
        return LeakageReport(len(y), churners, **limits,
                             skipped=f"fewer than {MIN_CHURNERS} of a class in train rows")
    columns, folds = [], fold_rows(y, seed)
    for column in [*numeric, *categorical]:
        evidence = column_evidence(train[column], y, column in numeric, seed, folds)
        columns.append(judge(evidence, **limits, allowed=settings.allow.get(column, "")))
    return LeakageReport(len(y), churners, **limits, columns=tuple(columns))


def stop_on_leakage(column_roles: dict[str, Any]) -> None:
    """Raise ``LeakageError`` when the ``column_roles`` asset's check found suspects."""
    if column_roles.get("leakage"):
        LeakageReport.from_dict(column_roles["leakage"]).raise_if_suspects()


def card_rows(column_roles: dict[str, Any], top: int = 5) -> dict[str, Any]:
    """The model card's view: the limits, the strongest columns alone, allowed ones."""
    if not column_roles.get("leakage"):
        return {}
    report = LeakageReport.from_dict(column_roles["leakage"])
    return {"limits": {"max_auc": report.max_auc,
                       "max_churners_only": report.max_churners_only},
            "rows": report.rows, "skipped": report.skipped,
            "strongest": report.table().head(top).to_dict("records")}


@dataclass(frozen=True)
class Proposal:
    """What ``init`` writes for the suspects: a drop, with the evidence as the reason."""

    drop: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def propose(report: LeakageReport) -> Proposal:
    return Proposal([c.column for c in report.suspects],
                    [f"drop '{c.column}': may be written after the outcome "
                     f"({'; '.join(c.findings)}): {c.evidence()}; if it is known before a "
                     f"customer leaves, keep it with leakage.allow.{c.column}: \"<why>\""
                     for c in report.suspects])
