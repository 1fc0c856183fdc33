"""Think-J's strength reward: the right verdict, in the right format, with the right strength.

    R = accuracy_weight * r_acc + format_weight * r_format + strength_weight * r_strength

- ``r_format`` = 1 when the reply holds the strength format (`thinkj_verl.parser` rules: one
  final sentence ``Therefore, Response (a) is better, and the strength is [[2]].`` after any
  thinking, strength in 1..3, ``<think>`` closed, not cut at the length limit), else 0.
- ``r_acc`` = 1 when the final verdict names the better response, else 0.
- ``r_strength`` = 1 - |true strength - predicted strength| / 2, in [0, 1]; only when the
  verdict is right, the format held and the label has a strength; else 0.

Defaults are the paper's best 32B setting (Table 8: format 1.0, strength 0.2; accuracy is
fixed at 1.0). ``variant="released"`` scores with the released Think-J ``reward_strength``
formula instead, with its own regex (`RELEASED_PATTERN`: the closing period required, no
"preference", no sign): first match anywhere in the reply, thinking included, wrong side or
none -> 0.0, right side -> 1 - | |g| - s | / 8, right side with a strength outside 1..3 -> 0.5,
tie (g = 0) -> 0.0. A cut reply is scored as the released code would, on its text.

>>> reply = "<think>(a) is correct.</think> Therefore, Response (a) is better, and the strength is [[3]]."
>>> compute_score("helpsteer2", reply, {"better": "a", "strength": 2, "scores": None})["score"]
2.1
"""

from __future__ import annotations

import re

from reward_fns._common import pure, released_digits, score_reply
from thinkj_verl.formats import STRENGTH_RANGE
from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.parser import Judgment

FORMAT = "strength"


# The released ``reward_strength`` regex, searched anywhere in the reply; stricter than the
# parser's sentence: the closing period is required and "preference strength" or a sign is not.
RELEASED_PATTERN = re.compile(r"Therefore, Response \((a|b)\) is better, and the strength is \[\[(\d+)\]\]\.")


def released_score(solution_str: str, label: GroundTruth) -> float:
    """The released ``reward_strength``: first match anywhere, by the signed-int label ``g``."""
    g = label.to_released(FORMAT)
    match = RELEASED_PATTERN.search(solution_str)
    if match is None or match.group(1) != ("a" if g < 0 else "b"):
        return 0.0
    strength = released_digits(match.group(2))
    low, high = STRENGTH_RANGE
    if strength is not None and low <= strength <= high:
        return 1.0 - abs(abs(g) - strength) / 8.0
    return 0.5


# The released formula's row for a tie label (g = 0): a tie has no better response, 0.0 whatever the reply.
RELEASED_TIE_ROW = dict.fromkeys(("score", "acc", "format", "verdict", "strength_pred", "r_strength"), 0.0) | {
    "strength_err": -1.0
}


@pure
def compute_score(data_source, solution_str, ground_truth, extra_info=None, *, accuracy_weight: float = 1.0,
                  format_weight: float = 1.0, strength_weight: float = 0.2, require_think: bool = False,
                  variant: str = "weighted", **kwargs) -> dict:
    """Score one judge reply; ``score`` is the reward, the other keys are its components."""
    return score_reply(
        "thinkj_strength", FORMAT, solution_str, ground_truth, extra_info, kwargs,
        weights={"accuracy_weight": accuracy_weight, "format_weight": format_weight, "strength_weight": strength_weight},
        require_think=require_think, variant=variant, components=strength_components, released_score=released_score,
        released_tie=RELEASED_TIE_ROW,
    )


def strength_components(judgment: Judgment, label: GroundTruth, row: dict) -> dict:
    """``strength_pred``, ``strength_err`` (-1 when not scored) and ``r_strength`` (see the module docstring)."""
    strength_err = -1.0
    r_strength = 0.0
    if row["acc"] and judgment.format_ok and label.strength is not None:
        strength_err = float(abs(label.strength - judgment.strength))
        r_strength = 1.0 - strength_err / 2.0
    return {"strength_pred": float(judgment.strength or 0), "strength_err": strength_err, "r_strength": r_strength}
