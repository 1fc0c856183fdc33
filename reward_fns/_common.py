"""What every reward function here shares: its keyword arguments and how it reads a row.

All functions accept the same weight keywords and ignore those that do not apply (the
strength weight means nothing to the binary reward), so a recipe can declare every weight
once and swap the reward function by override alone. Any other keyword is a typo: it raises
a TypeError that names it, instead of training a whole run with a weight silently ignored.
"""

from __future__ import annotations

import math
import numbers
import unicodedata

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
    """reward_kwargs that no reward function here understands (a typo, a wrong variant, a nan weight).

    ``key`` names the offending keyword when there is one.
    """

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


def pure(function):
    """Mark a reward function as pure, fast CPU work (a few microseconds, no I/O).

    The thinkj reward manager calls such a function right on its event loop; any other
    synchronous function goes to a worker thread, as in verl's own managers. Handing a
    microsecond of work to a thread costs more than the work.
    """
    function.thinkj_pure = True
    return function


def check_kwargs(function: str, variant: str, extra: dict, weights: dict | None = None, require_think=False) -> None:
    """Refuse unknown keywords, unknown variants and weights that are not finite numbers.

    A weight of nan, inf, a string, null or a bool would make every reward nan or every
    sample an error; the manager's construction-time probe calls this, so a bad weight stops
    the run before its first rollout, naming the key.
    """
    for key, value in (weights or {}).items():
        # Fast path first: a plain float or int is finite when value - value == 0.
        if not ((type(value) is float or type(value) is int) and value - value == 0):
            _check_weight(function, key, value)
    if require_think is not False and require_think is not True:
        raise RewardKwargsError(
            f"{function}(): require_think={require_think!r} is not a boolean; set true or false",
            key="require_think",
        )
    if not extra and variant == "weighted":  # the common case, on every sample
        return
    unknown = sorted(set(extra) - WEIGHT_KWARGS - VERL_KWARGS)
    if unknown:
        raise RewardKwargsError(
            f"{function}() got unknown keyword argument(s) {unknown}; "
            f"reward_kwargs may set {sorted(WEIGHT_KWARGS)}"
        )
    for key in sorted(extra.keys() & WEIGHT_KWARGS - {"require_think", "variant"}):
        _check_weight(function, key, extra[key])  # weights this function ignores must still be numbers
    if variant not in VARIANTS:
        raise RewardKwargsError(
            f"{function}(): variant={variant!r}; choose one of {list(VARIANTS)}", key="variant"
        )


def _check_weight(function: str, key: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise RewardKwargsError(
            f"{function}(): {key}={value!r} is not a finite number; set a number such as 1.0", key=key
        )


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


def released_digits(digits: str) -> int | None:
    """The value of a released regex's ``\\d+`` group when it is 0..9, else None.

    ``\\d`` matches any Unicode decimal digit and the released code reads it with ``int()``
    (so ``[[03]]`` and an Arabic-Indic three are 3); only whether the value is 1, 2 or 3
    matters, so long digit runs are not converted (``int()`` refuses over 4300 digits).
    """
    significant = "".join(str(unicodedata.decimal(c)) for c in digits).lstrip("0")
    if len(significant) > 1:
        return None
    return int(significant or "0")
