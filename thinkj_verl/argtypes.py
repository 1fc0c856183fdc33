"""argparse types for the commands' numeric options: a bad value is argparse's one-line error.

``type=float`` accepts ``nan`` and ``inf`` and ``type=int`` accepts ``0`` or ``-3`` for a count;
each of those would fail later, deeper, or silently do something else.

>>> positive_int("8"), fraction("0.25"), non_negative_float("0.9")
(8, 0.25, 0.9)
>>> fraction("nan")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 'nan' is not a share in 0..1; give one such as 0.1
"""

from __future__ import annotations

import argparse
import math


def _number(text: str, kind, example: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give one such as {example}") from None


def positive_int(text: str) -> int:
    """An integer >= 1 (counts, sizes, lengths)."""
    value = _number(text, int, "8")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (temperatures)."""
    value = _number(text, float, "1.0")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number >= 0; give one such as 1.0")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (timeouts, seconds)."""
    value = _number(text, float, "30")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number > 0; give one such as 30")
    return value


def fraction(text: str) -> float:
    """A share in 0..1 (nan and inf refused)."""
    value = _number(text, float, "0.1")
    if not 0.0 <= value <= 1.0:  # also false for nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a share in 0..1; give one such as 0.1")
    return value


def cosine(text: str) -> float:
    """A cosine similarity threshold in -1..1."""
    value = _number(text, float, "0.9")
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a cosine in -1..1; give one such as 0.9")
    return value
