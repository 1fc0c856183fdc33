"""The label of one judge-training row: ``reward_model.ground_truth``.

The schema, one dict::

    {"better": "a" | "b", "strength": 1..3 or None, "scores": [score_a, score_b] or None}

``better`` names the better response as the judge saw it (position (a) or (b));
``strength`` is the annotated preference strength (1 slightly, 2 better, 3 much better);
``scores`` are annotated quality scores (0..100) when a source has them.

The released Think-J encodings are accepted too: a signed integer for the strength format
(negative: (a) better, positive: (b) better, ``|g|`` the strength; 0 is a tie and is
rejected) and 1 / 2 for (a) / (b) in the binary, scores and answer-tag formats.

>>> parse_ground_truth(-2, "strength")
GroundTruth(better='a', strength=2, scores=None)
>>> parse_ground_truth({"better": "b", "strength": None, "scores": None}).to_dict()
{'better': 'b', 'strength': None, 'scores': None}
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from thinkj_verl.formats import SCORE_RANGE, STRENGTH_RANGE

SCHEMA_HINT = (
    'use {"better": "a" or "b", "strength": 1..3 or null, "scores": [score_a, score_b] or null}'
)


_RELEASED_TEXT = re.compile(r"\s*[+-]?[0-9]{1,9}\s*", re.ASCII)


def _short(value) -> str:
    # Labels go into one-line error messages: a 5000-digit or multi-line label stays short.
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


class GroundTruthError(ValueError):
    """A ground-truth value that is not in the documented schema."""


@dataclass(frozen=True)
class GroundTruth:
    """The label of one pair: which response is better, and the optional strength and scores.

    The one place a label is checked: building one with a value outside the schema raises
    `GroundTruthError` naming the field. Whole floats and numpy numbers are normalised (a
    strength of 2.0 is 2, scores are a tuple of floats).

    >>> GroundTruth("b", 2.0, [70, 30])
    GroundTruth(better='b', strength=2, scores=(70.0, 30.0))
    >>> GroundTruth("c")
    Traceback (most recent call last):
    ...
    thinkj_verl.ground_truth.GroundTruthError: 'better' must be 'a' or 'b', got 'c'
    """

    better: str
    strength: int | None = None
    scores: tuple[float, float] | None = None

    def __post_init__(self):
        # Exact ints and float tuples (the reward hot path) pass without the general checks.
        if type(self.better) is not str or self.better not in ("a", "b"):
            raise GroundTruthError(f"'better' must be 'a' or 'b', got {_short(self.better)}")
        strength, scores = self.strength, self.scores
        if strength is not None and (type(strength) is not int or strength not in _PLAIN_STRENGTHS):
            object.__setattr__(self, "strength", _checked_strength(strength))
        if scores is not None and not (
            type(scores) is tuple and len(scores) == 2 and type(scores[0]) is float and type(scores[1]) is float
            and _SCORE_LOW <= scores[0] <= _SCORE_HIGH and _SCORE_LOW <= scores[1] <= _SCORE_HIGH
        ):
            object.__setattr__(self, "scores", _checked_scores(scores))

    def to_dict(self) -> dict:
        return {
            "better": self.better,
            "strength": self.strength,
            "scores": list(self.scores) if self.scores is not None else None,
        }

    def swapped(self) -> GroundTruth:
        """The same preference with the two responses shown in the other order."""
        return GroundTruth(
            better=other_side(self.better),
            strength=self.strength,
            scores=(self.scores[1], self.scores[0]) if self.scores is not None else None,
        )

    def to_released(self, fmt: str = "strength") -> int:
        """The released Think-J integer: signed strength for ``strength``, else 1 / 2."""
        if fmt == "strength":
            if self.strength is None:
                raise GroundTruthError(
                    f"ground truth {self.to_dict()} has no strength; the released strength "
                    "encoding needs one"
                )
            return -self.strength if self.better == "a" else self.strength
        return 1 if self.better == "a" else 2


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _from_released(value: int, fmt: str) -> GroundTruth:
    if fmt == "strength":
        low, high = STRENGTH_RANGE
        if value == 0:
            raise GroundTruthError("ground truth 0 is a tie: a tie has no better response; drop the row")
        if not low <= abs(value) <= high:
            raise GroundTruthError(
                f"ground truth {value} is outside the released strength encoding "
                f"(-{high}..-{low} for (a), {low}..{high} for (b)); {SCHEMA_HINT}"
            )
        return GroundTruth(better="a" if value < 0 else "b", strength=abs(value))
    if value in (1, 2):
        return GroundTruth(better="a" if value == 1 else "b")
    raise GroundTruthError(
        f"ground truth {value} is not 1 ((a) better) or 2 ((b) better) for format {fmt!r}; {SCHEMA_HINT}"
    )


def parse_ground_truth(value, fmt: str = "strength") -> GroundTruth:
    """Read ``value`` as a label; anything outside the schema raises `GroundTruthError`.

    ``fmt`` decides how a bare integer is read (released encodings); a dict is read the same
    in every format. A null read back through pandas (NaN) is a null.
    """
    if _is_int(value):
        return _from_released(int(value), fmt)
    if isinstance(value, str):
        # Only a plain ASCII integer: "--2", "²" or a 5000-digit run would make int() raise.
        if _RELEASED_TEXT.fullmatch(value) is None:
            raise GroundTruthError(
                f"ground truth {_short(value)} is not an integer label or a dict; {SCHEMA_HINT}"
            )
        return _from_released(int(value), fmt)
    if not isinstance(value, Mapping):
        raise GroundTruthError(f"ground truth {_short(value)} is not a dict; {SCHEMA_HINT}")
    if not value.keys() <= _LABEL_KEYS:
        unknown = set(value) - _LABEL_KEYS
        raise GroundTruthError(f"ground truth {_short(dict(value))} has unknown keys {sorted(unknown, key=str)}; {SCHEMA_HINT}")
    try:
        return GroundTruth(value.get("better"), _none_if_nan(value.get("strength")), _none_if_nan(value.get("scores")))
    except GroundTruthError as error:
        raise GroundTruthError(f"ground truth {_short(dict(value))}: {error}; {SCHEMA_HINT}") from None


def other_side(side: str) -> str:
    """The other response position: 'b' for 'a', 'a' for 'b'.

    >>> other_side("a")
    'b'
    """
    return "b" if side == "a" else "a"


def is_right(judgment, better: str, *, need_format: bool = True) -> bool:
    """Whether ``judgment`` (a `thinkj_verl.parser.Judgment`) names ``better`` ('a' or 'b').

    The one definition every user shares: evaluation and offline pair building count a
    judgment right only when it also holds its output format (``need_format``, the default);
    a reward's accuracy term reads the verdict alone, since its format term pays for the format.

    >>> from thinkj_verl.parser import parse_judgment
    >>> judgment = parse_judgment("Therefore, Response (b) is better, and the strength is [[7]].", "strength")
    >>> is_right(judgment, "b"), is_right(judgment, "b", need_format=False)
    (False, True)
    """
    return (judgment.format_ok or not need_format) and judgment.verdict == better


_LABEL_KEYS = frozenset({"better", "strength", "scores"})
_PLAIN_STRENGTHS = frozenset(range(STRENGTH_RANGE[0], STRENGTH_RANGE[1] + 1))
_SCORE_LOW, _SCORE_HIGH = SCORE_RANGE


def _checked_strength(strength) -> int:
    low, high = STRENGTH_RANGE
    whole = _is_int(strength) or (isinstance(strength, float) and strength.is_integer())  # False for nan, inf
    if not whole or not low <= int(strength) <= high:
        raise GroundTruthError(f"'strength' must be an integer {low}..{high} or null, got {_short(strength)}")
    return int(strength)


def _checked_scores(scores) -> tuple[float, float]:
    if (
        isinstance(scores, (str, bytes))
        or not isinstance(scores, (Sequence, *_array_types()))
        or len(scores) != 2
        or not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in scores)
        or not all(_SCORE_LOW <= s <= _SCORE_HIGH for s in scores)
    ):
        raise GroundTruthError(
            f"'scores' must be two numbers in {_SCORE_LOW}..{_SCORE_HIGH} or null, got {_short(scores)}"
        )
    return (float(scores[0]), float(scores[1]))


def _none_if_nan(value):
    # A null read back through pandas arrives as NaN.
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _array_types() -> tuple[type, ...]:
    # Parquet round trips hand lists back as numpy arrays.
    try:
        import numpy

        return (numpy.ndarray,)
    except ImportError:  # pragma: no cover - numpy comes with every dependency
        return ()
