"""[validation] Column roles decided once, typed customer rows, blocking GX checks."""

import dagster as dg

from churn_assets.data.column_roles import ColumnRoles, infer_column_roles
from churn_assets.data.expectations import (
    CHECK_DESCRIPTIONS,
    CHECK_NAMES,
    ExpectationOutcome,
    summarize_failures,
)
from churn_assets.data.leakage import LeakageReport, leakage_report
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.settings import OWNERS

TAGS = {"stage": "validation"}
UNLABELED_OK_JOB = "snapshot_intake_job"  # monitoring only: the target may be absent


@dg.asset(group_name="validation", kinds={"pandas"}, owners=OWNERS, tags=TAGS, code_version="1")
def column_roles(
    context: dg.AssetExecutionContext, raw_customers: Table, dataset: DatasetResource,
    dask_cluster: DaskCluster,
) -> dg.Output[dict]:
    """Which columns are numeric or categorical features and which are dropped, with the
    reason; decided here once, from the dataset YAML's overrides and the data (on the Dask
    data path from the first partitions' 50,000 rows: a role is a schema decision)."""
    config = dataset.load()
    # Roles and the leakage check from the first rows of partitions (all rows of a frame).
    rows = dask_cluster.tables_for(raw_customers).head_rows(raw_customers)
    roles = infer_column_roles(rows, config)
    for column, reason in roles.dropped.items():
        context.log.info(f"dropping '{column}': {reason}")
    leakage = leakage_report(rows, config, roles.numeric, roles.categorical)
    for message in leakage.messages():  # training stops on these (feature_preprocessor)
        context.log.warning(message)
    return dg.Output(roles.as_dict() | {"leakage": leakage.as_dict()}, metadata={
        "numeric_columns": list(roles.numeric),
        "categorical_columns": list(roles.categorical),
        "dropped_columns": roles.dropped,
        **_leakage_metadata(leakage),
    })


def _leakage_metadata(report: LeakageReport) -> dict:
    return {"leakage_suspects": [c.column for c in report.suspects],
            "leakage_allowed": {c.column: c.allowed for c in report.columns if c.allowed},
            "leakage_check": dg.MetadataValue.md(
                report.skipped or report.table().to_markdown(index=False, floatfmt=".4f")),
            "leakage_limits": {"max_auc": report.max_auc,
                               "max_churners_only": report.max_churners_only}}


@dg.asset(group_name="validation", kinds={"pandas"}, owners=OWNERS, tags=TAGS, code_version="1")
def validated_customers(
    context: dg.AssetExecutionContext, raw_customers: Table, column_roles: dict,
    dataset: DatasetResource, dask_cluster: DaskCluster,
) -> dg.Output[Table]:
    """Raw rows with the documented coercions applied (target labels spelled one way, blank
    numeric text -> missing), each said in a note; roles come from `column_roles`."""
    roles = ColumnRoles.from_dict(column_roles)
    prepared = dask_cluster.tables_for(raw_customers).prepare(raw_customers, dataset.load(),
                                                              roles)
    for note in prepared.notes:
        context.log.warning(note)
    return dg.Output(prepared.frame, metadata={
        "dagster/row_count": len(raw_customers),  # no row is added or removed
        "coercion_notes": list(prepared.notes),
        "coerced_to_missing": prepared.blanks_to_missing,  # blank numeric text -> missing
    })


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset="validated_customers", blocking=True,
                          additional_deps=["column_roles"],
                          description=CHECK_DESCRIPTIONS[name])
        for name in CHECK_NAMES
    ],
    ins={"validated_customers": dg.AssetIn("validated_customers"),
         "column_roles": dg.AssetIn("column_roles")},
)
def customer_expectations(
    context: dg.AssetCheckExecutionContext, validated_customers: Table,
    column_roles: dict, dataset: DatasetResource, dask_cluster: DaskCluster,
):
    """One Great Expectations validation, reported as one blocking check per concern (on
    the Dask data path the same expectations as per-partition counts, see
    ``distributed.checks``)."""
    roles, config = ColumnRoles.from_dict(column_roles), dataset.load()
    # A snapshot without the target is accepted for monitoring (intake) but never for training.
    intake = context.run.job_name == UNLABELED_OK_JOB
    outcomes = dask_cluster.tables_for(validated_customers).run_expectations(
        validated_customers, config, roles.numeric, roles.categorical, require_target=not intake)
    if config.target not in validated_customers.columns:
        if intake:
            context.log.info(f"no '{config.target}' column: unlabeled snapshot, target checks "
                             "skipped; accepted for monitoring and scoring only")
        else:
            outcomes["target_labels"].append(ExpectationOutcome(
                "target_labels", "target_present_for_training", config.target, False,
                f"column missing: an unlabeled snapshot is accepted for monitoring and "
                f"scoring, never for training; land a snapshot with '{config.target}'"))
    for name in CHECK_NAMES:
        failed = [o for o in outcomes[name] if not o.success]
        if failed:
            context.log.error(f"{name} failed: {summarize_failures(failed)}")
        yield _check_result(name, outcomes[name], failed)


def _check_result(name: str, outcomes: list[ExpectationOutcome],
                  failed: list[ExpectationOutcome]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key="validated_customers",
        check_name=name,
        passed=not failed,
        description=summarize_failures(failed) if failed else None,
        metadata={
            "expectations_evaluated": len(outcomes),
            "failed": [
                {"expectation": o.expectation, "column": o.column, "observed": o.observed,
                 "examples": list(o.examples), "rows": list(o.rows)}
                for o in failed
            ],
        },
    )
