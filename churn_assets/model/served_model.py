"""The served model: raw customer rows in, ``churn_probability`` and ``churn_prediction`` out.

Logged with MLflow's models-from-code: this file and ``preprocessing.py`` are copied into
the model, which therefore loads with only mlflow, pandas, scikit-learn and xgboost — no
Dagster, no pickle. Artifacts: the fitted preprocessor (JSON), the booster (XGBoost JSON)
and the decision threshold chosen on the validation split.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow.pyfunc import PythonModel

try:  # inside a logged model, code_paths puts preprocessing.py on sys.path
    from preprocessing import ChurnPreprocessor
except ImportError:  # imported from the installed package
    from churn_assets.model.preprocessing import ChurnPreprocessor

ARTIFACT_PREPROCESSOR = "preprocessor"
ARTIFACT_BOOSTER = "booster"
ARTIFACT_DECISION = "decision"



class ChurnClassifier(PythonModel):
    def load_context(self, context) -> None:
        artifacts = context.artifacts
        self.preprocessor = ChurnPreprocessor.from_json(
            Path(artifacts[ARTIFACT_PREPROCESSOR]).read_text()
        )
        self.booster = xgb.Booster()
        self.booster.load_model(artifacts[ARTIFACT_BOOSTER])
        decision = json.loads(Path(artifacts[ARTIFACT_DECISION]).read_text())
        self.threshold = float(decision["threshold"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        rows = pd.DataFrame(model_input)
        features = self.preprocessor.transform(rows)
        probability = self.booster.predict(xgb.DMatrix(features)).astype("float64")
        return pd.DataFrame(
            {
                "churn_probability": probability,
                "churn_prediction": (probability >= self.threshold).astype(np.int64),
            },
            index=rows.index,
        )


mlflow.models.set_model(ChurnClassifier())
