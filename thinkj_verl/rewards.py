"""What the reward functions (`reward_fns`) and the ``thinkj`` reward manager agree on.

The package's core never imports `reward_fns`: the reward functions are built on this module,
and the manager reads only this module (and the configured function, by its path).

- `DEFAULT_REWARD_PATH`: the reward function used when ``reward.custom_reward_function.path``
  is unset (the one place it is written in Python; the recipes' YAML states it too).
- `pure` / `is_pure`: the marker for fast pure functions the manager may call on its event loop.
- `check_kwargs` / `RewardKwargsError`: the keyword contract every reward function keeps.
- `judge_row` / `verdict_components`: how a reward function reads one row and reports the
  components every function shares.

>>> judgment, label = judge_row("Therefore, Response (b) is better.", {"better": "b"}, None, "binary", False)
>>> verdict_components(judgment, label)
{'acc': 1.0, 'format': 1.0, 'verdict': 2.0}
"""

from __future__ import annotations

import math
import numbers

from thinkj_verl.ground_truth import GroundTruth, is_right, parse_ground_truth
from thinkj_verl.parser import Judgment, parse_judgment

DEFAULT_REWARD_PATH = "pkg://reward_fns.thinkj_strength"
DEFAULT_REWARD_MODULE = DEFAULT_REWARD_PATH.removeprefix("pkg://")

WEIGHT_KWARGS = frozenset(
    {"accuracy_weight", "format_weight", "strength_weight", "margin_weight", "require_think", "variant"}
)
# verl adds these when a reward-model router is configured; they mean nothing to a rule.
VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})
VARIANTS = ("weighted", "released")

VERDICT_CODE = {"a": 1.0, "b": 2.0, None: 0.0}

PURE_MARKER = "thinkj_pure"


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

    >>> is_pure(pure(lambda **kwargs: 0.0)), is_pure(lambda **kwargs: 0.0)
    (True, False)
    """
    setattr(function, PURE_MARKER, True)
    return function


def is_pure(function) -> bool:
    """Whether ``function`` (the raw function, not a wrapper) is marked with `pure`."""
    return getattr(function, PURE_MARKER, False) is True


def check_kwargs(function: str, variant: str, extra: dict, weights: dict | None = None, require_think=False) -> None:
    """Refuse unknown keywords, unknown variants and weights that are not finite numbers.

    A weight of nan, inf, a string, null or a bool would make every reward nan or every
    sample an error; the manager's construction-time probe calls this, so a bad weight stops
    the run before its first rollout, naming the key.

    >>> check_kwargs("f", "weighted", {"acuracy_weight": 1.0})
    Traceback (most recent call last):
    ...
    thinkj_verl.rewards.RewardKwargsError: f() got unknown keyword argument(s) ['acuracy_weight']; \
reward_kwargs may set ['accuracy_weight', 'format_weight', 'margin_weight', 'require_think', 'strength_weight', 'variant']
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
    """``acc``, ``format`` and ``verdict``: the components every reward function here reports.

    ``acc`` is the verdict alone (`thinkj_verl.ground_truth.is_right` without the format
    condition): the reward's format term already pays for the format.
    """
    return {
        "acc": 1.0 if is_right(judgment, label.better, need_format=False) else 0.0,
        "format": 1.0 if judgment.format_ok else 0.0,
        "verdict": VERDICT_CODE[judgment.verdict],
    }
