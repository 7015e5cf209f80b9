"""A small real pyfunc for registry tests (logged as models-from-code).

It looks each customer's churn probability up in its JSON artifact, so a test decides
exactly how good a "model" is; ``columns`` in the artifact lets a test log one that breaks
the serving contract.
"""

import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class LookupModel(PythonModel):
    def load_context(self, context) -> None:
        state = json.loads(Path(context.artifacts["state"]).read_text())
        self.probability = state["probability"]
        self.threshold = state["threshold"]
        self.columns = state.get("columns", ["churn_probability", "churn_prediction"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        probability = model_input["customerID"].map(self.probability).fillna(0.5).astype(float)
        return pd.DataFrame({self.columns[0]: probability,
                             self.columns[1]: (probability >= self.threshold).astype(int)},
                            index=model_input.index)


mlflow.models.set_model(LookupModel())
