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
  0..100 or equal scores: each is a format failure, with the reason in ``Judgment.reason``.
- ``matches`` lists every final sentence found anywhere in the reply, in order, thinking
  included: what the released Think-J formulas search.

>>> j = parse_judgment("<think>(b) looks fine.</think> Therefore, Response (a) is better, "
...                    "and the strength is [[2]].", "strength")
>>> (j.verdict, j.strength, j.format_ok, j.trace)
('a', 2, True, '(b) looks fine.')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from thinkj_verl.formats import (
    SCORE_RANGE,
    STRENGTH_RANGE,
    THINK_CLOSE,
    THINK_OPEN,
    get_format,
)


@dataclass(frozen=True)
class Match:
    """One final sentence found in the reply: where it starts and what it says."""

    start: int
    verdict: str | None = None
    strength: int | None = None
    scores: tuple[int, int] | None = None


@dataclass(frozen=True)
class Judgment:
    """What a judge's reply says. ``verdict`` is None whenever it cannot be trusted."""

    format: str
    verdict: str | None
    strength: int | None
    scores: tuple[int, int] | None
    trace: str
    format_ok: bool
    reason: str
    matches: tuple[Match, ...] = field(default=(), repr=False)


def _verdict_from_scores(scores: tuple[int, int]) -> str | None:
    if scores[0] == scores[1]:
        return None
    return "a" if scores[0] > scores[1] else "b"


def _find_matches(text: str, fmt) -> list[Match]:
    found = []
    for pattern in fmt.patterns:
        for m in pattern.finditer(text):
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
            found.append(Match(m.start(), verdict, strength, scores))
    if fmt.score_tags is not None:
        # Pair the k-th <Score 1> with the k-th <Score 2>; unpaired tags make no match.
        firsts = list(fmt.score_tags[0].finditer(text))
        seconds = list(fmt.score_tags[1].finditer(text))
        for a, b in zip(firsts, seconds):
            scores = (int(a.group("score_a")), int(b.group("score_b")))
            found.append(Match(min(a.start(), b.start()), _verdict_from_scores(scores), None, scores))
    found.sort(key=lambda m: m.start)
    return found


def _failed(fmt_name, trace, reason, matches, final: Match | None = None) -> Judgment:
    return Judgment(
        format=fmt_name,
        verdict=final.verdict if final else None,
        strength=final.strength if final else None,
        scores=final.scores if final else None,
        trace=trace,
        format_ok=False,
        reason=reason,
        matches=tuple(matches),
    )


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
    matches = _find_matches(text, output_format)

    close = text.rfind(THINK_CLOSE)
    last_open = text.rfind(THINK_OPEN)
    if last_open > close:
        return _failed(fmt, text[last_open + len(THINK_OPEN) :].strip(), "unclosed <think>", matches)
    if close >= 0:
        answer_start = close + len(THINK_CLOSE)
        trace = text[:close]
        open_at = trace.find(THINK_OPEN)
        if open_at >= 0:
            trace = trace[open_at + len(THINK_OPEN) :]
        trace = trace.strip()
    elif require_think:
        return _failed(fmt, "", "missing <think>...</think>", matches)
    else:
        answer_start = 0
        trace = None

    final_sentences = [m for m in matches if m.start >= answer_start]
    if trace is None:
        trace = text[: final_sentences[-1].start].strip() if final_sentences else text.strip()
    if truncated:
        return _failed(fmt, trace, "truncated at the length limit", matches)
    if not final_sentences:
        return _failed(fmt, trace, "no final verdict sentence", matches)
    final = final_sentences[-1]
    said = {(m.verdict, m.strength, m.scores) for m in final_sentences}
    if len(said) > 1:
        return _failed(fmt, trace, "conflicting final verdicts", matches)

    low, high = STRENGTH_RANGE
    if output_format.name == "strength" and not low <= final.strength <= high:
        return _failed(fmt, trace, f"strength {final.strength} outside {low}..{high}", matches, final)
    if final.scores is not None:
        low, high = SCORE_RANGE
        if not all(low <= s <= high for s in final.scores):
            return _failed(fmt, trace, f"scores {final.scores} outside {low}..{high}", matches, final)
        if final.verdict is None:
            return _failed(fmt, trace, "equal scores give no verdict", matches, final)
    return Judgment(
        format=fmt,
        verdict=final.verdict,
        strength=final.strength,
        scores=final.scores,
        trace=trace,
        format_ok=True,
        reason="",
        matches=tuple(matches),
    )
