"""churn_assets: a churn model trained, validated and promoted as Dagster assets."""

from churn_assets.definitions import defs

__all__ = ["defs"]
