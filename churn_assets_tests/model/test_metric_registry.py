"""The metric registry is the one list of metric names: every role it gives a metric can be
computed, and the schema, the promotion gains and monitoring accept exactly its names."""

from __future__ import annotations

import numpy as np
import pytest

from churn_assets.config_errors import ConfigError
from churn_assets.dataset_config import PromotionConfig, parse_dataset_config
from churn_assets.model import intervals
from churn_assets.model.metric_registry import (
    ESTIMATED_METRICS,
    FLOOR_METRICS,
    METRICS,
    MONITORED_METRICS,
    ONLINE_METRICS,
    PROMOTION_METRICS,
)
from churn_assets.model.metrics import classification_metrics
from churn_assets.registry import promotion_metrics

BASE = {"source": "customers.csv", "target": "Churn", "positive_label": "Yes",
        "model_name": "churn-test"}


def test_every_role_can_be_computed_where_it_is_used() -> None:
    labels = np.array([0, 1] * 20)
    probabilities = np.linspace(0.05, 0.95, labels.size)
    assert set(classification_metrics(labels, probabilities, 0.5)) == set(FLOOR_METRICS)
    bootstrapped = {*MONITORED_METRICS, *ESTIMATED_METRICS, *ONLINE_METRICS,
                    *(name for name in PROMOTION_METRICS if not METRICS[name].needs_economics)}
    assert bootstrapped <= set(intervals.METRICS)
    assert set(intervals.METRICS) <= set(METRICS)  # nothing computed that the registry omits
    assert list(promotion_metrics.METRICS) == list(PROMOTION_METRICS)
    for name, metric in promotion_metrics.METRICS.items():
        entry = METRICS[name]
        assert (metric.label, metric.higher_is_better, metric.typical_gain, metric.needs_context) \
            == (entry.label, entry.higher_is_better, entry.typical_gain, entry.needs_economics)


@pytest.mark.parametrize("key", ["metric", "segment_metric"])
def test_the_schema_accepts_exactly_the_promotion_metrics(key: str) -> None:
    for name in PROMOTION_METRICS:
        if not METRICS[name].needs_economics:
            assert getattr(PromotionConfig(**{key: name}), key) == name
    with pytest.raises(ConfigError) as refused:
        parse_dataset_config(BASE | {"promotion": {key: "accuracy"}}, base_dir=".")
    assert ", ".join(PROMOTION_METRICS) in str(refused.value)


def test_floors_accept_exactly_the_floor_metrics() -> None:
    assert set(PromotionConfig(floors=dict.fromkeys(FLOOR_METRICS, 0.1)).floors) == \
        set(FLOOR_METRICS)
    with pytest.raises(ConfigError) as refused:
        parse_dataset_config(BASE | {"promotion": {"floors": {"log_loss": 0.5}}}, base_dir=".")
    assert f"known: {', '.join(FLOOR_METRICS)}" in str(refused.value)
    assert "log_loss" in str(refused.value)


def test_the_immediate_promotion_bar_is_half_the_metric_s_typical_gain() -> None:
    for name in PROMOTION_METRICS:
        settings = PromotionConfig(metric=name, min_delta=0.5)
        assert settings.at_once_bar() == pytest.approx(0.5 + METRICS[name].typical_gain / 2)
