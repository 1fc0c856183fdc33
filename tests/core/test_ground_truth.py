"""The label schema of reward_model.ground_truth, and the released Think-J encodings."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinkj_verl.ground_truth import GroundTruth, GroundTruthError, parse_ground_truth


@pytest.mark.parametrize(
    "value, fmt, expected",
    [
        ({"better": "a", "strength": 2, "scores": None}, "strength", GroundTruth("a", 2, None)),
        ({"better": "b", "strength": None, "scores": [10, 90]}, "scores", GroundTruth("b", None, (10.0, 90.0))),
        ({"better": "b"}, "binary", GroundTruth("b", None, None)),
        ({"better": "a", "strength": math.nan, "scores": math.nan}, "strength", GroundTruth("a", None, None)),
        ({"better": "a", "strength": 3.0, "scores": np.array([60.0, 5.0])}, "strength", GroundTruth("a", 3, (60.0, 5.0))),
        (-3, "strength", GroundTruth("a", 3)),
        (1, "strength", GroundTruth("b", 1)),
        (np.int64(2), "strength", GroundTruth("b", 2)),
        ("-2", "strength", GroundTruth("a", 2)),
        (1, "binary", GroundTruth("a")),
        (2, "scores", GroundTruth("b")),
        (2, "answer_tag", GroundTruth("b")),
    ],
)
def test_accepted_labels(value, fmt, expected):
    assert parse_ground_truth(value, fmt) == expected


@pytest.mark.parametrize(
    "value, fmt, message",
    [
        (0, "strength", "ground truth 0 is a tie"),
        (4, "strength", "ground truth 4 is outside the released strength encoding"),
        (3, "binary", "ground truth 3 is not 1 ((a) better) or 2 ((b) better) for format 'binary'"),
        ("a", "strength", "ground truth 'a' is not an integer label or a dict"),
        # Strings int() would refuse (or read oddly) are the named label error, never a ValueError.
        ("--2", "strength", "ground truth '--2' is not an integer label"),
        ("+-1", "strength", "ground truth '+-1' is not an integer label"),
        ("\u00b2", "binary", "is not an integer label"),
        ("\u0663", "strength", "is not an integer label"),
        ("9" * 5000, "strength", "(5002 characters) is not an integer label"),
        ("1.5", "binary", "ground truth '1.5' is not an integer label"),
        ("", "binary", "ground truth '' is not an integer label"),
        (" ", "binary", "ground truth ' ' is not an integer label"),
        (1.0, "binary", "ground truth 1.0 is not a dict"),
        (float("nan"), "strength", "ground truth nan is not a dict"),
        ([1, 2], "binary", "ground truth [1, 2] is not a dict"),
        ({"better": ["a"]}, "strength", "'better' must be 'a' or 'b'"),
        ({"better": "a", "strength": float("inf")}, "strength", "'strength' must be an integer 1..3 or null"),
        ({"better": "a", "strength": True}, "strength", "'strength' must be an integer 1..3 or null"),
        ({"better": "a", "scores": [float("nan"), 1]}, "scores", "'scores' must be two numbers"),
        ({"better": "a", 1: 2}, "strength", "unknown keys [1]"),
        (None, "strength", "ground truth None is not a dict"),
        (True, "binary", "ground truth True is not a dict"),
        ({"better": "c"}, "strength", "'better' must be 'a' or 'b'"),
        ({"better": "a", "strength": 4}, "strength", "'strength' must be an integer 1..3 or null"),
        ({"better": "a", "strength": 1.5}, "strength", "'strength' must be an integer 1..3 or null"),
        ({"better": "a", "scores": [1, 2, 3]}, "scores", "'scores' must be two numbers in 0..100 or null"),
        ({"better": "a", "scores": "12"}, "scores", "'scores' must be two numbers in 0..100 or null"),
        ({"better": "a", "scores": [50, 101]}, "scores", "'scores' must be two numbers in 0..100 or null"),
        ({"better": "a", "winner": "a"}, "strength", "unknown keys ['winner']"),
    ],
)
def test_rejected_labels_name_the_value(value, fmt, message):
    with pytest.raises(GroundTruthError, match=None) as error:
        parse_ground_truth(value, fmt)
    assert message in str(error.value)


def test_swap_and_released_round_trip():
    label = GroundTruth("a", 2, (80.0, 20.0))
    assert label.swapped() == GroundTruth("b", 2, (20.0, 80.0))
    assert label.swapped().swapped() == label
    for value in (-3, -2, -1, 1, 2, 3):
        assert parse_ground_truth(value, "strength").to_released("strength") == value
    assert GroundTruth("b").to_released("binary") == 2
    with pytest.raises(GroundTruthError, match="has no strength"):
        GroundTruth("b").to_released("strength")


def test_to_dict_is_the_documented_schema():
    assert GroundTruth("b", None, (1.0, 2.0)).to_dict() == {"better": "b", "strength": None, "scores": [1.0, 2.0]}


JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
              st.sampled_from(["--2", "+-1", "\u00b2", " 2 ", "-3", "9" * 5000, "a", "b"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["better", "strength", "scores", "x"]), inner, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(value=JUNK, fmt=st.sampled_from(["strength", "binary", "scores", "answer_tag"]))
def test_any_value_is_a_label_or_the_named_label_error(value, fmt):
    try:
        label = parse_ground_truth(value, fmt)
    except GroundTruthError as error:
        assert "\n" not in str(error) and len(str(error)) < 400
    else:
        assert label.better in ("a", "b")
