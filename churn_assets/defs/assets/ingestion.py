"""[ingestion] The raw customer table, read from the configured source or a landed snapshot."""

import dagster as dg
import pandas as pd
from dagster_aws.s3 import S3Resource
from pydantic import Field

from churn_assets.data.sources import SourceError, SourceUnavailable, read_source
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.retries import SERVICE_RETRIES
from churn_assets.defs.settings import OWNERS


class RawCustomersConfig(dg.Config):
    source_uri: str = Field(
        default="",
        description="Read this file or s3:// object instead of the dataset YAML's `source` "
        "(set by the new-data sensor for each landed snapshot).",
    )


def table_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]
    )


@dg.asset(group_name="ingestion", kinds={"pandas", "s3"}, owners=OWNERS,
          tags={"stage": "ingestion"}, code_version="1", retry_policy=SERVICE_RETRIES)
def raw_customers(
    context: dg.AssetExecutionContext, config: RawCustomersConfig, dataset: DatasetResource,
    s3: S3Resource,
) -> dg.Output[pd.DataFrame]:
    """Customer rows exactly as the source holds them; the data version is the content hash,
    so an unchanged file shows up as unchanged. What had to be repaired to read the file
    (delimiter, encoding, byte-order mark, ...) is logged and listed under `read_notes`."""
    settings = dataset.load()
    uri = config.source_uri or settings.source
    client = s3.get_client() if uri.startswith("s3://") else None
    try:
        table = read_source(uri, client, text_columns=(settings.id_column,))
    except SourceError as error:
        # The message names the file and the problem; a traceback would add nothing.
        # An unreachable service may come back, an unreadable file will not.
        raise dg.Failure(description=str(error),
                         allow_retries=isinstance(error, SourceUnavailable)) from None
    for note in table.notes:
        context.log.warning(f"{uri}: {note}")
    context.log.info(f"read {len(table.frame)} rows, {table.n_bytes} bytes from {uri}")
    return dg.Output(
        table.frame,
        data_version=dg.DataVersion(table.sha256[:32]),
        metadata={
            "source_uri": uri,
            "bytes": table.n_bytes,
            "sha256": table.sha256,
            "dagster/row_count": len(table.frame),
            "column_count": table.frame.shape[1],
            "dagster/column_schema": table_schema(table.frame),
            "read_notes": list(table.notes),
        },
    )
