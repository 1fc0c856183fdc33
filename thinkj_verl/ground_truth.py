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
    better: str
    strength: int | None = None
    scores: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return {
            "better": self.better,
            "strength": self.strength,
            "scores": list(self.scores) if self.scores is not None else None,
        }

    def swapped(self) -> GroundTruth:
        """The same preference with the two responses shown in the other order."""
        return GroundTruth(
            better="b" if self.better == "a" else "a",
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
    in every format.
    """
    if type(value) is dict and _is_plain_label(value):
        # The common case on the reward hot path, checked without the ABC machinery below.
        scores = value.get("scores")
        return GroundTruth(value["better"], value.get("strength"), (float(scores[0]), float(scores[1])) if scores else None)
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

    unknown = set(value) - {"better", "strength", "scores"}
    if unknown:
        raise GroundTruthError(f"ground truth {_short(dict(value))} has unknown keys {sorted(unknown, key=str)}; {SCHEMA_HINT}")
    better = value.get("better")
    if not isinstance(better, str) or better not in ("a", "b"):
        raise GroundTruthError(f"ground truth {_short(dict(value))}: 'better' must be 'a' or 'b'; {SCHEMA_HINT}")

    strength = _none_if_nan(value.get("strength"))
    if strength is not None:
        low, high = STRENGTH_RANGE
        if not (_is_int(strength) or (isinstance(strength, float) and strength.is_integer())) or not (
            low <= int(strength) <= high
        ):
            raise GroundTruthError(
                f"ground truth {_short(dict(value))}: 'strength' must be an integer {low}..{high} or null"
            )
        strength = int(strength)

    scores = _none_if_nan(value.get("scores"))
    if scores is not None:
        low, high = SCORE_RANGE
        if (
            isinstance(scores, (str, bytes))
            or not isinstance(scores, (Sequence, *_array_types()))
            or len(scores) != 2
            or not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in scores)
            or not all(low <= s <= high for s in scores)
        ):
            raise GroundTruthError(
                f"ground truth {_short(dict(value))}: 'scores' must be two numbers in {low}..{high} or null"
            )
        scores = (float(scores[0]), float(scores[1]))
    return GroundTruth(better=better, strength=strength, scores=scores)


_LABEL_KEYS = frozenset({"better", "strength", "scores"})
_PLAIN_STRENGTHS = frozenset(range(STRENGTH_RANGE[0], STRENGTH_RANGE[1] + 1))


def _is_plain_label(value: dict) -> bool:
    # Only exact ints/floats/lists pass here; numpy values and NaNs take the general path.
    better = value.get("better")
    if type(better) is not str or better not in ("a", "b") or not value.keys() <= _LABEL_KEYS:
        return False
    strength, scores = value.get("strength"), value.get("scores")
    if strength is not None and (type(strength) is not int or strength not in _PLAIN_STRENGTHS):
        return False
    if scores is None:
        return True
    low, high = SCORE_RANGE
    return (
        type(scores) is list
        and len(scores) == 2
        and all(type(x) in (int, float) and low <= x <= high for x in scores)
    )


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
