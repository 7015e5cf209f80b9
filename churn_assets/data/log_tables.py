"""The service's tables (SQLAlchemy Core, created when missing): every answer in
``prediction_log``, every model swap in ``alias_history``, late labels in ``outcomes``.
All three are insert-only, keyed so that a replayed batch adds nothing twice."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text

METADATA = MetaData()

PREDICTION_LOG = Table(
    "prediction_log", METADATA,
    Column("log_id", String(96), primary_key=True),  # request id : row : arm
    Column("request_id", String(64), nullable=False, index=True),
    Column("logged_at", DateTime(timezone=True), nullable=False, index=True),
    Column("customer_id", String(128), index=True),
    Column("model_name", String(128), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("arm", String(16), nullable=False),  # champion | challenger | shadow
    Column("churn_probability", Float, nullable=False),
    Column("churn_prediction", Integer, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("reasons", Text),  # JSON list
    Column("latency_ms", Float),  # the request's, as the caller saw it (shadow: its own)
    Column("input_row", Text),  # JSON object: the raw row as received
)

# Which version served from when: a row per swap; a version served until the next row's time.
ALIAS_HISTORY = Table(
    "alias_history", METADATA,
    Column("event_id", String(64), primary_key=True),
    Column("served_from", DateTime(timezone=True), nullable=False),
    Column("model_name", String(128), nullable=False),
    Column("alias", String(32), nullable=False),
    Column("version", String(32)),  # empty: the alias was removed
    Column("previous_version", String(32)),
    Column("load_check", Text),
    Column("host", String(128)),  # which service process swapped (host:pid)
)

OUTCOMES = Table(
    "outcomes", METADATA,
    Column("outcome_id", String(64), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("churned", Integer, nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

TABLES = {table.name: table for table in (PREDICTION_LOG, ALIAS_HISTORY, OUTCOMES)}
