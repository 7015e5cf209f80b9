"""What a table scores by itself, before any model: the floors a first model must beat
(``registry.first_model``) and a proposed YAML writes out (``data.dataset_proposal``)."""

from __future__ import annotations


def flag_everyone_f1(positive_rate: float) -> float:
    """F1 of flagging every customer at churn rate p: 2p / (1 + p)."""
    return 2 * positive_rate / (1 + positive_rate) if positive_rate > 0 else 0.0
