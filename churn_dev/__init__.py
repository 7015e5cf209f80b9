"""Real local services and a throw-away project for the tests and the benchmarks alike:
moto's S3 server, `mlflow server`, PostgreSQL, each on a free port of 127.0.0.1, and a
temporary workspace (data, dataset YAML, Dagster instance, MLflow store).

Not imported by the pipeline; moto (the `dev` extra) is needed only by ``s3_server``.
"""
