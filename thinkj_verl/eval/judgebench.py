"""JudgeBench scores from scored judgments: pure functions, no I/O.

The rule of the official metric (``utils/metrics.py`` of ScalerLab/JudgeBench, read, not copied):

- every judgment of a pair is a vote: +1 when its verdict names the better response, -1 when
  it names the other one, 0 when no verdict can be read (the official code also gives 0 to a
  failed call and to a tie verdict such as ``A=B``);
- a pair is right when its net vote is positive, wrong when negative, undecided at 0. With
  both orders: right in both or right in one and unreadable in the other is right; right in one
  and wrong in the other (inconsistent) is undecided, so not right; unreadable in both is
  undecided. With one order (``--orders random``, the official ``--single_game``) a pair is
  right exactly when its one verdict is right;
- accuracy = right pairs / all pairs, per category and pooled over every pair for the overall
  score (not a mean of the categories). Categories come from the ``source`` prefix:
  ``mmlu-pro*`` knowledge, ``livebench-reasoning`` reasoning, ``livebench-math`` math,
  ``livecodebench`` coding (`thinkj_verl.data.sources.judgebench_category`).

>>> from thinkj_verl.eval.scoring import score_record
>>> rows = [{"pair_id": "p", "order": o, "subset": "math", "label": {"better": b}, "text": t}
...         for o, b, t in [("ab", "a", "Therefore, Response (a) is better."), ("ba", "b", "no verdict")]]
>>> judgebench_scores([score_record(r, "binary") for r in rows])["overall"]
{'accuracy': 1.0, 'pairs': 1, 'right': 1, 'wrong': 0, 'undecided': 0}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from thinkj_verl.data.sources import JUDGEBENCH_CATEGORIES
from thinkj_verl.eval.scoring import ScoredJudgment

CATEGORIES = tuple(category for _, category in JUDGEBENCH_CATEGORIES)
# The published column order (JudgeBench paper and leaderboard).
COLUMNS = ("Knowledge", "Reasoning", "Math", "Coding", "Overall")


def vote(scored: ScoredJudgment) -> int:
    """+1 right, -1 wrong, 0 unreadable: one judgment's vote for its pair."""
    if not scored.parsed:
        return 0
    return 1 if scored.right else -1


def pair_outcomes(scored: Sequence[ScoredJudgment]) -> dict[str, tuple[str, int]]:
    """pair id -> (category, net vote over the orders it was judged in)."""
    net: dict[str, int] = defaultdict(int)
    category: dict[str, str] = {}
    for s in scored:
        net[s.pair_id] += vote(s)
        category.setdefault(s.pair_id, s.subset or "(none)")
    return {pair_id: (category[pair_id], total) for pair_id, total in net.items()}


def _tally(nets: list[int]) -> dict:
    right = sum(1 for n in nets if n > 0)
    wrong = sum(1 for n in nets if n < 0)
    return {
        "accuracy": right / len(nets) if nets else None,
        "pairs": len(nets),
        "right": right,
        "wrong": wrong,
        "undecided": len(nets) - right - wrong,
    }


def judgebench_scores(scored: Sequence[ScoredJudgment]) -> dict:
    """Accuracy per category (in the published order, then any other source) and overall."""
    outcomes = pair_outcomes(scored)
    by_category: dict[str, list[int]] = defaultdict(list)
    for category, net in outcomes.values():
        by_category[category].append(net)
    ordered = [c for c in CATEGORIES if c in by_category] + sorted(set(by_category) - set(CATEGORIES))
    return {
        "categories": {c: _tally(by_category[c]) for c in ordered},
        "overall": _tally([net for _, net in outcomes.values()]),
        "missing_categories": [c for c in CATEGORIES if c not in by_category],
    }


def headline(scores: dict) -> dict[str, float | None]:
    """``Knowledge | Reasoning | Math | Coding | Overall``."""
    categories = scores["categories"]
    row = {c.capitalize(): (categories[c]["accuracy"] if c in categories else None) for c in CATEGORIES}
    row["Overall"] = scores["overall"]["accuracy"]
    return row
