"""Feast's offline store here: none. Batch scoring reads the validated snapshot itself; Feast
serves the online lookups only, so its offline store is never asked for anything.

Feast's default offline store (``dask``) is imported with every ``RepoConfig``: dask.dataframe,
dask.array and scipy, 0.8 of the 0.9 CPU s that opening the store took (measured), paid by
every run that pushes online features and every scoring-service start. This store is Feast's
documented extension point for offline stores (``type`` = the class's import path); anything
that would read or write offline says why it cannot. Import it after ``import_feast``.
"""

from typing import Literal

from feast.infra.offline_stores.offline_store import OfflineStore
from feast.repo_config import FeastConfigBaseModel

TYPE = "churn_assets.serving.no_offline_store.NoOfflineStore"
WHY = ("this project keeps no Feast offline store: batch scoring reads the validated snapshot "
       "itself, and Feast serves online lookups only")


class NoOfflineStoreConfig(FeastConfigBaseModel):
    type: Literal["churn_assets.serving.no_offline_store.NoOfflineStore"] = TYPE


class NoOfflineStore(OfflineStore):
    @staticmethod
    def get_historical_features(*args, **kwargs):
        raise NotImplementedError(WHY)

    pull_latest_from_table_or_query = get_historical_features
    pull_all_from_table_or_query = get_historical_features
    offline_write_batch = get_historical_features
    write_logged_features = get_historical_features
