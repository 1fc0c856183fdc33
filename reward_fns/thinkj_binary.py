"""Think-J's binary verdict reward: the right verdict in the right format.

    R = accuracy_weight * r_acc + format_weight * r_format

with ``r_acc`` and ``r_format`` as in `reward_fns.thinkj_strength` for the final sentence
``Therefore, Response (a) is better.``. ``variant="released"`` scores with the released
Think-J ``reward_cot`` formula instead, with its regexes (`RELEASED_PATTERNS`): a verdict
sentence anywhere in the reply, (b) winning when both appear; right 1.0, none 0.5, wrong 0.0
(labels 1 = (a), 2 = (b) are accepted as well as the dict).

>>> compute_score("hh_rlhf", "(b) is rude. Therefore, Response (a) is better.", 1)["score"]
2.0
"""

from __future__ import annotations

import re

from reward_fns._common import pure, score_reply
from thinkj_verl.ground_truth import GroundTruth

FORMAT = "binary"


# The released ``reward_cot`` regexes: no "Therefore", and the "." after "better" is the regex
# wildcard (any character but a newline), so "is better!" counts and "is better" at the very end
# does not. A (b) match anywhere wins over an (a) match, wherever each sits.
RELEASED_PATTERNS = {"a": re.compile(r"Response \(a\) is better."), "b": re.compile(r"Response \(b\) is better.")}


def released_score(solution_str: str, label: GroundTruth) -> float:
    """The released ``reward_cot``: right 1.0, no verdict 0.5, wrong 0.0."""
    verdict = None
    for side, pattern in RELEASED_PATTERNS.items():  # (a) then (b): the later side overrides
        if pattern.search(solution_str):
            verdict = side
    if verdict is None:
        return 0.5
    return 1.0 if verdict == label.better else 0.0


@pure
def compute_score(data_source, solution_str, ground_truth, extra_info=None, *, accuracy_weight: float = 1.0,
                  format_weight: float = 1.0, require_think: bool = False, variant: str = "weighted",
                  **kwargs) -> dict:
    """Score one judge reply; ``score`` is the reward, the other keys are its components."""
    return score_reply(
        "thinkj_binary", FORMAT, solution_str, ground_truth, extra_info, kwargs,
        weights={"accuracy_weight": accuracy_weight, "format_weight": format_weight},
        require_think=require_think, variant=variant, released_score=released_score,
    )
