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
    from decision_policy import RetentionDecision, ranks
    from preprocessing import ChurnPreprocessor
    from reason_codes import contributions, top_reasons
except ImportError:  # imported from the installed package
    from churn_assets.model.decision_policy import RetentionDecision, ranks
    from churn_assets.model.preprocessing import ChurnPreprocessor
    from churn_assets.model.reason_codes import contributions, top_reasons

ARTIFACT_PREPROCESSOR = "preprocessor"
ARTIFACT_BOOSTER = "booster"
ARTIFACT_DECISION = "decision"
# Optional predict params (declared in the signature); both off keeps the two-column contract.
PARAM_ECONOMICS, PARAM_REASONS = "economics", "reasons"


class ChurnClassifier(PythonModel):
    def load_context(self, context) -> None:
        artifacts = context.artifacts
        self.preprocessor = ChurnPreprocessor.from_json(
            Path(artifacts[ARTIFACT_PREPROCESSOR]).read_text()
        )
        self.booster = xgb.Booster()
        self.booster.load_model(artifacts[ARTIFACT_BOOSTER])
        self.decision = RetentionDecision.from_dict(
            json.loads(Path(artifacts[ARTIFACT_DECISION]).read_text()))
        self.threshold = self.decision.threshold

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        rows = pd.DataFrame(model_input)
        features = self.preprocessor.transform(rows)
        probability = self.booster.predict(xgb.DMatrix(features)).astype("float64")
        answer = pd.DataFrame(
            {
                "churn_probability": probability,
                "churn_prediction": (probability >= self.threshold).astype(np.int64),
            },
            index=rows.index,
        )
        params = params or {}
        if params.get(PARAM_ECONOMICS) and self.decision.economics is not None:
            # The policy ranks the rows of this call: pass the whole contact list at once.
            value = self.decision.expected_values(rows, probability)
            answer["expected_value"] = value
            answer["rank"] = ranks(value)
            answer["contact"] = self.decision.contact(answer["churn_prediction"], value)
        if params.get(PARAM_REASONS):
            reasons = top_reasons(rows, features, contributions(self.booster, features),
                                  self.preprocessor)
            answer = pd.concat([answer, reasons], axis=1)
        return answer


mlflow.models.set_model(ChurnClassifier())
