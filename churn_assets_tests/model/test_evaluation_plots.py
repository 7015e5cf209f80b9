"""Evaluation pictures of a small real candidate: every PNG written, small, embeddable."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.metrics import brier_score_loss

from churn_assets.model.candidate import split_matrix
from churn_assets.model.evaluation_plots import (
    EMBED_LIMIT_BYTES,
    SHAP_ROWS,
    markdown_with_images,
    parameter_importance_figure,
    shap_contributions,
    shap_figure,
    top_features,
    write_evaluation_plots,
)
from churn_assets_tests.helpers.small_candidate import SmallCandidate, train_small_candidate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVERY_PICTURE = ["roc_curve", "pr_curve", "confusion_matrix", "calibration_curve",
                 "feature_importance", "shap_summary", "optimisation_history",
                 "parameter_importance"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> SmallCandidate:
    return train_small_candidate(tmp_path_factory.mktemp("plots"))


def study_of(trained: SmallCandidate) -> optuna.Study:
    return trained.study


def test_every_picture_is_a_small_png(trained: SmallCandidate, tmp_path: Path) -> None:
    x_test, y_test = split_matrix(trained.features, "test")
    model = trained.candidate.model
    probability = model.predict_proba(x_test)

    pictures = write_evaluation_plots(
        tmp_path / "pictures", y_test, probability, trained.candidate.threshold,
        model=model, features=x_test, study=study_of(trained))

    assert list(pictures.paths) == EVERY_PICTURE
    for path in pictures.paths.values():
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert 2_000 < len(data) < EMBED_LIMIT_BYTES, path.name
    assert pictures.brier_score == pytest.approx(brier_score_loss(y_test, probability))
    assert 0 < pictures.brier_score < 0.25  # better than always answering 0.5


def test_without_model_or_study_only_the_curves(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    probability = np.clip(labels * 0.4 + rng.uniform(0, 0.6, 300), 0, 1)
    pictures = write_evaluation_plots(tmp_path, labels, probability, 0.5)
    assert list(pictures.paths) == EVERY_PICTURE[:4]


def test_shap_contributions_add_up_to_the_prediction(trained: SmallCandidate) -> None:
    x_test, _ = split_matrix(trained.features, "test")
    contributions = shap_contributions(trained.candidate.model, x_test.head(50))
    classifier = trained.candidate.model.classifier
    margin = classifier.predict(x_test.head(50), output_margin=True)
    bias = margin - contributions.sum(axis=1).to_numpy()
    assert np.allclose(bias, bias[0], atol=1e-4)  # contributions + one constant = log-odds
    assert list(contributions.columns) == list(x_test.columns)


def test_shap_picture_shows_xgboost_own_contributions(trained: SmallCandidate) -> None:
    """Each dot of a feature's row is one sampled test customer at XGBoost's own TreeSHAP
    value (``pred_contribs``) for that feature, however the model computes it."""
    import xgboost as xgb

    x_test, _ = split_matrix(trained.features, "test")
    model = trained.candidate.model
    ax = shap_figure(model, x_test).axes[0]
    rows = x_test.sample(SHAP_ROWS, random_state=0) if len(x_test) > SHAP_ROWS else x_test
    theirs = model.booster.predict(xgb.DMatrix(rows), pred_contribs=True).astype("float64")
    shown = [label.get_text() for label in ax.get_yticklabels()]
    assert len(shown) == len(ax.collections) > 0
    for name, dots in zip(shown, ax.collections, strict=True):
        column = list(x_test.columns).index(name)
        assert np.array_equal(dots.get_offsets()[:, 0], theirs[:, column]), name


def test_top_features_are_shares_of_gain(trained: SmallCandidate) -> None:
    top = top_features(trained.candidate.model, top=5)
    shares = [share for _, share in top]
    assert len(top) == 5 and shares == sorted(shares, reverse=True)
    assert 0 < sum(shares) <= 1 + 1e-9


def test_markdown_embeds_images_and_names_oversized_ones(tmp_path: Path) -> None:
    small, large = tmp_path / "roc_curve.png", tmp_path / "shap_summary.png"
    small.write_bytes(PNG_SIGNATURE + b"x" * 100)
    large.write_bytes(PNG_SIGNATURE + b"x" * 100)
    markdown = markdown_with_images({"roc_curve": small, "shap_summary": large},
                                    limit_bytes=50)
    assert "too large to embed" in markdown and "shap_summary.png" in markdown
    markdown = markdown_with_images({"roc_curve": small})
    encoded = markdown.split("data:image/png;base64,")[1].rstrip(")")
    assert base64.b64decode(encoded) == small.read_bytes()
    assert markdown.startswith("**Roc curve**")


def test_a_model_without_any_split_still_gets_its_pictures(tmp_path: Path) -> None:
    """Early stopping on labels with no signal can keep only split-less trees."""
    import pandas as pd
    import xgboost as xgb

    from churn_assets.model.families.xgboost_family import XGBoostModel

    rng = np.random.default_rng(1)
    features = pd.DataFrame({"noise": rng.normal(size=300)})
    labels = rng.integers(0, 2, 300)
    model = xgb.XGBClassifier(n_estimators=3, min_child_weight=1e6, n_jobs=1)
    model.fit(features, labels)
    probability = model.predict_proba(features)[:, 1]
    assert top_features(XGBoostModel.of(model)) == []
    pictures = write_evaluation_plots(tmp_path, labels, probability, 0.5,
                                      XGBoostModel.of(model), features)
    assert pictures.paths["feature_importance"].read_bytes().startswith(PNG_SIGNATURE)


def test_trials_that_all_scored_the_same_get_no_parameter_importance(tmp_path: Path) -> None:
    # fANOVA has no spread to explain; the run must not fail on a picture.
    study = optuna.create_study()
    study.optimize(lambda trial: trial.suggest_float("eta", 0.01, 0.3) * 0 + 0.5, n_trials=3)
    labels = np.array([0, 1, 0, 1, 1, 0])
    probabilities = np.array([0.1, 0.8, 0.3, 0.7, 0.6, 0.2])
    pictures = write_evaluation_plots(tmp_path, labels, probabilities, 0.5, study=study)
    assert "optimisation_history" in pictures.paths
    assert "parameter_importance" not in pictures.paths
    with pytest.raises(RuntimeError, match="zero total variance"):  # what it guards against
        parameter_importance_figure(study)
