"""The production-shape test's job, in a module of its own. Each step process of the
multiprocess executor imports the module its job comes from: this one brings only what a
deployed step loads (Dagster and the definitions), not the test's services (moto's server,
pytest, the workspace helpers), which every step used to import again."""

from __future__ import annotations

import dagster as dg


def production_graph_job() -> dg.JobDefinition:
    """Every asset and check, on the deployment's executor; rebuilt from here by each step."""
    from churn_assets.definitions import defs

    job = dg.define_asset_job("production_graph_job", selection=dg.AssetSelection.all())
    return dg.Definitions.merge(defs(), dg.Definitions(jobs=[job])).resolve_job_def(job.name)
