"""RM-R1-style verdict reward: +1 for the right ``<answer>[[A]]</answer>`` / ``[[B]]``, -1 otherwise.

Anything that is not a well-formed right verdict (wrong side, no tag, conflicting tags, an
unclosed ``<think>``, a cut reply) scores -1. The weight keywords are accepted and ignored, so
a recipe's declared weights do not break a swap to this function.

>>> compute_score("rewardbench", "Both run; (b) is faster. <answer>[[B]]</answer>", {"better": "b"})["score"]
1.0
"""

from __future__ import annotations

from reward_fns._common import pure, score_reply

FORMAT = "answer_tag"


@pure
def compute_score(data_source, solution_str, ground_truth, extra_info=None, *, require_think: bool = False,
                  variant: str = "weighted", **kwargs) -> dict:
    """Score one judge reply; ``score`` is the reward, the other keys are its components."""
    return score_reply(
        "answer_tag", FORMAT, solution_str, ground_truth, extra_info, kwargs, weights={},
        require_think=require_think, variant=variant, score=_plus_or_minus_one,
    )


def _plus_or_minus_one(row: dict) -> float:
    return 1.0 if row["acc"] and row["format"] else -1.0
