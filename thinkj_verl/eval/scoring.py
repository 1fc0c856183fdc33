"""Generations -> scored judgments, through the one parser (`thinkj_verl.parser`).

A judgment is right (1.0) when its verdict names the better response, wrong (0.0) when it
names the other one, and 0.5 when no verdict can be read: the official RewardBench
generative script counts an unparsable judgment as a tie, and every benchmark here does the
same so their numbers compare. ``strict`` (unparsable = 0.0) is reported beside it.

>>> record = {"pair_id": "p", "order": "ab", "label": {"better": "b", "strength": 2},
...           "text": "Therefore, Response (b) is better, and the strength is [[3]]."}
>>> s = score_record(record, "strength")
>>> (s.correct, s.judgment.strength, s.label.strength)
(1.0, 3, 2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from thinkj_verl.ground_truth import GroundTruth, is_right, parse_ground_truth
from thinkj_verl.parser import Judgment, parse_judgment

UNPARSABLE_CREDIT = 0.5


@dataclass(frozen=True)
class ScoredJudgment:
    """One judge reply read against its label."""

    pair_id: str
    order: str
    label: GroundTruth
    judgment: Judgment
    truncated: bool = False
    num_tokens: int | None = None
    subset: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def parsed(self) -> bool:
        return self.judgment.format_ok and self.judgment.verdict is not None

    @property
    def right(self) -> bool:
        """A readable verdict naming the better response."""
        return self.parsed and is_right(self.judgment, self.label.better)

    @property
    def correct(self) -> float:
        """1.0 right, 0.0 wrong, 0.5 unparsable (the RewardBench convention)."""
        if not self.parsed:
            return UNPARSABLE_CREDIT
        return 1.0 if self.right else 0.0


def score_record(record: dict, fmt: str, *, require_think: bool = False) -> ScoredJudgment:
    """Parse one generations record (schema in `thinkj_verl.eval.store`) in output format ``fmt``."""
    label = record["label"]
    if isinstance(label, dict):
        label = {"strength": None, "scores": None, **label}
    return ScoredJudgment(
        pair_id=str(record["pair_id"]),
        order=record["order"],
        label=parse_ground_truth(label, fmt),
        judgment=parse_judgment(
            record["text"], fmt, require_think=require_think, truncated=bool(record.get("truncated", False))
        ),
        truncated=bool(record.get("truncated", False)),
        num_tokens=record.get("num_tokens"),
        subset=record.get("subset"),
        meta=dict(record.get("meta") or {}),
    )


def score_records(
    records: Iterable[dict], fmt: str, *, require_think: bool = False, progress: bool = True
) -> list[ScoredJudgment]:
    """`score_record` for every record, with a progress bar."""
    from tqdm.auto import tqdm

    records = list(records)
    return [
        score_record(r, fmt, require_think=require_think)
        for r in tqdm(records, desc="scoring", unit="judgment", disable=not progress)
    ]
