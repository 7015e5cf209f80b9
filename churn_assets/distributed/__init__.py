"""The data path as ``dask.dataframe`` partitions, for tables no single machine should hold.

Used when a Dask scheduler is configured (``CHURN_DASK_SCHEDULER``); the pandas path stays the
default. Each step applies the pandas path's own pure functions to one partition at a time,
and decisions that need the whole table (a column's type, the target's spellings, unique ids,
row counts) come from small per-partition summaries combined on the client, so no worker ever
holds more than a few partitions. Between steps the partitions travel as Parquet datasets.
"""
