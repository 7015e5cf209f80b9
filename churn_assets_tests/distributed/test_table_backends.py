"""The assets call the table backend their input lives in without asking which one it is:
the pandas and the Dask backend offer the same steps, and the resource picks by the frame."""

from __future__ import annotations

import inspect

import dask.dataframe as dd
import pandas as pd

from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.distributed.backend import DaskTables
from churn_assets.pipeline.tables import PandasTables


def steps(backend: type) -> dict[str, list[str]]:
    return {name: list(inspect.signature(member).parameters)
            for name, member in vars(backend).items()
            if callable(member) and not name.startswith("_")}


def test_both_backends_offer_the_same_steps_with_the_same_parameters() -> None:
    assert steps(PandasTables) == steps(DaskTables)
    assert {"split", "features", "score", "training_rows", "test_split"} <= set(
        steps(PandasTables))


def test_the_resource_picks_the_backend_by_the_frame() -> None:
    frame = pd.DataFrame({"a": range(10)})
    resource = DaskCluster()  # no scheduler: partitions are still told apart
    assert isinstance(resource.tables_for(frame), PandasTables)
    assert isinstance(resource.tables_for(dd.from_pandas(frame, npartitions=2)), DaskTables)
    rows, sampled = resource.tables_for(frame).local_rows(frame, 5)
    assert rows is frame and sampled is None
