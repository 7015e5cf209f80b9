"""[validation] Typed customer rows, guarded by blocking Great Expectations checks."""

import dagster as dg
import pandas as pd

from churn_assets.data.column_roles import coerce_numeric, infer_column_roles
from churn_assets.data.expectations import (
    CHECK_DESCRIPTIONS,
    CHECK_NAMES,
    run_expectations,
    summarize_failures,
)
from churn_assets.defs.resources import DatasetResource


@dg.asset(group_name="validation", kinds={"pandas"})
def validated_customers(
    context: dg.AssetExecutionContext, raw_customers: pd.DataFrame, dataset: DatasetResource
) -> dg.Output[pd.DataFrame]:
    """Raw rows with the documented coercions applied (blank numeric text -> missing).
    Column roles are inferred here and reported, with the reason for every dropped column."""
    config = dataset.load()
    roles = infer_column_roles(raw_customers, config)
    typed, coerced = coerce_numeric(raw_customers, roles.numeric)
    for column, count in coerced.items():
        context.log.info(f"coerced {count} blank value(s) in '{column}' to missing")
    return dg.Output(
        typed,
        metadata={
            "dagster/row_count": len(typed),
            "coerced_to_missing": coerced,
            "numeric_columns": list(roles.numeric),
            "categorical_columns": list(roles.categorical),
            "dropped_columns": roles.dropped,
        },
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset="validated_customers", blocking=True,
                          description=CHECK_DESCRIPTIONS[name])
        for name in CHECK_NAMES
    ],
    ins={"validated_customers": dg.AssetIn("validated_customers")},
)
def customer_expectations(
    context: dg.AssetCheckExecutionContext, validated_customers: pd.DataFrame,
    dataset: DatasetResource,
):
    """One Great Expectations validation, reported as one blocking check per concern."""
    config = dataset.load()
    roles = infer_column_roles(validated_customers, config)
    outcomes = run_expectations(validated_customers, config, roles.numeric, roles.categorical)
    for name in CHECK_NAMES:
        failed = [o for o in outcomes[name] if not o.success]
        if failed:
            context.log.error(f"{name} failed: {summarize_failures(failed)}")
        yield dg.AssetCheckResult(
            asset_key="validated_customers",
            check_name=name,
            passed=not failed,
            description=summarize_failures(failed) if failed else None,
            metadata={
                "expectations_evaluated": len(outcomes[name]),
                "failed": [
                    {"expectation": o.expectation, "column": o.column, "observed": o.observed,
                     "examples": list(o.examples)}
                    for o in failed
                ],
            },
        )
