"""RM-R1-style verdict reward: +1 for the right ``<answer>[[A]]</answer>`` / ``[[B]]``, -1 otherwise.

Anything that is not a well-formed right verdict (wrong side, no tag, conflicting tags, an
unclosed ``<think>``, a cut reply) scores -1. The weight keywords are accepted and ignored, so
a recipe's declared weights do not break a swap to this function.

>>> compute_score("rewardbench", "Both run; (b) is faster. <answer>[[B]]</answer>", {"better": "b"})["score"]
1.0
"""

from __future__ import annotations

from reward_fns._common import RewardKwargsError, check_kwargs, judge_row, pure, verdict_components

FORMAT = "answer_tag"


@pure
def compute_score(
    data_source,
    solution_str,
    ground_truth,
    extra_info=None,
    *,
    require_think: bool = False,
    variant: str = "weighted",
    **kwargs,
) -> dict:
    """Score one judge reply; ``score`` is the reward, the other keys are its components."""
    check_kwargs("answer_tag.compute_score", variant, kwargs, None, require_think)
    if variant == "released":
        # Think-J released no answer-tag reward: scoring "released" with this rule would be a silent lie.
        raise RewardKwargsError(
            "answer_tag.compute_score(): variant='released' does not exist for the answer-tag reward "
            "(Think-J released strength, binary and score rewards); use variant='weighted'",
            key="variant",
        )
    judgment, label = judge_row(solution_str, ground_truth, extra_info, FORMAT, require_think)
    parts = verdict_components(judgment, label)
    right = parts["acc"] and parts["format"]
    return {"score": 1.0 if right else -1.0, **parts}
