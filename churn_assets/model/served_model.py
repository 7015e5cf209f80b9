"""The served model: raw customer rows in, ``churn_probability`` and ``churn_prediction`` out.

Logged with MLflow's models-from-code: this file, ``preprocessing.py`` and the ``families``
package are copied into the model, which therefore loads with mlflow, pandas, scikit-learn
and the family's own library — no Dagster, no pickle. Artifacts: the fitted preprocessor
(JSON), the family's model folder (its own format, plus ``family.json``) and the decision
threshold chosen on the validation split.

Interface for code that extends it: ``self.preprocessor`` (raw rows -> model matrix),
``self.threshold`` and ``self.model``, a family model with ``predict_proba(matrix)`` (1-d
churn probabilities) and ``contributions(matrix)`` (rows x (features + 1) log-odds, bias
last).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

try:  # inside a logged model, code_paths puts preprocessing.py and families/ on sys.path
    from preprocessing import ChurnPreprocessor

    # MLflow prepends each loaded model's code folder to sys.path; a model loaded earlier in
    # this process left its own ``families`` (whose folder may be gone) in sys.modules, and
    # this model's family modules are imported lazily from it: import this model's afresh.
    for _name in [n for n in sys.modules if n == "families" or n.startswith("families.")]:
        del sys.modules[_name]
    from decision_policy import RetentionDecision, ranks
    from families import load_fitted
    from reason_codes import reason_texts
    from small_frames import columns_of
except ImportError:  # imported from the installed package
    from churn_assets.model.decision_policy import RetentionDecision, ranks
    from churn_assets.model.families import load_fitted
    from churn_assets.model.preprocessing import ChurnPreprocessor
    from churn_assets.model.reason_codes import reason_texts
    from churn_assets.model.small_frames import columns_of

ARTIFACT_PREPROCESSOR = "preprocessor"
ARTIFACT_MODEL = "family_model"
ARTIFACT_DECISION = "decision"
# Optional predict params (declared in the signature); both off keeps the two-column contract.
PARAM_ECONOMICS, PARAM_REASONS = "economics", "reasons"

class ChurnClassifier(PythonModel):
    def load_context(self, context) -> None:
        artifacts = context.artifacts
        self.preprocessor = ChurnPreprocessor.from_json(
            Path(artifacts[ARTIFACT_PREPROCESSOR]).read_text()
        )
        self.model = load_fitted(artifacts[ARTIFACT_MODEL])
        self.decision = RetentionDecision.from_dict(
            json.loads(Path(artifacts[ARTIFACT_DECISION]).read_text()))
        self.threshold = self.decision.threshold

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        rows = pd.DataFrame(model_input)
        columns = columns_of(rows)  # a few rows: taken out once for both readers below
        features = self.preprocessor.transform(rows, columns)
        probability = self.model.predict_proba(features)
        prediction = (probability >= self.threshold).astype(np.int64)
        # Built as one frame at the end: each column added or concatenated to a pandas frame
        # costs more than the arithmetic for the few rows of an online request.
        answer = {"churn_probability": probability, "churn_prediction": prediction}
        params = params or {}
        if params.get(PARAM_ECONOMICS) and self.decision.economics is not None:
            # The policy ranks the rows of this call: pass the whole contact list at once.
            value = self.decision.expected_values(rows, probability)
            answer["expected_value"] = value
            answer["rank"] = ranks(value)
            answer["contact"] = self.decision.contact(prediction, value)
        if params.get(PARAM_REASONS):
            contribution = np.asarray(self.model.contributions(features))[:, :-1]  # no bias
            answer.update(reason_texts(rows, features, contribution, self.preprocessor,
                                       columns=columns))
        return pd.DataFrame(answer, index=rows.index)


mlflow.models.set_model(ChurnClassifier())
