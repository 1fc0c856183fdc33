"""The judge's output formats: the one place that defines each final sentence.

A judge thinks, then ends with a final sentence whose shape depends on the output format.
Prompts (`thinkj_verl.prompts`) quote ``instruction`` and ``example`` from here, and the
parser (`thinkj_verl.parser`) reads the same sentence back with ``patterns``, so the two
can never drift apart.

>>> FORMATS["strength"].render(verdict="a", strength=2)
'Therefore, Response (a) is better, and the strength is [[2]].'
>>> FORMATS["pointwise"].render(score=7)
'Therefore, the score of the response is [[7]].'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STRENGTH_RANGE = (1, 3)
SCORE_RANGE = (0, 100)
POINT_RANGE = (0, 10)  # the pointwise format's score of one response (J1's pointwise judge)
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class OutputFormat:
    """One output format.

    ``patterns`` are the accepted final sentences; each has the named groups the format
    carries (``verdict``; ``strength``; ``score_a`` and ``score_b``; ``score`` for the
    ``pointwise`` format, which judges one response alone and has no verdict). Numbers match at most
    nine digits, so a reply full of digits cannot make ``int()`` refuse it.
    ``template`` renders the canonical final sentence from the same names.
    """

    name: str
    template: str
    instruction: str
    patterns: tuple[re.Pattern, ...]
    score_tags: tuple[re.Pattern, re.Pattern] | None = None
    pointwise: bool = False  # one response per prompt, a score and no verdict

    def render(
        self, verdict: str = "a", strength: int = 2, score_a: int = 0, score_b: int = 0, score: int = 5
    ) -> str:
        """The canonical final sentence for these values (used by prompts, demos and tests)."""
        return self.template.format(
            verdict=verdict, VERDICT=verdict.upper(), strength=strength, score_a=score_a, score_b=score_b, score=score
        )


_SIDE = r"\((?P<verdict>[ab])\)"

STRENGTH = OutputFormat(
    name="strength",
    template="Therefore, Response ({verdict}) is better, and the strength is [[{strength}]].",
    instruction=(
        "After your reasoning, end with exactly one final sentence of the form "
        '"Therefore, Response (a) is better, and the strength is [[2]]." '
        "Use (a) or (b) for the better response, and a strength of 1 (slightly better), "
        "2 (better) or 3 (much better)."
    ),
    patterns=(
        re.compile(
            r"Therefore, Response " + _SIDE + r" is better, and the (?:preference )?strength is "
            r"\[\[(?P<strength>[+-]?\d{1,9})\]\]"
        ),
    ),
)

BINARY = OutputFormat(
    name="binary",
    template="Therefore, Response ({verdict}) is better.",
    instruction=(
        "After your reasoning, end with exactly one final sentence of the form "
        '"Therefore, Response (a) is better." using (a) or (b) for the better response.'
    ),
    patterns=(re.compile(r"Therefore, Response " + _SIDE + r" is better\."),),
)

SCORES = OutputFormat(
    name="scores",
    template=(
        "Therefore, the quality scores for Response (a) and Response (b) are "
        "[[{score_a}]] and [[{score_b}]], respectively."
    ),
    instruction=(
        "After your reasoning, score each response from 0 to 100 and end with exactly one final "
        'sentence of the form "Therefore, the quality scores for Response (a) and Response (b) '
        'are [[30]] and [[50]], respectively." The higher score marks the better response; '
        "do not give equal scores."
    ),
    patterns=(
        re.compile(
            r"are \[\[(?P<score_a>[+-]?\d{1,9})\]\] and \[\[(?P<score_b>[+-]?\d{1,9})\]\],? respectively"
        ),
    ),
    # The released Think-J code writes the two scores as separate tags instead.
    score_tags=(
        re.compile(r"<Score 1>\s*(?P<score_a>[+-]?\d{1,9})\s*</Score 1>"),
        re.compile(r"<Score 2>\s*(?P<score_b>[+-]?\d{1,9})\s*</Score 2>"),
    ),
)

ANSWER_TAG = OutputFormat(
    name="answer_tag",
    template="<answer>[[{VERDICT}]]</answer>",
    instruction=(
        "After your reasoning, end with your verdict inside answer tags: "
        "<answer>[[A]]</answer> if Response (a) is better, <answer>[[B]]</answer> if "
        "Response (b) is better."
    ),
    patterns=(re.compile(r"<answer>\s*\[\[(?P<verdict>[ABab])\]\]\s*</answer>"),),
)

# J1's pointwise judge: it sees ONE response and scores it alone; a pair is judged by comparing
# the scores its two responses got (equal scores are a tie: no verdict).
POINTWISE = OutputFormat(
    name="pointwise",
    template="Therefore, the score of the response is [[{score}]].",
    instruction=(
        "After your reasoning, score the response from 0 (useless) to 10 (excellent) and end with "
        'exactly one final sentence of the form "Therefore, the score of the response is [[7]]." '
        "with a whole number from 0 to 10."
    ),
    patterns=(re.compile(r"the score of the response is \[\[(?P<score>[+-]?\d{1,9})\]\]"),),
    pointwise=True,
)

FORMATS: dict[str, OutputFormat] = {f.name: f for f in (STRENGTH, BINARY, SCORES, ANSWER_TAG, POINTWISE)}
PAIRWISE_FORMATS = tuple(name for name, f in FORMATS.items() if not f.pointwise)


def get_format(name: str) -> OutputFormat:
    """The output format called ``name``; a clear error for any other name.

    >>> get_format("binary").name
    'binary'
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown output format {name!r}; choose one of {', '.join(FORMATS)}"
        ) from None
