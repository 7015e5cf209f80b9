"""Where Optuna keeps its studies: a journal file locally, an RDB shared across machines;
with a Dask cluster configured, the trials run on its workers."""

from __future__ import annotations

import dagster as dg
import optuna

from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.io_manager import local_state_dir
from churn_assets.model.tuning import open_study, study_storage


class OptunaStorage(dg.ConfigurableResource):
    """``url`` empty: a journal file under the local state folder (safe for parallel trials in
    one machine); ``postgresql://...`` (set it from $CHURN_OPTUNA_STORAGE, it holds a password)
    for trials spread over several machines. ``dask_cluster`` with an address: the study is
    hosted on its scheduler and trials run on its workers (optuna-integration DaskStorage)."""

    url: str = ""
    dask_cluster: DaskCluster | None = None

    def resolved_url(self) -> str:
        return self.url or f"journal://{local_state_dir() / 'optuna' / 'studies.journal'}"

    def open_study(self, study_name: str, seed: int) -> optuna.Study:
        url = self.resolved_url()
        if self.dask_cluster is None or not self.dask_cluster.enabled:
            return open_study(study_storage(url), study_name, seed)
        from churn_assets.model.dask_tuning import open_dask_study

        return open_dask_study(self.dask_cluster.get_client(), study_storage(url), url,
                               study_name, seed, self.dask_cluster.final_fit_min_rows)
