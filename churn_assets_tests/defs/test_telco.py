"""The real IBM Telco churn file, end to end (skipped where ../shared/data is absent)."""

from __future__ import annotations

import pytest

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets_tests.helpers.workspace import SHARED_TELCO, ChurnWorkspace, materialize_graph

pytestmark = pytest.mark.skipif(
    not SHARED_TELCO.is_file(), reason=f"real Telco data not found at {SHARED_TELCO}"
)


@pytest.mark.slow
def test_telco_reaches_the_quality_bar(workspace: ChurnWorkspace):
    workspace.configure(dataset_config=str(PROJECT_ROOT / "examples" / "telco.yaml"))

    # No time limit: the figure must not depend on how busy the machine is.
    no_timeout = {"ops": {"tuned_churn_model": {"config": {"timeout_seconds": 0}}}}
    result = materialize_graph(workspace, run_config=no_timeout)

    assert result.success
    client = workspace.client()
    champion = client.get_model_version_by_alias("churn-classifier-telco", "champion")
    metrics = client.get_run(champion.run_id).data.metrics
    assert metrics["test_roc_auc"] >= 0.83
    assert metrics["valid_roc_auc"] >= 0.83
    assert metrics["n_trials"] == 50
