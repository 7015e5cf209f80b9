"""The registry tests' small real pyfunc (churn_assets_tests/registry/lookup_model.py, logged
as models-from-code) and the pip requirements it is logged with."""

from __future__ import annotations

from pathlib import Path

LOOKUP_MODEL = Path(__file__).parents[1] / "registry" / "lookup_model.py"
# Given, not inferred: without them MLflow infers them by loading the model in a new Python
# process (mlflow/utils/_capture_modules.py: seconds of CPU for every model logged). The
# model imports pandas (and MLflow, which MLflow adds itself).
LOOKUP_REQUIREMENTS = ["pandas"]
