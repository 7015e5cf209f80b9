"""Local views of partitioned tables: seeded per-split samples and content digests, the same
for a pandas frame as the pandas path uses it."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd

from churn_assets.distributed.local_views import local_rows, local_split_rows, partitions_digest

SPLITS = pd.DataFrame({"customerID": [f"c{i}" for i in range(3000)],
                       "split": ["train"] * 2000 + ["valid"] * 700 + ["test"] * 300,
                       "tenure": np.arange(3000)})


def test_each_split_is_sampled_on_its_own_and_repeatably() -> None:
    parts = dd.from_pandas(SPLITS.sample(frac=1, random_state=1), npartitions=6)

    sample = local_split_rows(parts, max_rows=500, seed=3)

    sizes = sample["split"].value_counts()
    assert 400 < sizes["train"] < 600 and 400 < sizes["valid"] < 600
    assert sizes["test"] == 300  # a split no larger than max_rows stays whole
    assert sample["customerID"].is_unique
    pd.testing.assert_frame_equal(sample, local_split_rows(parts, max_rows=500, seed=3))
    assert local_split_rows(SPLITS) is SPLITS  # a pandas frame is used as it is
    assert len(local_rows(parts, max_rows=None)) == len(SPLITS)


def test_the_digest_follows_the_content() -> None:
    parts = dd.from_pandas(SPLITS, npartitions=3)
    changed = SPLITS.assign(tenure=SPLITS["tenure"].where(SPLITS.index != 5, -1))

    assert partitions_digest(parts) == partitions_digest(dd.from_pandas(SPLITS, npartitions=3))
    assert partitions_digest(parts) != partitions_digest(dd.from_pandas(changed, npartitions=3))
    assert partitions_digest(SPLITS) != partitions_digest(changed)
