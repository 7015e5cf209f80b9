"""[ingestion] The raw customer table, read from the configured source or a landed snapshot."""

import dagster as dg
import pandas as pd
from dagster_aws.s3 import S3Resource
from pydantic import Field

from churn_assets.data.row_key import with_row_key
from churn_assets.data.sources import SourceError, SourceUnavailable, read_source
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.settings import OWNERS


class RawCustomersConfig(dg.Config):
    source_uri: str = Field(
        default="",
        description="Read this file or s3:// object instead of the dataset YAML's `source` "
        "(set by the new-data sensor for each landed snapshot).",
    )


def table_schema(dtypes: pd.Series) -> dg.TableSchema:
    """Takes the dtypes, not the frame: the first ``TableSchema`` a process builds compiles
    its constructor and keeps the caller's local variables for good (dagster_shared's record
    ``EvalContext``), so a frame in scope here stayed alive for the whole run (10M: ~2.8 GB)."""
    columns = [dg.TableColumn(str(name), str(dtype)) for name, dtype in dtypes.items()]
    return dg.TableSchema(columns=columns)


def raw_customers_asset(retries: dg.RetryPolicy) -> dg.AssetsDefinition:
    """``raw_customers`` with the deployment's service retries (it reads S3 or a database)."""
    return dg.asset(
        group_name="ingestion", kinds={"pandas", "s3"}, owners=OWNERS,
        tags={"stage": "ingestion"}, code_version="1", retry_policy=retries,
    )(raw_customers)


def raw_customers(
    context: dg.AssetExecutionContext, config: RawCustomersConfig, dataset: DatasetResource,
    s3: S3Resource, dask_cluster: DaskCluster,
) -> dg.Output[Table]:
    """Customer rows exactly as the source holds them (a file, an s3:// object or a database
    table/query); the data version is the content hash, so an unchanged source shows up as
    unchanged. What had to be repaired to read it (delimiter, encoding, byte-order mark, ...)
    is logged and listed under `read_notes`. Without an `id_column` in the YAML, a `row_key`
    column derived from each row's content is added (see `churn_assets.data.row_key`).
    On the Dask data path: CSV or Parquet as typed partitions, versioned by the store's
    fingerprint (size and mtime, or ETag)."""
    settings = dataset.load()
    uri = config.source_uri or settings.source
    if dask_cluster.runs_data_path:
        return _raw_partitions(context, uri, settings, dask_cluster)
    return _raw_frame(context, uri, settings, s3)


def _raw_frame(context: dg.AssetExecutionContext, uri: str, settings, s3) -> dg.Output:
    client = s3.get_client() if uri.startswith("s3://") else None
    try:
        table = read_source(uri, client, text_columns=(settings.id_column,),
                            sheet=settings.sheet, table=settings.source_table,
                            query=settings.source_query)
        frame, key_notes = with_row_key(table.frame, settings)
    except SourceError as error:
        # The message names the file and the problem; a traceback would add nothing.
        # An unreachable service may come back, an unreadable file will not.
        raise dg.Failure(description=str(error),
                         allow_retries=isinstance(error, SourceUnavailable)) from None
    uri = table.uri  # for a database: the URL with its password masked
    notes = [*table.notes, *key_notes]
    for note in notes:
        context.log.warning(f"{uri}: {note}")
    context.log.info(f"read {len(frame)} rows, {table.n_bytes} bytes from {uri}")
    return dg.Output(
        frame,
        data_version=dg.DataVersion(table.sha256[:32]),
        metadata={
            "source_uri": uri,
            "bytes": table.n_bytes,
            "sha256": table.sha256,
            "dagster/row_count": len(frame),
            "column_count": frame.shape[1],
            "dagster/column_schema": table_schema(frame.dtypes),
            "read_notes": notes,
        },
    )


def _raw_partitions(context: dg.AssetExecutionContext, uri: str, settings,
                    dask_cluster: DaskCluster) -> dg.Output:
    from churn_assets.distributed.raw_table import read_raw_partitions, source_fingerprint

    dask_cluster.get_client()  # this step's computes (and the stored parts) on the cluster
    try:
        frame, notes, rows = read_raw_partitions(uri, settings, dask_cluster.blocksize)
        n_bytes, fingerprint = source_fingerprint(uri)
    except (SourceError, FileNotFoundError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    for note in notes:
        context.log.warning(f"{uri}: {note}")
    context.log.info(f"read {rows} rows, {n_bytes} bytes from {uri} as {frame.npartitions} "
                     "partitions on the Dask cluster")
    return dg.Output(frame, data_version=dg.DataVersion(fingerprint[:32]), metadata={
        "source_uri": uri, "bytes": n_bytes, "fingerprint": fingerprint,
        "dagster/row_count": rows, "column_count": len(frame.columns),
        "partitions": frame.npartitions,
        "dagster/column_schema": table_schema(frame._meta.dtypes), "read_notes": notes})
