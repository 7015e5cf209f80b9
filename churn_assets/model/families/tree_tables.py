"""XGBoost's own TreeSHAP contributions for a request's rows, bit for bit, from per-tree tables.

XGBoost (``pred_contribs=True``, CPU) computes each tree's contributions into a float32
vector and adds that vector to the row's total, tree after tree. A tree's vector depends on
the row only through the branch it takes at each split node (its decision pattern; a missing
value takes the default branch), so it is the same for every row of that pattern. Here each
tree's vector per pattern is asked from XGBoost once, on one row of that pattern, from a
one-tree slice of the booster (whose total is that tree's vector exactly), and kept. A
request's rows then compute their patterns (a few vectorised comparisons for all trees at
once), look the vectors up and add them in float32 in tree order: the additions XGBoost
makes, so the same bits. The bias column is the same for every row (the trees' means and
the base score) and is XGBoost's, asked once.

Learning costs a one-tree XGBoost call per tree with new patterns (~0.4 ms each: 85 trees,
35 ms for one cold row), so only a call of at least ``LEARN_ROWS`` rows learns (its rows
share those calls); a smaller call uses the tables when they hold all its patterns and
XGBoost's own ``pred_contribs`` otherwise. Measured in process (85 trees of depth <= 6, one
OpenMP thread): a model's predict of 1,000 rows with reasons 113 -> 47 ms CPU; a known
one-row pattern 0.12 ms against XGBoost's 0.56.

Used only where it is shown to hold: gbtree with one tree per round, numeric splits, at most
64 split nodes per tree, and a check at first use against XGBoost on rows placed on, just
below and missing at every threshold (a mismatch: XGBoost's own recursion from then on).
A matrix holding an infinite value goes to XGBoost unchanged (which refuses it).

Shipped inside every logged model with the ``families`` package: numpy and xgboost only.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import numpy as np
import xgboost as xgb

MAX_SPLITS = 64  # a pattern is a uint64: one bit per split node
MAX_PATTERNS = 200_000  # table rows kept (x features x 4 bytes); past it, XGBoost itself
CHECK_ROWS = 256  # rows of the first-use check
FEW_ROWS = 8  # up to this many rows: per-row gathers summed by accumulate, else per tree
LEARN_ROWS = 32  # calls with fewer rows never learn (new patterns: XGBoost for the call)
DENSE_SPLITS = 16  # trees with at most this many splits also index patterns by an array


class TreeTables:
    """Per-booster state: the split nodes of every tree and the vectors learnt so far."""

    def __init__(self, booster: xgb.Booster):
        self.booster = booster
        self.usable: bool | None = None  # None: not looked at yet
        self.answered = {"tables": 0, "xgboost": 0}  # calls, for the tests and a profile
        self._lock = threading.RLock()  # _prepare's check learns too
        self._single: dict[int, xgb.Booster] = {}

    # --- preparation ----------------------------------------------------------------------
    def _prepare(self, width: int) -> None:
        learner = json.loads(self.booster.save_raw("json"), parse_float=str)["learner"]
        model = learner["gradient_booster"]
        if model.get("name") != "gbtree":
            return
        trees = model["model"]["trees"]
        if len(trees) != self.booster.num_boosted_rounds():  # forests, several classes
            return
        features, thresholds, default_left, bits, starts, kept, dense = [], [], [], [], [], [], []
        for number, raw in enumerate(trees):
            left = np.asarray(raw["left_children"])
            nodes = np.flatnonzero(left != -1)
            if nodes.size > MAX_SPLITS or any(raw.get("split_type") or [0]):
                return
            if nodes.size == 0:  # a single leaf: all its feature contributions are zero
                continue
            conditions = [raw["split_conditions"][n] for n in nodes]
            exact = [_float32(text) for text in conditions]
            if any(value is None for value in exact):
                return
            starts.append(len(features))
            kept.append(number)
            dense.append(np.full(1 << nodes.size, -1, dtype=np.intp)
                         if nodes.size <= DENSE_SPLITS else None)
            features += [int(raw["split_indices"][n]) for n in nodes]
            thresholds += exact
            default_left += [bool(raw["default_left"][n]) for n in nodes]
            bits += [1 << b for b in range(nodes.size)]
        if not features or max(features) >= width:
            return  # no split at all, or a feature the rows do not have: XGBoost itself
        self._features = np.asarray(features, dtype=np.intp)
        self._thresholds = np.asarray(thresholds, dtype=np.float32)
        self._default_left = np.asarray(default_left, dtype=bool)
        self._bits = np.asarray(bits, dtype=np.uint64)
        self._starts = np.asarray(starts, dtype=np.intp)
        self._trees = kept  # booster tree index of each code column
        self._slots: list[dict[int, int]] = [{} for _ in kept]  # pattern -> table row
        self._dense: list[np.ndarray | None] = dense  # the same as arrays (-1: unknown)
        self._table = np.zeros((64, width), dtype=np.float32)
        self._count = 0
        self._width = width
        self._bias = None
        self.usable = True
        check = self._check_rows(width)
        if not np.array_equal(self._contributions(check), self._xgboost(check)):
            self.usable = False

    def _check_rows(self, width: int) -> np.ndarray:
        """Rows with every feature on one of its thresholds, just below one, or missing."""
        rng = np.random.default_rng(0)
        rows = np.full((CHECK_ROWS, width), np.nan, dtype=np.float32)
        for feature in range(width):
            at = self._thresholds[self._features == feature]
            if at.size == 0:
                continue
            below = np.nextafter(at, np.float32(-np.inf))
            choices = np.concatenate([at, below, [np.nan]]).astype(np.float32)
            rows[:, feature] = rng.choice(choices, size=CHECK_ROWS)
        return rows

    # --- contributions --------------------------------------------------------------------
    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Rows x (features + 1) log-odds contributions, bias last: ``pred_contribs``'."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        if self.usable is None:
            with self._lock:
                if self.usable is None:
                    self.usable = False  # unless _prepare shows it holds
                    self._prepare(matrix.shape[1])
        result = None
        if (self.usable and matrix.shape[1] == self._width and len(matrix)
                and not np.isinf(matrix).any()):
            result = self._contributions(matrix, learn=len(matrix) >= LEARN_ROWS)
        self.answered["xgboost" if result is None else "tables"] += 1
        return self._xgboost(matrix) if result is None else result

    def _contributions(self, matrix: np.ndarray, learn: bool = True) -> np.ndarray | None:
        codes = self._codes(matrix)
        slots = self._lookup(matrix, codes, learn)
        if slots is None:
            return None
        table = self._table  # read after the lookups: holds every slot they gave
        if len(matrix) <= FEW_ROWS:
            gathered = table[slots.T]  # trees x rows x features
            start = np.zeros((1, *gathered.shape[1:]), dtype=np.float32)  # XGBoost's +0
            total = np.add.accumulate(np.concatenate([start, gathered]), axis=0)[-1]
        else:
            total = np.zeros((len(matrix), self._width), dtype=np.float32)
            for column in slots.T:  # tree order, as XGBoost adds them
                total += table[column]
        if self._bias is None:
            self._bias = float(self._xgboost(matrix[:1])[0, -1])
        out = np.empty((len(matrix), self._width + 1))
        out[:, :-1] = total
        out[:, -1] = self._bias
        return out

    def _codes(self, matrix: np.ndarray) -> np.ndarray:
        """Rows x trees: each tree's decision pattern (bit set: the left branch)."""
        values = matrix[:, self._features]
        left = (values < self._thresholds) | (np.isnan(values) & self._default_left)
        return np.bitwise_or.reduceat(np.where(left, self._bits, np.uint64(0)), self._starts,
                                      axis=1)

    def _lookup(self, matrix: np.ndarray, codes: np.ndarray, learn: bool
                ) -> np.ndarray | None:
        """Rows x trees table rows; unknown patterns learnt from XGBoost first (None: some
        unknown and ``learn`` off, or the tables full)."""
        missing: dict[int, dict[int, int]] = {}  # column -> new pattern -> a row of it
        if len(matrix) <= FEW_ROWS:  # a few rows: each code looked up as it is
            listed = codes.tolist()
            for row, row_codes in enumerate(listed):
                for column, (known, code) in enumerate(zip(self._slots, row_codes,
                                                           strict=True)):
                    if code not in known:
                        if not learn:
                            return None
                        missing.setdefault(column, {}).setdefault(code, row)
            if missing and not self._learn(matrix, missing):
                return None
            return np.array([[known[code] for known, code in zip(self._slots, row_codes,
                                                                 strict=True)]
                             for row_codes in listed], dtype=np.intp)
        columns = []  # many rows: an array lookup, or each distinct code looked up once
        for column, (known, dense) in enumerate(zip(self._slots, self._dense, strict=True)):
            if dense is not None:
                unknown = np.flatnonzero(dense[codes[:, column]] < 0)
                distinct, first = np.unique(codes[unknown, column], return_index=True)
                columns.append(None)
                pairs = zip(distinct.tolist(), unknown[first].tolist(), strict=True)
            else:
                distinct, first, inverse = np.unique(codes[:, column], return_index=True,
                                                     return_inverse=True)
                columns.append((distinct.tolist(), inverse))
                pairs = ((code, row) for code, row in zip(columns[-1][0], first.tolist(),
                                                          strict=True) if code not in known)
            for code, row in pairs:
                if not learn:
                    return None
                missing.setdefault(column, {})[code] = row
        if missing and not self._learn(matrix, missing):
            return None
        slots = np.empty(codes.shape, dtype=np.intp)
        for column, (unique, known) in enumerate(zip(columns, self._slots, strict=True)):
            if unique is None:
                slots[:, column] = self._dense[column][codes[:, column]]
                continue
            keys, inverse = unique
            found = np.fromiter((known[code] for code in keys), dtype=np.intp, count=len(keys))
            slots[:, column] = found[inverse]
        return slots

    def _learn(self, matrix: np.ndarray, missing: dict[int, dict[int, int]]) -> bool:
        """XGBoost's vector of each tree for one row of each new pattern, into the table."""
        with self._lock:
            todo = {column: {code: row for code, row in patterns.items()
                             if code not in self._slots[column]}
                    for column, patterns in missing.items()}
            new = sum(len(patterns) for patterns in todo.values())
            if self._count + new > MAX_PATTERNS:
                return False
            if self._count + new > len(self._table):
                grown = np.zeros((max(2 * len(self._table), self._count + new), self._width),
                                 dtype=np.float32)
                grown[:self._count] = self._table[:self._count]
                self._table = grown  # readers holding the old one index only its rows
            for column, patterns in todo.items():
                if not patterns:
                    continue
                rows = matrix[list(patterns.values())]
                vectors = self._tree(self._trees[column]).predict(
                    xgb.DMatrix(rows), pred_contribs=True, validate_features=False)[:, :-1]
                self._table[self._count:self._count + len(rows)] = vectors
                dense = self._dense[column]
                for offset, code in enumerate(patterns):  # published after the vectors
                    self._slots[column][code] = self._count + offset
                    if dense is not None:
                        dense[code] = self._count + offset
                self._count += len(rows)
            return True

    def _tree(self, number: int) -> xgb.Booster:
        if number not in self._single:
            self._single[number] = self.booster[number:number + 1]
        return self._single[number]

    def _xgboost(self, rows: np.ndarray) -> np.ndarray:
        return self.booster.predict(xgb.DMatrix(rows), pred_contribs=True,
                                    validate_features=False).astype("float64")


def _float32(text: str) -> float | None:
    """The float32 that XGBoost's decimal text of a threshold names, or None when going
    through float64 (json's parse) could round it differently."""
    value = np.float32(float(text))
    shortest = np.format_float_scientific(value, unique=True)
    return float(value) if Decimal(shortest) == Decimal(text) else None
