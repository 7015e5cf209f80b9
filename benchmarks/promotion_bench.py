"""The promotion rule's error rates (``make bench``; slow, so never in the tests).

Pure functions only (``model.candidate.train_candidate`` with a reduced trial budget, then
``registry.promotion_rule``), not whole Dagster runs: the same decisions at a fraction of
the cost on two shared cores. Per data set (bundled ``data/customers.csv``, the shared
Telco file if present):

* **null**: one champion and ``--retrains`` re-trainings on identical data that differ
  only in ``tuning.seed``, each judged on the same test split as the next look (the
  champion moves when one is promoted, as in a store). Counted: immediate promotions
  (target 0), candidates put on trial, and trials the labeled snapshots then promote.
  The old rule (F1, 95 % paired interval, every look at full error) is counted alongside.
* **better**: ``--cases`` pairs of a champion trained without its strongest column
  (``Contract``; then without ``Contract``, ``tenure``, ``TotalCharges``) and a challenger
  with them; the challenger is judged at once and, if inconclusive, on trial over fresh
  labeled snapshots (the trial alone is counted too). Counted: promoted within <= 2.
* **concept shift** (bundled only): a champion on the old concept, a challenger trained on
  generated customers after a full concept shift; judged on the shifted test rows.
* **metric choice**: on train/valid rows only (the test split untouched), a pseudo test
  split carved from the training rows: z = gain / standard error of re-seeded pairs (null)
  and of the with/without-Contract pairs (a real gain), per metric.

Fresh labeled snapshots: newly generated customers for the bundled data; for Telco, a
hash-chosen 30 % of the file held out of training altogether and cut into snapshots.

    python -m benchmarks.promotion_bench                  # both data sets, defaults
    python -m benchmarks.promotion_bench --retrains 10 --cases 10 --trials 3
    python -m benchmarks.promotion_bench --no-segments --skip metric,null,better,telco \
        --out .bench/promotion-no-segments.json   # the concept shift without the F1 segments
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import (
    DEFAULT_CONFIG_PATH,
    DatasetConfig,
    PromotionConfig,
    SplitConfig,
    load_dataset_config,
)
from churn_assets.generator import DistributionShift, generate_customers
from churn_assets.model.candidate import Candidate, train_candidate
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.tuning import make_pruner, make_sampler
from churn_assets.names import LABEL, ROW_ID, SPLIT
from churn_assets.registry.promotion_metrics import METRICS, promotion_metric
from churn_assets.registry.promotion_rule import (
    ScoredModel,
    decide_promotion,
    segment_table,
    snapshot_look,
    trial_rule,
)
from churn_assets.registry.sequential_evidence import CONTINUE, PROMOTED, RETIRED, judge_trial

ROOT = Path(__file__).resolve().parents[1]
SHARED_TELCO = ROOT.parent / "shared" / "data" / "telco-customer-churn.csv"
RESULTS = ROOT / ".bench"
STRONGEST = ("Contract",)  # the single strongest column (a small real gain on Telco)
STRONGEST_THREE = ("Contract", "tenure", "TotalCharges")  # the strongest columns
SNAPSHOT_ROWS = 1000
TRUTH_ROWS = 100_000  # generated customers on which a promoted re-seeded model's gain is known

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class Model:
    preprocessor: ChurnPreprocessor
    candidate: Candidate

    def score(self, rows: pd.DataFrame) -> ScoredModel:
        matrix = self.preprocessor.transform(rows)
        return ScoredModel(self.candidate.model.predict_proba(matrix), self.candidate.threshold)


def train(config: DatasetConfig, customers: pd.DataFrame, split: np.ndarray, seed: int,
          trials: int, drop: tuple[str, ...] = ()) -> Model:
    """The package's own path: column roles, preprocessing fitted on train, Optuna + XGBoost."""
    config = config.model_copy(update={"drop": tuple(config.drop) + drop})
    roles = infer_column_roles(customers, config)
    preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical,
                                     engineered=tuple(config.engineered_declarations())).fit(
        customers[split == "train"])
    meta = pd.DataFrame({ROW_ID: customers[config.id_column].to_numpy(), SPLIT: split,
                         LABEL: binary_target(customers[config.target],
                                              config.positive_label).to_numpy()})
    features = pd.concat([meta, preprocessor.transform(customers).reset_index(drop=True)],
                         axis=1)
    tuning = config.tuning.model_copy(update={
        "n_trials": trials, "seed": seed, "timeout_seconds": None, "max_estimators": 400,
        "early_stopping_rounds": 30, "n_jobs": 1, "parallel_trials": 1})
    study = lambda _family: optuna.create_study(  # noqa: E731
        direction="minimize", sampler=make_sampler(seed), pruner=make_pruner())
    return Model(preprocessor, train_candidate(features, tuning, study))


def labels_of(config: DatasetConfig, rows: pd.DataFrame) -> np.ndarray:
    return binary_target(rows[config.target], config.positive_label).to_numpy()


@dataclass
class DataSet:
    name: str
    config: DatasetConfig
    customers: pd.DataFrame  # training data (train/valid/test by the config's split)
    split: np.ndarray
    snapshots: list[pd.DataFrame]  # fresh labeled rows no model trains on
    truth: pd.DataFrame | None = None  # many more fresh rows: what a gain really is

    @property
    def test(self) -> pd.DataFrame:
        return self.customers[self.split == "test"]


def bundled(config: DatasetConfig, count: int) -> DataSet:
    customers = pd.read_csv(ROOT / "data" / "customers.csv")
    snapshots = [generate_customers(SNAPSHOT_ROWS, seed=1000 + i) for i in range(count)]
    for i, snapshot in enumerate(snapshots):  # never an id of the training file
        snapshot[config.id_column] = [f"snap{i}-{j}" for j in range(len(snapshot))]
    truth = generate_customers(TRUTH_ROWS, seed=9999)
    truth[config.id_column] = [f"truth-{j}" for j in range(len(truth))]
    return DataSet("bundled", config, customers,
                   assign_splits(customers[config.id_column], config.split).to_numpy(),
                   snapshots, truth)


def generated(config: DatasetConfig, count: int, rate: float = 0.15) -> DataSet:
    """A third table: generated customers at another churn rate, its own fresh rows."""
    customers = generate_customers(7043, seed=77, churn_rate=rate)
    snapshots = [generate_customers(SNAPSHOT_ROWS, seed=3000 + i, churn_rate=rate)
                 for i in range(count)]
    for i, snapshot in enumerate(snapshots):
        snapshot[config.id_column] = [f"gen-snap{i}-{j}" for j in range(len(snapshot))]
    truth = generate_customers(TRUTH_ROWS, seed=9998, churn_rate=rate)
    truth[config.id_column] = [f"gen-truth-{j}" for j in range(len(truth))]
    return DataSet(f"generated {rate:.0%}", config, customers,
                   assign_splits(customers[config.id_column], config.split).to_numpy(),
                   snapshots, truth)


def truth_auc_gain(data: DataSet, champion: Model, candidate: Model) -> float | None:
    """The ROC-AUC gain on ``TRUTH_ROWS`` fresh customers (s.e. ~0.0006): the real gain."""
    if data.truth is None:
        return None
    from sklearn.metrics import roc_auc_score

    labels = labels_of(data.config, data.truth)
    return float(roc_auc_score(labels, candidate.score(data.truth).probabilities)
                 - roc_auc_score(labels, champion.score(data.truth).probabilities))


def telco(config: DatasetConfig) -> DataSet:
    everything = pd.read_csv(SHARED_TELCO)
    pool = assign_splits(everything[config.id_column],
                         SplitConfig(test_fraction=0.3, salt="promotion-bench-pool")) == "test"
    customers = everything[~pool.to_numpy()].reset_index(drop=True)
    held_out = everything[pool.to_numpy()].reset_index(drop=True)
    size = len(held_out) // 2
    return DataSet("telco", config, customers,
                   assign_splits(customers[config.id_column], config.split).to_numpy(),
                   [held_out.iloc[:size], held_out.iloc[size:2 * size]])


def trial(data: DataSet, champion: Model, challenger: Model, settings: PromotionConfig,
          snapshots: list[pd.DataFrame]) -> tuple[str, int, list[str]]:
    """Judge ``challenger`` on the snapshots in order: (decision, snapshots used, log)."""
    looks, log = [], []
    rule = trial_rule(settings)
    for number, rows in enumerate(snapshots, start=1):
        labels = labels_of(data.config, rows)
        new, old = challenger.score(rows), champion.score(rows)
        looks.append(snapshot_look(new, old, labels, settings, f"snapshot {number}"))
        verdict = judge_trial(looks, rule, promotion_metric(settings.metric).label)
        log.append(verdict.reason)
        if verdict.decision == PROMOTED and any(  # the registry's segment rule, as at once
                row["blocked"] for row in segment_table(labels, rows, new, old, settings)):
            log.append("retired: a segment regresses")
            return RETIRED, number, log
        if verdict.decision != CONTINUE:
            return verdict.decision, number, log
    return CONTINUE, len(snapshots), log


def true_gain(data: DataSet, champion: Model, challenger: Model,
              settings: PromotionConfig) -> str:
    """The gain on ``TRUTH_ROWS`` fresh customers, with its 95 % interval: whether a trial's
    promotion of a re-seeded model was a false one or a real (if small) improvement."""
    labels = labels_of(data.config, data.truth)
    gain = promotion_metric(settings.metric).gain(
        labels, challenger.score(data.truth).probabilities, 0.5,
        champion.score(data.truth).probabilities, 0.5, resamples=200, seed=0)
    half = 1.96 * gain.standard_error
    return (f"true gain on {len(labels):,} fresh rows {gain.estimate:+.4f} "
            f"[{gain.estimate - half:+.4f}, {gain.estimate + half:+.4f}]")


def null_experiment(data: DataSet, settings: PromotionConfig, retrains: int,
                    trials: int) -> dict:
    test, labels = data.test, labels_of(data.config, data.test)
    champion = train(data.config, data.customers, data.split, 42, trials)
    promotions, on_trial, trial_promotions, old_rule, rows = 0, 0, 0, 0, []
    covered = []  # does the test-row interval (95 %, look 1's level) hold the real gain?
    for look, seed in enumerate(range(1, retrains + 1), start=1):
        candidate = train(data.config, data.customers, data.split, seed, trials)
        decision = decide_promotion(candidate.score(test), champion.score(test), labels, test,
                                    settings, look)
        real = truth_auc_gain(data, champion, candidate)
        if real is not None:
            covered.append((real, decision.roc_auc_delta.low <= real
                            <= decision.roc_auc_delta.high, decision.roc_auc_delta.estimate))
        old_promote = bool(decision.f1_delta.low > 0 and decision.roc_auc_delta.low > -0.02)
        old_rule += old_promote
        verdict = "-"
        if decision.outcome == "challenger":
            on_trial += 1
            verdict, used, _ = trial(data, champion, candidate, settings, data.snapshots)
            trial_promotions += verdict == PROMOTED
            verdict = f"{verdict} after {used}"
            if verdict.startswith(PROMOTED) and data.truth is not None:
                verdict += "; " + true_gain(data, champion, candidate, settings)
        rows.append({"seed": seed, "look": look, "outcome": decision.outcome,
                     "reason": decision.reason,
                     "gain": decision.gain.text(), "f1_delta": decision.f1_delta.text(),
                     "old_rule_promotes": old_promote, "trial": verdict, "real_gain": real})
        if decision.promote:
            promotions += 1
            champion = candidate
    coverage = {}
    if covered:
        real = np.array([c[0] for c in covered])
        coverage = {"roc_auc_interval_covers_real_gain": float(np.mean([c[1] for c in covered])),
                    "real_gain_sd": float(real.std(ddof=1)), "real_gain_max": float(real.max()),
                    "test_gain_sd": float(np.std([c[2] for c in covered], ddof=1))}
    return {"retrains": retrains, "promoted_at_once": promotions, "on_trial": on_trial,
            "promoted_by_trial": trial_promotions, "old_rule_promotions": old_rule,
            **coverage, "looks": rows}


def better_experiment(data: DataSet, settings: PromotionConfig, cases: int, trials: int,
                      concept_shift: bool = False, drop: tuple[str, ...] = STRONGEST) -> dict:
    rows, within_two, at_once = [], 0, 0
    for case in range(cases):
        if concept_shift:
            champion = train(data.config, data.customers, data.split, 100 + case, trials)
            shifted = generate_customers(len(data.customers), seed=300 + case,
                                         shift=DistributionShift(concept_shift=1.0))
            split = assign_splits(shifted[data.config.id_column], data.config.split).to_numpy()
            challenger = train(data.config, shifted, split, 200 + case, trials)
            test = shifted[split == "test"]
            snapshots = [generate_customers(SNAPSHOT_ROWS, seed=2000 + 10 * case + i,
                                            shift=DistributionShift(concept_shift=1.0))
                         for i in range(2)]
        else:
            champion = train(data.config, data.customers, data.split, 100 + case, trials,
                             drop=drop)
            challenger = train(data.config, data.customers, data.split, 200 + case, trials)
            test = data.test
            order = np.random.default_rng(case).permutation(len(data.snapshots))
            snapshots = [data.snapshots[i] for i in order[:2]]
        labels = labels_of(data.config, test)
        decision = decide_promotion(challenger.score(test), champion.score(test), labels, test,
                                    settings, look=1)
        verdict, used, log = trial(data, champion, challenger, settings, snapshots)
        # As in the registry: only an inconclusive candidate goes on trial.
        promoted_in = (0 if decision.promote else used if verdict == PROMOTED
                       and decision.outcome == "challenger" else None)
        at_once += decision.promote
        within_two += promoted_in is not None and promoted_in <= 2
        rows.append({"case": case, "at_once": decision.outcome, "gain": decision.gain.text(),
                     "reason": decision.reason,
                     "trial_alone": f"{verdict} after {used}", "promoted_within": promoted_in,
                     "trial_log": log})
    return {"cases": cases, "promoted_at_once": at_once, "promoted_within_2": within_two,
            "trial_alone_promoted_within_2": sum(r["trial_alone"].startswith(PROMOTED)
                                                 for r in rows),
            "rows": rows}


def metric_choice(data: DataSet, trials: int, seeds: int = 6, weak_seeds: int = 4) -> dict:
    """z = gain / standard error per metric on a pseudo test split carved from train rows."""
    keep = data.split != "test"
    customers = data.customers[keep].reset_index(drop=True)
    carve = assign_splits(customers[data.config.id_column],
                          SplitConfig(valid_fraction=0.15, test_fraction=0.25,
                                      salt="promotion-bench-metric")).to_numpy()
    split = np.where(data.split[keep] == "valid", "valid",
                     np.where(carve == "test", "test", "train"))
    pseudo = customers[split == "test"]
    labels = labels_of(data.config, pseudo)
    full = [train(data.config, customers, split, 10 + s, trials).score(pseudo)
            for s in range(seeds)]
    weak = [train(data.config, customers, split, 50 + s, trials, drop=STRONGEST).score(pseudo)
            for s in range(weak_seeds)]
    table = {}
    for name, metric in METRICS.items():
        if metric.needs_context:  # expected_profit: needs economics, not part of the choice
            continue

        def z(a: ScoredModel, b: ScoredModel, metric=metric) -> float:
            gain = metric.gain(labels, a.probabilities, a.threshold, b.probabilities,
                               b.threshold, resamples=500, seed=0)
            return gain.estimate / gain.standard_error
        null = [z(a, b) for a, b in itertools.combinations(full, 2)]
        real = [z(a, b) for a in full for b in weak]
        spread = float(np.sqrt(np.mean(np.square(null))))  # rms: 1 if only row noise
        table[name] = {"null_z_rms": round(spread, 3), "real_z_mean": round(
            float(np.mean(real)), 3), "separation": round(float(np.mean(real)) / spread, 3),
            "real_z_min": round(float(np.min(real)), 3)}
    return {"pseudo_test_rows": len(pseudo), "null_pairs": len(full) * (len(full) - 1) // 2,
            "real_pairs": len(full) * len(weak), "metrics": table}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrains", type=int, default=10)
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--trials", type=int, default=3, help="Optuna trials per model")
    parser.add_argument("--metric", default=None, help="promotion.metric (default: config's)")
    parser.add_argument("--no-segments", action="store_true",
                        help="promotion.segments off (the F1 segment rule)")
    parser.add_argument("--out", type=Path, default=RESULTS / "promotion.json")
    parser.add_argument("--skip", default="", help="comma list: metric,null,better,"
                        "better_three,concept,bundled,telco,generated")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    config = load_dataset_config(DEFAULT_CONFIG_PATH)
    settings = config.promotion.model_copy(update={
        "metric": args.metric or config.promotion.metric,
        **({"segments": ()} if args.no_segments else {})})
    sets = [bundled(config, 6)] if "bundled" not in skip else []
    if SHARED_TELCO.is_file() and "telco" not in skip:
        sets.append(telco(load_dataset_config(ROOT / "examples" / "telco.yaml")))
    if "generated" not in skip:
        sets.append(generated(config, 6))
    results: dict = {"settings": settings.model_dump(mode="json"), "trials": args.trials}
    for data in sets:
        started, entry = time.monotonic(), {}
        if "metric" not in skip:
            entry["metric_choice"] = metric_choice(data, args.trials)
            print(data.name, "metric choice", json.dumps(entry["metric_choice"]), flush=True)
        if "null" not in skip:
            entry["null"] = null_experiment(data, settings, args.retrains, args.trials)
            print(data.name, "null", json.dumps({k: v for k, v in entry["null"].items()
                                                 if k != "looks"}), flush=True)
        if "better" not in skip:
            for key, drop in (("better", STRONGEST), ("better_three", STRONGEST_THREE)):
                if key in skip:
                    continue
                entry[key] = better_experiment(data, settings, args.cases, args.trials,
                                               drop=drop)
                print(data.name, key, json.dumps({k: v for k, v in entry[key].items()
                                                  if k != "rows"}), flush=True)
        if data.name == "bundled" and "concept" not in skip:
            entry["concept_shift"] = better_experiment(data, settings, args.cases, args.trials,
                                                       concept_shift=True)
        entry["seconds"] = round(time.monotonic() - started, 1)
        results[data.name] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    report(results)
    return results


def report(results: dict) -> None:
    print("\n| data | experiment | N | promoted at once | on trial | promoted by trial "
          "| promoted within 2 snapshots | old rule (F1, 95%) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in [k for k, v in results.items() if isinstance(v, dict) and "seconds" in v]:
        entry = results.get(name)
        if not entry:
            continue
        if "null" in entry:
            n = entry["null"]
            print(f"| {name} | identical data, new seed | {n['retrains']} | "
                  f"{n['promoted_at_once']} | {n['on_trial']} | {n['promoted_by_trial']} | - | "
                  f"{n['old_rule_promotions']} |")
            if "real_gain_sd" in n:
                print(f"  real gains: sd {n['real_gain_sd']:.4f}, max {n['real_gain_max']:+.4f};"
                      f" test-row gains sd {n['test_gain_sd']:.4f}; the 95 % ROC-AUC delta "
                      f"interval held the real gain in "
                      f"{n['roc_auc_interval_covers_real_gain']:.0%}")
        for key, label in (("better", "champion without Contract"),
                           ("better_three", "champion without Contract, tenure, TotalCharges"),
                           ("concept_shift", "concept shift")):
            if key in entry:
                b = entry[key]
                print(f"| {name} | {label} | {b['cases']} | {b['promoted_at_once']} | - | "
                      f"{b['trial_alone_promoted_within_2']} (trial alone) | "
                      f"{b['promoted_within_2']} | - |")
    for name in ("bundled", "telco"):
        choice = results.get(name, {}).get("metric_choice")
        if choice:
            print(f"\n{name}: metric choice on {choice['pseudo_test_rows']} pseudo-test rows "
                  f"({choice['null_pairs']} re-seeded pairs, {choice['real_pairs']} real pairs)")
            print("| metric | null z rms | real z mean | real z min | separation |")
            print("|---|---|---|---|---|")
            for metric, row in choice["metrics"].items():
                print(f"| {metric} | {row['null_z_rms']} | {row['real_z_mean']} | "
                      f"{row['real_z_min']} | {row['separation']} |")


if __name__ == "__main__":
    main(sys.argv[1:])
