"""What every reward function here shares: the body of ``compute_score`` and the released helpers.

All functions accept the same weight keywords and ignore those that do not apply (the
strength weight means nothing to the binary reward), so a recipe can declare every weight
once and swap the reward function by override alone. Any other keyword is a typo: it raises
a TypeError that names it, instead of training a whole run with a weight silently ignored.
The keyword contract, the `pure` marker and the row reading live in `thinkj_verl.rewards`
(the reward manager reads them there; the package's core never imports this package).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.parser import Judgment
from thinkj_verl.rewards import RewardKwargsError, check_kwargs, judge_row, pure, verdict_components

__all__ = ["RewardKwargsError", "is_released_tie", "pure", "released_digits", "score_reply"]

# The component each weight keyword multiplies in the weighted reward.
WEIGHTED_COMPONENT = {
    "accuracy_weight": "acc",
    "format_weight": "format",
    "strength_weight": "r_strength",
    "margin_weight": "margin",
}


def score_reply(
    name: str,
    fmt: str,
    solution_str: str,
    ground_truth,
    extra_info,
    kwargs: dict,
    *,
    weights: dict,
    require_think: bool,
    variant: str,
    components: Callable[[Judgment, GroundTruth, dict], dict] | None = None,
    released_score: Callable[[str, GroundTruth], float] | None = None,
    score: Callable[[dict], float] | None = None,
    released_tie: dict | None = None,
) -> dict:
    """The body of every ``compute_score`` here: check the keywords, read the reply and the
    label, report the components, and score them.

    ``components(judgment, label, row)`` adds the function's own components to the shared
    ``acc`` / ``format`` / ``verdict`` row. The score is ``released_score(reply, label)`` for
    ``variant="released"`` (a function without one refuses that variant), else ``score(row)``
    when given, else the sum of each weight times its component (`WEIGHTED_COMPONENT`).
    ``released_tie`` is the row the released formula gives a tie label (the released strength
    encoding's 0).

    >>> score_reply("f", "binary", "Therefore, Response (a) is better.", {"better": "a"}, None, {},
    ...             weights={"accuracy_weight": 1.0, "format_weight": 0.5}, require_think=False, variant="weighted")
    {'score': 1.5, 'acc': 1.0, 'format': 1.0, 'verdict': 1.0}
    """
    check_kwargs(f"{name}.compute_score", variant, kwargs, weights, require_think)
    if variant == "released":
        if released_score is None:
            # A rule Think-J never released: scoring "released" with it would be a silent lie.
            raise RewardKwargsError(
                f"{name}.compute_score(): variant='released' does not exist for the "
                f"{fmt.replace('_', '-')} reward (Think-J released strength, binary and score rewards); "
                "use variant='weighted'",
                key="variant",
            )
        if released_tie is not None and is_released_tie(ground_truth):
            return dict(released_tie)
    judgment, label = judge_row(solution_str, ground_truth, extra_info, fmt, require_think)
    row = verdict_components(judgment, label)
    if components is not None:
        row.update(components(judgment, label, row))
    if variant == "released":
        value = released_score(judgment.text, label)
    elif score is not None:
        value = score(row)
    else:
        value = sum(weight * row[WEIGHTED_COMPONENT[key]] for key, weight in weights.items())
    return {"score": float(value), **row}


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
