"""Where Optuna keeps its studies: a journal file locally, an RDB shared across machines;
with a Dask cluster configured, the trials run on its workers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.environment import Settings
from churn_assets.model.candidate import LocalTrials
from churn_assets.model.tuning import study_storage

if TYPE_CHECKING:
    import optuna


class OptunaStorage(dg.ConfigurableResource):
    """``url`` empty: a journal file under the repository's state folder (the definitions pass
    the deployment's: ``journal_url(state_dir)`` (safe for parallel trials in
    one machine); ``postgresql://...`` (set it from $CHURN_OPTUNA_STORAGE, it holds a password)
    for trials spread over several machines. ``dask_cluster`` with an address: the trials run
    on its workers (and large final fits through the family's distributed fit)."""

    url: str = ""
    dask_cluster: DaskCluster | None = None

    @staticmethod
    def journal_url(state_dir: Path) -> str:
        return f"journal://{state_dir / 'optuna' / 'studies.journal'}"

    def resolved_url(self) -> str:
        return self.url or self.journal_url(Settings().state_dir)

    def trial_runner(self, feature_partitions: Any = None, partition_train_rows: int = 0
                     ) -> LocalTrials | Any:
        """Where trials and final fits run: ``LocalTrials`` or, with a cluster,
        ``DaskTrials`` (``feature_partitions``: the Dask data path's ``customer_features``,
        whose train rows a distributed final fit reads whole)."""
        url = self.resolved_url()
        if self.dask_cluster is None or not self.dask_cluster.enabled:
            return LocalTrials(study_storage(url))
        from churn_assets.model.dask_tuning import DaskTrials

        return DaskTrials(self.dask_cluster.get_client(), study_storage(url), url,
                          self.dask_cluster.final_fit_min_rows, feature_partitions,
                          partition_train_rows)

    def open_study(self, study_name: str, seed: int) -> optuna.Study:
        return self.trial_runner().open_study(study_name, seed)
