"""Raw rows -> typed rows for validation, with every coercion said in a sentence.

The validated_customers asset calls ``prepare_customers``; the notes go to its log and
metadata so a user sees what was changed before the checks ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from churn_assets.data.column_roles import (
    ColumnRoles,
    coerce_numeric,
    coerce_target_labels,
    infer_column_roles,
)
from churn_assets.dataset_config import DatasetConfig


@dataclass(frozen=True)
class PreparedCustomers:
    frame: pd.DataFrame
    roles: ColumnRoles
    notes: tuple[str, ...]
    blanks_to_missing: dict[str, int]


def prepare_customers(raw: pd.DataFrame, config: DatasetConfig,
                      roles: ColumnRoles | None = None) -> PreparedCustomers:
    """Target labels spelled one way, blank numeric text -> missing.

    ``roles`` are the column roles decided once upstream (the column_roles asset); they are
    inferred here only when not given, for callers outside the asset graph.
    """
    known = config.expectations.value_sets.get(config.target, ())
    frame, notes = coerce_target_labels(raw, config.target, config.positive_label, known)
    roles = roles if roles is not None else infer_column_roles(frame, config)
    typed, blanks = coerce_numeric(frame, roles.numeric)
    notes += [f"column '{c}': {n} blank value(s) read as missing" for c, n in blanks.items()]
    notes += [f"column '{c}' not used as a feature: {why}" for c, why in roles.dropped.items()
              if why != "dropped by config"]
    return PreparedCustomers(typed, roles, tuple(notes), blanks)
