"""The model families within one tuning budget against the default family alone, on the
shared Telco file and on generated customers (train/valid decide; test is shown for the
winner only, as the asset does).

    python -m benchmarks.family_bench [n_trials] [telco|<rows> ...]

Each table is built as the feature assets build it (the dataset YAML's column roles,
engineered features and splits) and trained with ``train_candidate`` twice: all families
sharing ``n_trials`` (and the timeout), then the default family alone with the same budget.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, load_dataset_config
from churn_assets.generator import generate_customers
from churn_assets.model.candidate import train_candidate
from churn_assets.model.families import DEFAULT_FAMILY, FAMILY_NAMES
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.tuning import open_study, study_storage
from churn_assets.names import LABEL, ROW_ID, SPLIT

TELCO_YAML = PROJECT_ROOT / "examples" / "telco.yaml"


def feature_table(name: str) -> tuple[pd.DataFrame, object]:
    if name == "telco":
        config = load_dataset_config(TELCO_YAML)
        customers = pd.read_csv(config.source)
    else:
        config = load_dataset_config(DEFAULT_CONFIG_PATH)
        customers = generate_customers(int(name), seed=7)
    split = assign_splits(customers[config.id_column], config.split)
    roles = infer_column_roles(customers, config)
    preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical,
                                     engineered=tuple(config.engineered_declarations())).fit(
        customers[split == "train"])
    meta = pd.DataFrame({ROW_ID: customers[config.id_column], SPLIT: split,
                         LABEL: binary_target(customers[config.target], config.positive_label)})
    return pd.concat([meta, preprocessor.transform(customers)], axis=1), config


def run(features: pd.DataFrame, tuning, families: tuple[str, ...], folder: Path):
    storage = study_storage(f"journal://{folder / ('-'.join(families) + '.journal')}")
    started = time.monotonic()
    candidate = train_candidate(features, tuning,
                                lambda family: open_study(storage, family, tuning.seed),
                                families=families)
    return candidate, time.monotonic() - started


def main(argv: list[str]) -> None:
    n_trials = int(argv[0]) if argv else 20
    for name in argv[1:] or ["telco", "100000"]:
        features, config = feature_table(name)
        tuning = config.tuning.model_copy(update={"n_trials": n_trials})
        with tempfile.TemporaryDirectory() as tmp:
            every, every_s = run(features, tuning, FAMILY_NAMES, Path(tmp))
            alone, alone_s = run(features, tuning, (DEFAULT_FAMILY,), Path(tmp))
        print(f"\n## {name}: {len(features)} rows, {n_trials} trials shared, "
              f"timeout {tuning.timeout_seconds}s shared\n")
        print(every.leaderboard().round(4).to_markdown(index=False))
        print(f"\nall families: {every_s:.1f} s, winner {every.family}: "
              f"test F1 {every.metrics['test_f1']:.4f}, "
              f"test ROC-AUC {every.metrics['test_roc_auc']:.4f}")
        print(f"{DEFAULT_FAMILY} alone ({n_trials} trials): {alone_s:.1f} s, valid log-loss "
              f"{alone.families[0].valid_log_loss:.4f}, "
              f"test F1 {alone.metrics['test_f1']:.4f}, "
              f"test ROC-AUC {alone.metrics['test_roc_auc']:.4f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
