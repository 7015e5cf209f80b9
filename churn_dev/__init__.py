"""Development-only code, outside the product package (not installed with it): real local
services for the tests and the benchmarks (moto's S3 server, `mlflow server`, PostgreSQL, each
on a free port of 127.0.0.1), a throw-away workspace (data, dataset YAML, Dagster instance,
MLflow store) and the data path run in one go for the Dask benchmark.

Importable from the repository root (as ``churn_assets_tests`` and ``benchmarks`` are); needs
the `dev` extra (moto, psycopg2-binary).
"""
