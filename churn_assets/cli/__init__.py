"""`python -m churn_assets`: what people do without the Dagster UI (see `--help`)."""
