"""Fixtures shared by the model tests."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import DatasetConfig
from churn_assets.generator import generate_customers
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.names import LABEL, SPLIT
from churn_assets.names import ROW_ID as ID


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    """The feature table as the customer_features asset builds it, for 400 customers."""
    customers = generate_customers(400, seed=21)
    config = DatasetConfig(source="x.csv", target="Churn", positive_label="Yes",
                           id_column="customerID", model_name="churn-test")
    split = assign_splits(customers["customerID"], config.split)
    label = binary_target(customers["Churn"], config.positive_label)
    roles = infer_column_roles(customers, config)
    train = split == "train"
    prep = ChurnPreprocessor(roles.numeric, roles.categorical).fit(customers[train])
    matrix = prep.transform(customers)
    meta = pd.DataFrame({ID: customers["customerID"], SPLIT: split, LABEL: label})
    return pd.concat([meta, matrix], axis=1)
