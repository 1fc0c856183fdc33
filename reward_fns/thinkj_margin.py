"""The two-score margin reward: scores for both responses, rewarded by how far apart they are.

    R = accuracy_weight * r_acc + format_weight * r_format + margin_weight * r_margin

- ``r_format`` = 1 when the reply ends with ``... are [[30]] and [[50]], respectively.`` (or
  the released ``<Score 1>30</Score 1> ... <Score 2>50</Score 2>``), both scores in 0..100 and
  not equal; ``r_acc`` = 1 when the higher score belongs to the better response;
- ``r_margin`` = |score_a - score_b| / 100 when right, minus that when wrong, 0 without a valid
  judgment; in [-1, 1].

The paper reports that this reward gets hacked (scores pushed to 0 and 100) and trails the
strength reward; it is here for that ablation. ``variant="released"`` is the released
``reward_score`` with its regex (`RELEASED_PATTERN`: ``<Score 1>`` ... ``<Score 2>`` on one
line, decimals allowed); right side 1 + min(margin, 1), wrong side (or equal scores)
max(-margin, -1), none 0.5; two scores too long to be finite (released: nan) 0.5.

>>> compute_score("skywork", "Therefore, the quality scores for Response (a) and Response (b) "
...               "are [[20]] and [[90]], respectively.", {"better": "b"})["score"]
2.7
"""

from __future__ import annotations

import re

from reward_fns._common import pure, score_reply
from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.parser import Judgment

FORMAT = "scores"


# The released ``reward_score`` regex: plain (possibly decimal) numbers right inside the tags,
# both tags on one line (no DOTALL); the first <Score 1> with the last <Score 2> after it.
RELEASED_PATTERN = re.compile(r"<Score 1>(\d*\.?\d+)</Score 1>.*<Score 2>(\d*\.?\d+)</Score 2>")


def released_score(solution_str: str, label: GroundTruth) -> float:
    """The released ``reward_score``: right side 1 + min(margin, 1), else max(-margin, -1), none 0.5; two scores too long to be finite (released: nan) 0.5."""
    match = RELEASED_PATTERN.search(solution_str)
    if match is None:
        return 0.5
    score_1, score_2 = float(match.group(1)), float(match.group(2))
    margin = abs(score_1 - score_2) / 100
    if margin != margin:
        # Two scores of 309+ digits both read as inf: the released code returns nan here, which
        # would turn a whole GRPO group's advantages into nan. The one deliberate difference.
        return 0.5
    if (score_1 > score_2 and label.better == "a") or (score_1 < score_2 and label.better == "b"):
        return min(margin, 1.0) + 1.0
    return max(-margin, -1.0)


@pure
def compute_score(data_source, solution_str, ground_truth, extra_info=None, *, accuracy_weight: float = 1.0,
                  format_weight: float = 1.0, margin_weight: float = 1.0, require_think: bool = False,
                  variant: str = "weighted", **kwargs) -> dict:
    """Score one judge reply; ``score`` is the reward, the other keys are its components."""
    return score_reply(
        "thinkj_margin", FORMAT, solution_str, ground_truth, extra_info, kwargs,
        weights={"accuracy_weight": accuracy_weight, "format_weight": format_weight, "margin_weight": margin_weight},
        require_think=require_think, variant=variant, components=margin_components, released_score=released_score,
    )


def margin_components(judgment: Judgment, label: GroundTruth, row: dict) -> dict:
    """``margin``: the score gap / 100, signed by whether the verdict is right; 0 without a valid judgment."""
    r_margin = 0.0
    if judgment.format_ok:
        margin = abs(judgment.scores[0] - judgment.scores[1]) / 100.0
        r_margin = margin if row["acc"] else -margin
    return {"margin": r_margin}
