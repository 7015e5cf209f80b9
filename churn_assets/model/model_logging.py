"""Log a trained candidate to MLflow as a pyfunc that takes raw rows."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from churn_assets.model import decision_policy, economics, families, reason_codes, small_frames
from churn_assets.model.candidate import Candidate
from churn_assets.model.families import get_family, save_fitted

# mlflow and the served model (mlflow.pyfunc, sklearn) are imported by the functions that
# log: the definitions import this module for its URLs, and loading them logs nothing.
if TYPE_CHECKING:
    import mlflow
    from mlflow.models import ModelSignature

MODEL_NAME_IN_RUN = "model"
EVALUATION_FOLDER = "evaluation"  # the PNGs, in the run's artifacts
MODEL_CARD_ARTIFACT = "model_card.md"
PIP_REQUIREMENTS = ("mlflow", "pandas", "numpy", "scikit-learn")


def served_signature() -> ModelSignature:
    """Outputs only. Raw files disagree on column types (the Telco CSV stores TotalCharges as
    text), so an input schema could only say "any type, optional" per column, and MLflow
    enforces such a schema by calling a Python function for every cell: 25 s of a 33 s
    prediction on 1M rows, for no check. The served model checks the columns it reads itself
    and names the missing ones in one line; the logged input example shows the raw columns."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    from churn_assets.model.served_model import PARAM_ECONOMICS, PARAM_REASONS

    outputs = Schema([ColSpec("double", "churn_probability"), ColSpec("long", "churn_prediction")])
    # Off by default: the extra columns (expected_value, rank, contact; reason_1..3) only
    # when a caller asks for them.
    params = ParamSchema([ParamSpec(PARAM_ECONOMICS, "boolean", False),
                          ParamSpec(PARAM_REASONS, "boolean", False)])
    return ModelSignature(outputs=outputs, params=params)


def pip_requirements(family: str) -> list[str]:
    """The served model's requirements: the common ones and the family's own library."""
    extra = [r for r in get_family(family).requirements if r not in PIP_REQUIREMENTS]
    return [*PIP_REQUIREMENTS, *extra]


def log_evaluation(pictures: Mapping[str, Path], model_card: str) -> None:
    """The evaluation PNGs under ``evaluation/`` and the card as ``model_card.md``, into the
    active run."""
    import mlflow

    for path in pictures.values():
        mlflow.log_artifact(str(path), artifact_path=EVALUATION_FOLDER)
    mlflow.log_text(model_card, MODEL_CARD_ARTIFACT)


def log_candidate(
    candidate: Candidate, preprocessor_state: dict, raw_rows: pd.DataFrame,
    decision: dict | None = None,
) -> mlflow.models.model.ModelInfo:
    """Log the model into the active MLflow run. ``raw_rows``: source columns, no target;
    ``decision``: a ``RetentionDecision.to_dict()`` (default: the candidate's threshold)."""
    import mlflow

    from churn_assets.model import preprocessing, served_model
    from churn_assets.model.served_model import (
        ARTIFACT_DECISION,
        ARTIFACT_MODEL,
        ARTIFACT_PREPROCESSOR,
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "preprocessor.json").write_text(json.dumps(preprocessor_state))
        save_fitted(candidate.model, folder / ARTIFACT_MODEL)
        (folder / "decision.json").write_text(
            json.dumps(decision or {"threshold": candidate.threshold}))
        example = raw_rows.head(5)
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME_IN_RUN,
            python_model=served_model.__file__,
            code_paths=[preprocessing.__file__, economics.__file__, decision_policy.__file__,
                        reason_codes.__file__, small_frames.__file__,
                        str(Path(families.__file__).parent)],
            artifacts={
                ARTIFACT_PREPROCESSOR: str(folder / "preprocessor.json"),
                ARTIFACT_MODEL: str(folder / ARTIFACT_MODEL),
                ARTIFACT_DECISION: str(folder / "decision.json"),
            },
            signature=served_signature(),
            input_example=example,
            pip_requirements=pip_requirements(candidate.family),
        )


def run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str | None:
    """The MLflow UI page of a run, when the tracking URI is a server (http/https)."""
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def model_version_url(tracking_uri: str, name: str, version: str) -> str | None:
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    return f"{tracking_uri.rstrip('/')}/#/models/{name}/versions/{version}"
