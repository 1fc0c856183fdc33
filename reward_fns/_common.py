"""What every reward function here shares: its keyword arguments and how it reads a row.

All functions accept the same weight keywords and ignore those that do not apply (the
strength weight means nothing to the binary reward), so a recipe can declare every weight
once and swap the reward function by override alone. Any other keyword is a typo: it raises
a TypeError that names it, instead of training a whole run with a weight silently ignored.
"""

from __future__ import annotations

from thinkj_verl.ground_truth import GroundTruth, parse_ground_truth
from thinkj_verl.parser import Judgment, parse_judgment

WEIGHT_KWARGS = frozenset(
    {"accuracy_weight", "format_weight", "strength_weight", "margin_weight", "require_think", "variant"}
)
# verl adds these when a reward-model router is configured; they mean nothing to a rule.
VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})
VARIANTS = ("weighted", "released")

VERDICT_CODE = {"a": 1.0, "b": 2.0, None: 0.0}


class RewardKwargsError(TypeError, ValueError):
    """reward_kwargs that no reward function here understands (a typo, a wrong variant)."""


def pure(function):
    """Mark a reward function as pure, fast CPU work (a few microseconds, no I/O).

    The thinkj reward manager calls such a function right on its event loop; any other
    synchronous function goes to a worker thread, as in verl's own managers. Handing a
    microsecond of work to a thread costs more than the work.
    """
    function.thinkj_pure = True
    return function


def check_kwargs(function: str, variant: str, extra: dict) -> None:
    if not extra and variant == "weighted":  # the common case, on every sample
        return
    unknown = sorted(set(extra) - WEIGHT_KWARGS - VERL_KWARGS)
    if unknown:
        raise RewardKwargsError(
            f"{function}() got unknown keyword argument(s) {unknown}; "
            f"reward_kwargs may set {sorted(WEIGHT_KWARGS)}"
        )
    if variant not in VARIANTS:
        raise RewardKwargsError(f"{function}(): variant={variant!r}; choose one of {list(VARIANTS)}")


def judge_row(
    solution_str: str, ground_truth, extra_info, fmt: str, require_think: bool
) -> tuple[Judgment, GroundTruth]:
    """Parse the reply and the label of one row. ``extra_info["truncated"]`` marks a cut reply."""
    truncated = bool((extra_info or {}).get("truncated", False))
    judgment = parse_judgment(solution_str, fmt, require_think=require_think, truncated=truncated)
    return judgment, parse_ground_truth(ground_truth, fmt)


def verdict_components(judgment: Judgment, label: GroundTruth) -> dict:
    """``acc``, ``format`` and ``verdict``: the components every reward function here reports."""
    return {
        "acc": 1.0 if judgment.verdict == label.better else 0.0,
        "format": 1.0 if judgment.format_ok else 0.0,
        "verdict": VERDICT_CODE[judgment.verdict],
    }


def is_released_tie(ground_truth) -> bool:
    """The released encoding's 0: a tie, which the released formulas score 0.0."""
    return not isinstance(ground_truth, bool) and isinstance(ground_truth, int) and ground_truth == 0
