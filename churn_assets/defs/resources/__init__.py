"""Every external system behind a resource: dataset YAML, MLflow, Optuna storage, S3, storage."""
