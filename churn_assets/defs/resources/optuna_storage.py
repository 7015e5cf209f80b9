"""Where Optuna keeps its studies: a journal file locally, an RDB shared across machines."""

from __future__ import annotations

import dagster as dg
import optuna

from churn_assets.defs.resources.io_manager import local_state_dir
from churn_assets.model.tuning import open_study, study_storage


class OptunaStorage(dg.ConfigurableResource):
    """``url`` empty: a journal file under the local state folder (safe for parallel trials in
    one machine); ``postgresql://...`` (set it from $CHURN_OPTUNA_STORAGE, it holds a password)
    for trials spread over several machines."""

    url: str = ""

    def resolved_url(self) -> str:
        return self.url or f"journal://{local_state_dir() / 'optuna' / 'studies.journal'}"

    def open_study(self, study_name: str, seed: int) -> optuna.Study:
        return open_study(study_storage(self.resolved_url()), study_name, seed)
