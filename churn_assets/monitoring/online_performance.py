"""The prediction log joined to the outcomes that arrive later: realized metrics per arm and
model version, the shadow arm's paired evidence, and the logged requests as current data.

Outcomes come from ``POST /outcomes`` (table ``outcomes``) and from labeled snapshots (the
target column by id); a posted outcome wins over a snapshot's for the same customer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from churn_assets.model.intervals import metric_intervals
from churn_assets.model.metric_registry import ONLINE_METRICS
from churn_assets.names import PREDICTION, PROBABILITY

CHURNED = "churned"
ONLINE_LOOK_PREFIX = "prediction_log until "  # a trial look's `snapshot` from the log


def read_log(url: str, since: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(prediction_log rows logged after ``since``, every outcome); empty frames when the
    service has not created its tables yet."""
    import sqlalchemy as sa

    from churn_assets.data.log_tables import OUTCOMES, PREDICTION_LOG

    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table(PREDICTION_LOG.name):
            return (pd.DataFrame(columns=[c.name for c in PREDICTION_LOG.columns]),
                    pd.DataFrame(columns=[c.name for c in OUTCOMES.columns]))
        query = sa.select(PREDICTION_LOG)
        if since is not None:
            query = query.where(PREDICTION_LOG.c.logged_at > since)
        with engine.connect() as connection:
            log = pd.read_sql(query, connection)
            outcomes = pd.read_sql(sa.select(OUTCOMES), connection)
        return log, outcomes
    finally:
        engine.dispose()


def known_outcomes(posted: pd.DataFrame, snapshot: pd.DataFrame | None = None) -> pd.Series:
    """customer id -> 0/1; ``snapshot``: columns ``customer_id`` and ``churned`` (labeled
    rows). The newest posted outcome per customer wins over the snapshot's."""
    parts = []
    if snapshot is not None and len(snapshot):
        parts.append(snapshot[["customer_id", CHURNED]].astype({"customer_id": str}))
    if len(posted):
        newest = posted.sort_values("observed_at").drop_duplicates("customer_id", keep="last")
        parts.append(newest[["customer_id", CHURNED]].astype({"customer_id": str}))
    if not parts:
        return pd.Series(dtype="int64", name=CHURNED)
    joined = pd.concat(parts).drop_duplicates("customer_id", keep="last")
    return joined.set_index("customer_id")[CHURNED].astype("int64")


def join_outcomes(log: pd.DataFrame, outcomes: pd.Series) -> pd.DataFrame:
    """The log rows whose customer has an outcome, with column ``churned``."""
    known = log[log["customer_id"].notna()].copy()
    known[CHURNED] = known["customer_id"].astype(str).map(outcomes)
    return known[known[CHURNED].notna()].astype({CHURNED: "int64"})


def realized_by_arm(joined: pd.DataFrame, resamples: int = 1000, seed: int = 0
                    ) -> pd.DataFrame:
    """One row per (arm, model_version): rows, churned, and each metric with its 95 %
    bootstrap interval (NaN where a group lacks one of the two classes)."""
    rows = []
    for (arm, version), group in joined.groupby(["arm", "model_version"], sort=True):
        labels = group[CHURNED].to_numpy()
        row = {"arm": arm, "model_version": version, "rows": len(group),
               "churned": int(labels.sum())}
        if np.unique(labels).size == 2:
            intervals = metric_intervals(ONLINE_METRICS, labels, group[PROBABILITY].to_numpy(float),
                                         float(group["threshold"].iloc[0]), resamples, seed)
            for name, interval in intervals.items():
                row |= {name: interval.estimate, f"{name}_low": interval.low,
                        f"{name}_high": interval.high}
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ShadowPairs:
    """The same requests' rows scored by the champion (answered) and the challenger (shadow)."""

    champion_version: str
    challenger_version: str
    frame: pd.DataFrame  # customer_id, logged_at, churned, input_row, champion_/shadow_ p & t

    def rows(self) -> pd.DataFrame:
        """The raw rows as the callers sent them."""
        return pd.DataFrame([json.loads(text) for text in self.frame["input_row"]])


def shadow_pairs(joined: pd.DataFrame, champion_version: str, challenger_version: str,
                 ) -> ShadowPairs:
    """Rows of requests answered by ``champion_version`` and shadowed by
    ``challenger_version``, paired by request and row, one per customer (the newest)."""
    position = joined["log_id"].str.rsplit(":", n=2).str[1]
    keyed = joined.assign(position=position)
    champion = keyed[(keyed["arm"] == "champion") &
                     (keyed["model_version"] == champion_version)]
    shadow = keyed[(keyed["arm"] == "shadow") & (keyed["model_version"] == challenger_version)]
    pairs = champion.merge(shadow[["request_id", "position", PROBABILITY, "threshold"]],
                           on=["request_id", "position"], suffixes=("_champion", "_shadow"))
    pairs = pairs.sort_values("logged_at").drop_duplicates("customer_id", keep="last")
    return ShadowPairs(champion_version, challenger_version, pairs.reset_index(drop=True))


def logged_rows(log: pd.DataFrame, arm: str = "champion") -> pd.DataFrame:
    """The raw rows the service answered (one arm, so no request counts twice): the current
    data for drift."""
    answered = log[log["arm"] == arm]
    return pd.DataFrame([json.loads(text) for text in answered["input_row"]])


def prediction_summary(log: pd.DataFrame) -> pd.DataFrame:
    """Requests, rows and the answered churn share per arm and version."""
    return (log.groupby(["arm", "model_version"])
            .agg(requests=("request_id", "nunique"), rows=("log_id", "size"),
                 predicted_churn_share=(PREDICTION, "mean"),
                 mean_probability=(PROBABILITY, "mean"))
            .reset_index())


def logged_row_count(url: str) -> int:
    """Rows in ``prediction_log`` (0 before the service created it): the sensor's watermark."""
    import sqlalchemy as sa

    from churn_assets.data.log_tables import PREDICTION_LOG

    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table(PREDICTION_LOG.name):
            return 0
        with engine.connect() as connection:
            return int(connection.execute(
                sa.select(sa.func.count()).select_from(PREDICTION_LOG)).scalar_one())
    finally:
        engine.dispose()
