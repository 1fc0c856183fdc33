"""The one parser of judge outputs: decoded text -> `Judgment`.

Used by the reward functions, the data tools and the evaluation alike. Pure Python regex,
no model, and it never raises on a string.

Rules (each format's final sentence is defined in `thinkj_verl.formats`):
- With a ``</think>`` in the reply, the thinking is everything before the last ``</think>``
  and only the text after it can hold the verdict: a verdict quoted while thinking does not
  count. Without one, the whole reply is searched and the thinking is the text before the
  final sentence.
- A ``<think>`` never closed, two final sentences that disagree, a reply cut at the length
  limit (``truncated=True``), no final sentence, a strength outside 1..3, scores outside
  0..100 or equal scores, a pointwise score outside 0..10: each is a format failure, with the
  reason in ``Judgment.reason``.
- The ``pointwise`` format judges one response: ``score`` holds its score and ``verdict`` is
  always None (a pair's verdict comes from comparing two such scores, `pointwise_verdict`).
- ``matches`` lists every final sentence found anywhere in the reply, in order, thinking
  included: what the released Think-J formulas search.

>>> j = parse_judgment("<think>(b) looks fine.</think> Therefore, Response (a) is better, "
...                    "and the strength is [[2]].", "strength")
>>> (j.verdict, j.strength, j.format_ok, j.trace)
('a', 2, True, '(b) looks fine.')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from thinkj_verl.formats import (
    POINT_RANGE,
    SCORE_RANGE,
    STRENGTH_RANGE,
    THINK_CLOSE,
    THINK_OPEN,
    get_format,
)


class Match(NamedTuple):
    """One final sentence found in the reply: where it starts and what it says."""

    start: int
    verdict: str | None = None
    strength: int | None = None
    scores: tuple[int, int] | None = None
    score: int | None = None


@dataclass
class Judgment:
    """What a judge's reply says. ``verdict`` is None whenever it cannot be trusted.

    ``trace`` and ``matches`` are computed from the reply when first read: scoring a reward
    needs neither, and a long reply should not be copied or rescanned for nothing. Treat it as
    read-only (not frozen only because a frozen dataclass costs the reward hot path a third
    more time to build).
    """

    format: str
    verdict: str | None
    strength: int | None
    scores: tuple[int, int] | None
    format_ok: bool
    reason: str
    text: str = field(repr=False)
    trace_span: tuple[int, int] = field(repr=False)
    score: int | None = None  # the pointwise format's score of the one response shown

    @cached_property
    def trace(self) -> str:
        """The thinking: inside ``<think>...</think>``, else the text before the final sentence."""
        start, end = self.trace_span
        return self.text[start:end].strip()

    @cached_property
    def matches(self) -> tuple[Match, ...]:
        """Every final sentence anywhere in the reply, thinking included, in order."""
        return tuple(_find_matches(self.text, get_format(self.format)))


def _verdict_from_scores(scores: tuple[int, int]) -> str | None:
    if scores[0] == scores[1]:
        return None
    return "a" if scores[0] > scores[1] else "b"


def _find_matches(text: str, fmt, start: int = 0) -> list[Match]:
    found = []
    for pattern in fmt.patterns:
        for m in pattern.finditer(text, start):
            groups = m.groupdict()
            scores = None
            if groups.get("score_a") is not None:
                scores = (int(groups["score_a"]), int(groups["score_b"]))
            verdict = groups.get("verdict")
            if verdict is not None:
                verdict = verdict.lower()
            elif scores is not None:
                verdict = _verdict_from_scores(scores)
            strength = int(groups["strength"]) if groups.get("strength") is not None else None
            score = int(groups["score"]) if groups.get("score") is not None else None
            found.append(Match(m.start(), verdict, strength, scores, score))
    if fmt.score_tags is not None:
        # Pair the k-th <Score 1> with the k-th <Score 2>; unpaired tags make no match.
        firsts = list(fmt.score_tags[0].finditer(text, start))
        seconds = list(fmt.score_tags[1].finditer(text, start))
        for a, b in zip(firsts, seconds):
            scores = (int(a.group("score_a")), int(b.group("score_b")))
            found.append(Match(min(a.start(), b.start()), _verdict_from_scores(scores), None, scores))
    found.sort(key=lambda m: m.start)
    return found


def parse_judgment(
    text: str, fmt: str = "strength", *, require_think: bool = False, truncated: bool = False
) -> Judgment:
    """Parse one decoded judge reply in output format ``fmt``.

    ``require_think``: the thinking must sit inside ``<think>...</think>``.
    ``truncated``: the reply hit the generation length limit (a format failure).

    >>> parse_judgment("Both are short. Therefore, Response (b) is better.", "binary").verdict
    'b'
    """
    output_format = get_format(fmt)
    if not isinstance(text, str):
        text = "" if text is None else str(text)

    def judged(reason: str, trace_span: tuple[int, int], final: Match | None = None) -> Judgment:
        # ``final`` is passed only where the sentence itself is trusted (ok, or a value out of range).
        return Judgment(
            format=fmt,
            verdict=final.verdict if final else None,
            strength=final.strength if final else None,
            scores=final.scores if final else None,
            format_ok=reason == "",
            reason=reason,
            text=text,
            trace_span=trace_span,
            score=final.score if final else None,
        )

    # Both searches stop early on a normal reply: the closing tag sits near the end and an
    # opening tag after it would be later still.
    close = text.rfind(THINK_CLOSE)
    reopened = text.find(THINK_OPEN, close + 1 if close >= 0 else 0)
    if reopened >= 0:
        return judged("unclosed <think>", (reopened + len(THINK_OPEN), len(text)))
    if close >= 0:
        answer_start = close + len(THINK_CLOSE)
        open_at = text.find(THINK_OPEN, 0, close)
        trace_span = (open_at + len(THINK_OPEN) if open_at >= 0 else 0, close)
    elif require_think:
        return judged("missing <think>...</think>", (0, 0))
    else:
        answer_start = 0
        trace_span = None

    final_sentences = _find_matches(text, output_format, answer_start)
    if trace_span is None:
        trace_span = (0, final_sentences[-1].start if final_sentences else len(text))
    if truncated:
        return judged("truncated at the length limit", trace_span)
    if not final_sentences:
        return judged("no final verdict sentence", trace_span)
    final = final_sentences[-1]
    if len({(m.verdict, m.strength, m.scores, m.score) for m in final_sentences}) > 1:
        return judged("conflicting final verdicts", trace_span)

    if output_format.name == "strength":
        low, high = STRENGTH_RANGE
        if not low <= final.strength <= high:
            return judged(f"strength {final.strength} outside {low}..{high}", trace_span, final)
    if final.scores is not None:
        low, high = SCORE_RANGE
        if not all(low <= s <= high for s in final.scores):
            return judged(f"scores {final.scores} outside {low}..{high}", trace_span, final)
        if final.verdict is None:
            return judged("equal scores give no verdict", trace_span, final)
    if output_format.pointwise:
        low, high = POINT_RANGE
        if not low <= final.score <= high:
            return judged(f"score {final.score} outside {low}..{high}", trace_span, final)
    return judged("", trace_span, final)


def pointwise_verdict(score_a: int | None, score_b: int | None) -> str | None:
    """The pair's verdict from the pointwise scores of its two responses: the higher score wins;
    equal scores (a tie) or a missing score give none.

    >>> pointwise_verdict(7, 4), pointwise_verdict(5, 5), pointwise_verdict(None, 3)
    ('a', None, None)
    """
    if score_a is None or score_b is None or score_a == score_b:
        return None
    return "a" if score_a > score_b else "b"

