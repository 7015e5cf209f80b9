"""What contacting a customer is worth: one expected-profit formula, and customer values.

Shipped inside every logged model (MLflow ``code_paths``): it imports nothing from the
package, only numpy and pandas.

The formula is the per-customer form of the profit of a retention campaign in Verbeke,
Dejaeger, Martens, Hur and Baesens, "New insights into churn prediction in the
telecommunication sector: A profit driven data mining approach", EJOR 218(1), 2012,
pp. 211-229 (the maximum-profit criterion behind EMP). A contacted customer costs the contact
``f``; a churner accepts the offer and stays with probability ``gamma`` (the retention rate),
keeping the customer value ``CLV`` and costing the incentive ``d``; a non-churner accepts the
incentive too (cost ``d``, no value gained, they would have stayed anyway). With a
calibrated churn probability ``p``::

    EV = p * [gamma * (CLV - d - f) + (1 - gamma) * (-f)] + (1 - p) * (-d - f)
       = p * gamma * CLV - d * (1 - p * (1 - gamma)) - f

Contacting is worth it when EV > 0. On labeled rows the *realized* expected profit of a
contact list replaces ``p`` by the label: ``gamma * (CLV - d) - f`` per contacted churner,
``-d - f`` per contacted non-churner (the expectation is over who accepts the offer).

The customer value is a number or an arithmetic expression over columns
(``MonthlyCharges * 12``), parsed with ``ast`` and evaluated over a whitelist of nodes:
numbers, column names, ``+ - * /``, unary minus and parentheses. Anything else (calls,
attributes, subscripts, comparisons, ``**``) is refused with one line naming it; the text
is never handed to ``eval``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class ValueExpressionError(ValueError):
    """The customer_value expression is not plain arithmetic over columns."""


@dataclass(frozen=True)
class Economics:
    """Campaign economics (dataset YAML ``economics``), plain JSON-able data."""

    contact_cost: float
    incentive_cost: float
    retention_rate: float
    customer_value: float | str  # a number, or an arithmetic expression over columns

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Economics:
        value = data["customer_value"]
        return cls(float(data["contact_cost"]), float(data["incentive_cost"]),
                   float(data["retention_rate"]),
                   value if isinstance(value, str) else float(value))


def _parse(expression: str) -> ast.expr:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueExpressionError(
            f"'customer_value' '{expression}' is not an arithmetic expression: {error.msg}"
        ) from None
    for node in ast.walk(tree):
        allowed = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load,
                                    *_BINARY, *_UNARY))
        if isinstance(node, ast.Constant):
            allowed = isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
        if not allowed:
            raise ValueExpressionError(
                f"'customer_value' '{expression}': {type(node).__name__} is not allowed (only "
                "numbers, column names, + - * / and parentheses)")
    return tree.body


def expression_columns(expression: float | str) -> list[str]:
    """The columns a customer_value reads (none for a number); refuses a bad expression."""
    if not isinstance(expression, str):
        return []
    body = _parse(expression)
    return list(dict.fromkeys(n.id for n in ast.walk(body) if isinstance(n, ast.Name)))


def _evaluate(node: ast.expr, rows: pd.DataFrame) -> pd.Series | float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        # Text columns (the Telco CSV stores charges as text) read as numbers; blank is missing.
        return pd.to_numeric(rows[node.id], errors="coerce").astype(float)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, rows))
    return _BINARY[type(node.op)](_evaluate(node.left, rows), _evaluate(node.right, rows))


def customer_values(expression: float | str, rows: pd.DataFrame) -> np.ndarray:
    """Each row's customer value; a missing or non-finite value counts as 0 (no gain)."""
    if not isinstance(expression, str):
        return np.full(len(rows), float(expression))
    body = _parse(expression)
    missing = [c for c in expression_columns(expression) if c not in rows.columns]
    if missing:
        raise ValueExpressionError(f"'customer_value' '{expression}' reads missing column(s): "
                                   f"{', '.join(missing)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        values = _evaluate(body, rows)
    values = np.broadcast_to(np.asarray(values, dtype=float), (len(rows),)).copy()
    values[~np.isfinite(values)] = 0.0
    return values


def expected_value(probabilities: np.ndarray, values: np.ndarray,
                   economics: Economics) -> np.ndarray:
    """EV of contacting each customer (module docstring), from calibrated probabilities."""
    p = np.asarray(probabilities, dtype=float)
    gamma, d, f = economics.retention_rate, economics.incentive_cost, economics.contact_cost
    return p * gamma * np.asarray(values, dtype=float) - d * (1 - p * (1 - gamma)) - f


def realized_value(labels: np.ndarray, values: np.ndarray, economics: Economics) -> np.ndarray:
    """What contacting each labeled customer yields: ``gamma (CLV - d) - f`` for a churner,
    ``-d - f`` for a non-churner."""
    y = np.asarray(labels).astype(bool)
    gamma, d, f = economics.retention_rate, economics.incentive_cost, economics.contact_cost
    return np.where(y, gamma * (np.asarray(values, dtype=float) - d) - f, -d - f)


def expected_profit(labels: np.ndarray, probabilities: np.ndarray, decision: float | np.ndarray,
                    values: np.ndarray, economics: Economics) -> float:
    """The promotion metric ``expected_profit``: the campaign's profit on labeled rows.

    ``decision`` is a probability threshold (contact ``p >= threshold``) or a boolean contact
    mask of the rows (the policy's list). Larger is better."""
    p = np.asarray(probabilities, dtype=float)
    contact = (p >= float(decision)) if np.ndim(decision) == 0 \
        else np.asarray(decision).astype(bool)
    if contact.shape != p.shape:
        raise ValueError("the contact mask and the probabilities must cover the same rows")
    return float(realized_value(labels, values, economics)[contact].sum())
