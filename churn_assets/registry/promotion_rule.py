"""The champion/challenger rule: promote only a candidate that is really better."""

from __future__ import annotations

from dataclasses import dataclass

from churn_assets.dataset_config import PromotionConfig


@dataclass(frozen=True)
class Scores:
    f1: float
    roc_auc: float


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def decide_promotion(
    candidate: Scores, champion: Scores | None, rules: PromotionConfig
) -> PromotionDecision:
    """Both scores must come from the same test rows; floors apply to every candidate."""
    if candidate.f1 < rules.min_f1:
        return PromotionDecision(False, f"test F1 {candidate.f1:.4f} below floor {rules.min_f1}")
    if candidate.roc_auc < rules.min_roc_auc:
        return PromotionDecision(
            False, f"test ROC-AUC {candidate.roc_auc:.4f} below floor {rules.min_roc_auc}"
        )
    if champion is None:
        return PromotionDecision(True, "first model to pass the floors")
    gain = candidate.f1 - champion.f1
    # With no margin asked for a tie is no improvement; the epsilon absorbs float noise
    # such as 0.72 - 0.70 = 0.0199999.
    better = gain >= rules.min_delta - 1e-9 if rules.min_delta > 0 else gain > 1e-9
    if better:
        return PromotionDecision(True, f"F1 gain {gain:+.4f} over champion meets min_delta "
                                       f"{rules.min_delta}")
    return PromotionDecision(False, f"F1 gain {gain:+.4f} over champion below min_delta "
                                    f"{rules.min_delta}")
