"""Fixtures for the monitoring tests."""

from __future__ import annotations

import pytest

from churn_assets_tests.monitoring.small_model import SmallChampion, train_small_champion


@pytest.fixture(scope="session")
def small_champion() -> SmallChampion:
    return train_small_champion()
