"""A first dataset YAML proposed from the data: positive label, id, column roles, checks.

Each choice is a rule a person can check, and the YAML says which rule decided it:
- positive label: the target's value that reads as "churned" (yes, true, 1, churn...),
  else the rarer of the two values (churners are the minority in every churn table);
- id: a column whose values are all present and unique, preferring a name that says id;
  none -> no `id_column`, the pipeline derives `row_key` from each row's content;
- roles: the pipeline's own inference (``column_roles``), written out so it can be edited;
- leakage: columns the training run's leakage check would stop on (``data.leakage``)
  are proposed as drops, each with its evidence and the ``leakage.allow`` alternative;
- floors: ``promotion.floors`` from the table's baselines (F1 of flagging everyone at its
  churn rate, ROC-AUC 0.6);
- checks: value sets for categoricals with few levels, ``[0, null]`` ranges for numeric
  columns that are never negative, a row floor well below the table's size.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from churn_assets.data import leakage
from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.row_key import with_row_key
from churn_assets.data.source_errors import SourceError
from churn_assets.dataset_config import DERIVED_ID_COLUMN, parse_dataset_config

POSITIVE_WORDS = ("yes", "y", "true", "t", "1", "1.0", "churn", "churned", "exited", "left",
                  "attrited", "attrited customer", "cancelled", "canceled", "lost")
ID_NAME = re.compile(r"(^|[^a-z])(id|key|number|no|code|uuid)($|[^a-z])|id$", re.IGNORECASE)
WATERMARK_NAME = re.compile(r"updated|modified|last_?change|loaded_?at|ingested", re.IGNORECASE)
MAX_VALUE_SET = 20
ROC_AUC_FLOOR = 0.6


@dataclass(frozen=True)
class Proposal:
    config: dict[str, Any]
    reasons: list[str]  # one line per decision, written as comments above the YAML


def _positive_label(values: pd.Series, target: str) -> tuple[Any, str]:
    labels = values.dropna().unique().tolist()
    if len(labels) != 2:
        shown = ", ".join(map(repr, labels[:5]))
        raise SourceError(f"target '{target}' has {len(labels)} distinct values ({shown}): "
                          "a churn target has exactly two; pass --positive-label after "
                          "fixing the column")
    named = [v for v in labels if str(v).strip().casefold() in POSITIVE_WORDS]
    if len(named) == 1:
        return _plain(named[0]), f"positive_label {named[0]!r}: the value that reads as churned"
    counts = values.value_counts()
    rarer = counts.index[-1]
    return _plain(rarer), (f"positive_label {rarer!r}: the rarer value "
                           f"({counts.iloc[-1]} of {int(counts.sum())} rows)")


def _plain(value: Any) -> Any:
    # numpy scalars -> Python, so the YAML says 1, not a tagged numpy object.
    return value.item() if hasattr(value, "item") else value


def _looks_like_time(values: pd.Series) -> bool:
    # Timestamps are unique too, but they stamp a row, not a customer.
    if pd.api.types.is_datetime64_any_dtype(values) or WATERMARK_NAME.search(str(values.name)):
        return True
    if not pd.api.types.is_object_dtype(values):
        return False
    sample = values.dropna().astype(str).head(50)
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(len(sample)) and bool(parsed.notna().all())


def _id_column(frame: pd.DataFrame, target: str) -> tuple[str | None, str]:
    unique = [c for c in frame.columns if c != target and frame[c].notna().all()
              and frame[c].is_unique and not pd.api.types.is_float_dtype(frame[c])
              and not _looks_like_time(frame[c])]
    named = [c for c in unique if ID_NAME.search(str(c))]
    chosen = (named or unique or [None])[0]
    if chosen is None:
        return None, (f"no id column: no column is complete and unique; '{DERIVED_ID_COLUMN}' "
                      "is derived from each row's content (exact duplicates share a key)")
    why = "named like an id" if chosen in named else "the first complete, unique column"
    return str(chosen), f"id_column '{chosen}': every value present and unique, {why}"


def _checks(frame: pd.DataFrame, roles, target: str) -> dict[str, Any]:
    value_sets: dict[str, list] = {}
    for column in roles.categorical:
        levels = frame[column].dropna().astype(str).unique().tolist()
        if len(levels) <= MAX_VALUE_SET:
            value_sets[column] = sorted(levels)
    labels = sorted({_plain(v) for v in frame[target].dropna().unique()}, key=str)
    value_sets[target] = labels
    ranges = {c: [0, None] for c in roles.numeric
              if pd.api.types.is_numeric_dtype(frame[c]) and frame[c].min() >= 0}
    return {"min_rows": max(50, min(500, len(frame) // 5)), "ranges": ranges,
            "value_sets": value_sets}


def _proposed_floors(target: pd.Series, positive_label: Any) -> tuple[dict[str, float], str]:
    """Floors from the table's own baselines: F1 of flagging everyone at its churn rate, and
    a ranking clearly better than chance (a first model must beat these by default anyway;
    written out they stay fixed when later snapshots churn at another rate)."""
    from churn_assets.data.baselines import flag_everyone_f1
    from churn_assets.data.splits import binary_target

    rate = float(binary_target(target.dropna(), positive_label).mean())
    f1 = math.ceil(flag_everyone_f1(rate) * 100) / 100
    return {"f1": f1, "roc_auc": ROC_AUC_FLOOR}, (
        f"promotion.floors f1 {f1:g} (flagging every customer at {rate:.1%} churners scores "
        f"{flag_everyone_f1(rate):.3f}) and roc_auc {ROC_AUC_FLOOR:g} (clearly better than "
        "chance): the table's own baselines; raise them to what a model must reach to be "
        "worth serving")


def _leak_proposal(frame: pd.DataFrame, config, roles) -> leakage.Proposal:
    """The training run's leakage check on the same train rows, as drops with the evidence."""
    keyed, _ = with_row_key(frame, config)
    return leakage.propose(leakage.leakage_report(keyed, config, roles.numeric,
                                                  roles.categorical))


def propose_dataset(frame: pd.DataFrame, source: str, target: str, *, model_name: str,
                    positive_label: Any = None, id_column: str | None = None,
                    source_keys: dict[str, str] | None = None) -> Proposal:
    """The dataset YAML (as a mapping) for ``frame`` read from ``source``."""
    if target not in frame:
        raise SourceError(f"no column '{target}' in {source} (columns: "
                          f"{', '.join(map(str, frame.columns[:30]))})")
    reasons: list[str] = []
    if positive_label is None:
        positive_label, why = _positive_label(frame[target], target)
        reasons.append(why)
    if id_column is None:
        id_column, why = _id_column(frame, target)
        reasons.append(why)
    config: dict[str, Any] = {"source": source, **(source_keys or {}), "target": target,
                              "positive_label": positive_label}
    if id_column:
        config["id_column"] = id_column
    config["model_name"] = model_name
    parsed = parse_dataset_config(config, base_dir=Path("."))
    roles = infer_column_roles(frame, parsed)
    watermark = [c for c in frame.columns if WATERMARK_NAME.search(str(c))]
    if watermark and parsed.is_sql_source:
        config["watermark_column"] = str(watermark[0])
        reasons.append(f"watermark_column '{watermark[0]}': the landing sensor watches its "
                       "maximum for new rows")
    leaks = _leak_proposal(frame, parsed, roles)
    drop = [*roles.dropped, *(c for c in [*watermark, *leaks.drop] if c not in roles.dropped)]
    roles = type(roles)(tuple(c for c in roles.numeric if c not in leaks.drop),
                        tuple(c for c in roles.categorical if c not in leaks.drop),
                        roles.dropped)
    reasons.append(f"roles (the pipeline's own inference): {len(roles.numeric)} numeric, "
                   f"{len(roles.categorical)} categorical, {len(drop)} dropped")
    reasons += [f"drop '{c}': {why}" for c, why in roles.dropped.items()]
    reasons += leaks.reasons
    config |= {"numeric": list(roles.numeric), "categorical": list(roles.categorical),
               "drop": [str(c) for c in drop]}
    config["expectations"] = _checks(frame, roles, target)
    floors, why = _proposed_floors(frame[target], positive_label)
    config["promotion"] = {"floors": floors}
    reasons.append(why)
    parse_dataset_config(config, base_dir=Path("."))  # it must load as written
    return Proposal(config, reasons)
