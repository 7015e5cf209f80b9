"""The champion's answers for a whole snapshot, as a retention contact list.

The served model ranks the rows of one ``predict`` call; a snapshot is scored in batches
(``batch_scoring``), so rank and contact are recomputed here over the whole list with the
decision the model carries.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from churn_assets.model.decision_policy import RetentionDecision, ranks
from churn_assets.model.reason_codes import REASON_COLUMNS
from churn_assets.names import OUTPUT_COLUMNS, PREDICTION

SCORE_PARAMS = {"economics": True, "reasons": True}


def served_decision(model: Any) -> RetentionDecision | None:
    """The decision inside a loaded pyfunc; None for a model logged before decisions existed."""
    return getattr(model.unwrap_python_model(), "decision", None)


def contact_list(ids: pd.DataFrame, answers: pd.DataFrame,
                 decision: RetentionDecision | None) -> pd.DataFrame:
    """``ids`` (the id column) beside the answers: ``churn_probability``, ``churn_prediction``,
    with economics ``expected_value``, ``rank``, ``contact`` over the whole list, and the
    reasons when the model gave them. Rows keep their order; ``rank`` 1 is the best contact."""
    answers = answers.reset_index(drop=True)
    table = pd.concat([ids.reset_index(drop=True), answers[list(OUTPUT_COLUMNS)]], axis=1)
    if decision is not None and decision.economics is not None and "expected_value" in answers:
        value = answers["expected_value"].to_numpy(float)
        table["expected_value"] = value
        table["rank"] = ranks(value)
        table["contact"] = decision.contact(table[PREDICTION].to_numpy(), value)
    for column in REASON_COLUMNS:
        if column in answers:
            table[column] = answers[column]
    return table


def campaign_figures(table: pd.DataFrame) -> dict[str, float]:
    """Customers to contact and the campaign's expected value (sum over them)."""
    if "contact" not in table:
        return {}
    chosen = table["contact"].astype(bool)
    return {"to_contact": int(chosen.sum()),
            "campaign_expected_value": float(table.loc[chosen, "expected_value"].sum())}
