"""The rule-based reward functions in reward_fns/: exact values, bounds, and the released formulas."""

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reward_fns import answer_tag, thinkj_binary, thinkj_margin, thinkj_strength

S = "Therefore, Response ({v}) is better, and the strength is [[{s}]]."
B = "Therefore, Response ({v}) is better."
SC = "Therefore, the quality scores for Response (a) and Response (b) are [[{x}]] and [[{y}]], respectively."
LABEL_A2 = {"better": "a", "strength": 2, "scores": None}
LABEL_B = {"better": "b", "strength": None, "scores": None}
STRENGTH_KEYS = {"score", "acc", "format", "verdict", "strength_pred", "strength_err", "r_strength"}


# (reply, label, kwargs, expected dict)
STRENGTH_CASES = [
    (S.format(v="a", s=2), LABEL_A2, {},
     {"score": 2.2, "acc": 1.0, "format": 1.0, "verdict": 1.0, "strength_pred": 2.0, "strength_err": 0.0,
      "r_strength": 1.0}),
    (S.format(v="a", s=3), LABEL_A2, {},
     {"score": 2.1, "acc": 1.0, "format": 1.0, "verdict": 1.0, "strength_pred": 3.0, "strength_err": 1.0,
      "r_strength": 0.5}),
    (S.format(v="b", s=2), LABEL_A2, {},
     {"score": 1.0, "acc": 0.0, "format": 1.0, "verdict": 2.0, "strength_pred": 2.0, "strength_err": -1.0,
      "r_strength": 0.0}),
    (S.format(v="a", s=7), LABEL_A2, {},
     {"score": 1.0, "acc": 1.0, "format": 0.0, "verdict": 1.0, "strength_pred": 7.0, "strength_err": -1.0,
      "r_strength": 0.0}),
    ("no verdict at all", LABEL_A2, {},
     {"score": 0.0, "acc": 0.0, "format": 0.0, "verdict": 0.0, "strength_pred": 0.0, "strength_err": -1.0,
      "r_strength": 0.0}),
    # Label without strength: no strength term, whatever the reply says.
    (S.format(v="b", s=1), LABEL_B, {},
     {"score": 2.0, "acc": 1.0, "format": 1.0, "verdict": 2.0, "strength_pred": 1.0, "strength_err": -1.0,
      "r_strength": 0.0}),
    # Table 8 weights by keyword.
    (S.format(v="a", s=1), LABEL_A2, {"format_weight": 0.5, "strength_weight": 0.5},
     {"score": 1.75, "acc": 1.0, "format": 1.0, "verdict": 1.0, "strength_pred": 1.0, "strength_err": 1.0,
      "r_strength": 0.5}),
    (S.format(v="a", s=1), LABEL_A2, {"format_weight": 0.0, "strength_weight": 0.0},
     {"score": 1.0, "acc": 1.0, "format": 1.0, "verdict": 1.0, "strength_pred": 1.0, "strength_err": 1.0,
      "r_strength": 0.5}),
    # Released formula: 1 - ||g| - s| / 8, signed-int label.
    (S.format(v="a", s=3), -1, {"variant": "released"},
     {"score": 0.75, "acc": 1.0, "format": 1.0, "verdict": 1.0, "strength_pred": 3.0, "strength_err": 2.0,
      "r_strength": 0.0}),
    (S.format(v="a", s=9), -1, {"variant": "released"},
     {"score": 0.5, "acc": 1.0, "format": 0.0, "verdict": 1.0, "strength_pred": 9.0, "strength_err": -1.0,
      "r_strength": 0.0}),
    (S.format(v="a", s=2), 0, {"variant": "released"},
     {"score": 0.0, "acc": 0.0, "format": 0.0, "verdict": 0.0, "strength_pred": 0.0, "strength_err": -1.0,
      "r_strength": 0.0}),
]


@pytest.mark.parametrize("reply, label, kwargs, expected", STRENGTH_CASES)
def test_strength_reward_cases(reply, label, kwargs, expected):
    result = thinkj_strength.compute_score("helpsteer2", reply, label, None, **kwargs)
    assert result.keys() == expected.keys() == STRENGTH_KEYS
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), key


def test_strength_r_strength_is_zero_at_maximal_error():
    result = thinkj_strength.compute_score("x", S.format(v="a", s=3), {"better": "a", "strength": 1})
    assert (result["r_strength"], result["strength_err"]) == (0.0, 2.0)


def test_truncation_from_extra_info_is_a_format_failure():
    result = thinkj_strength.compute_score("x", S.format(v="a", s=2), LABEL_A2, {"truncated": True})
    assert (result["score"], result["format"], result["acc"]) == (0.0, 0.0, 0.0)


def test_verdict_in_thinking_does_not_count():
    reply = "<think>" + S.format(v="a", s=2) + "</think> I change my mind. " + S.format(v="b", s=2)
    assert thinkj_strength.compute_score("x", reply, LABEL_A2)["acc"] == 0.0


@pytest.mark.parametrize(
    "module, reply, label, kwargs, score",
    [
        (thinkj_binary, B.format(v="b"), LABEL_B, {}, 2.0),
        (thinkj_binary, B.format(v="a"), 2, {}, 1.0),
        (thinkj_binary, "nothing", 2, {}, 0.0),
        (thinkj_binary, B.format(v="a"), 2, {"format_weight": 0.5}, 0.5),
        (thinkj_binary, B.format(v="a") + B.format(v="b"), 2, {"variant": "released"}, 1.0),  # last one wins
        (thinkj_binary, "nothing", 2, {"variant": "released"}, 0.5),
        (thinkj_binary, B.format(v="a"), 2, {"variant": "released"}, 0.0),
        (thinkj_margin, SC.format(x=20, y=90), LABEL_B, {}, 2.7),
        (thinkj_margin, SC.format(x=20, y=90), {"better": "a"}, {}, 1.0 - 0.7),
        (thinkj_margin, SC.format(x=50, y=50), LABEL_B, {}, 0.0),
        (thinkj_margin, SC.format(x=20, y=90), LABEL_B, {"margin_weight": 0.0}, 2.0),
        (thinkj_margin, "<Score 1>10</Score 1><Score 2>70</Score 2>", 2, {"variant": "released"}, 1.6),
        (thinkj_margin, "<Score 1>10</Score 1><Score 2>70</Score 2>", 1, {"variant": "released"}, -0.6),
        (thinkj_margin, "<Score 1>10</Score 1>", 1, {"variant": "released"}, 0.5),
        (answer_tag, "<answer>[[B]]</answer>", LABEL_B, {}, 1.0),
        (answer_tag, "<answer>[[A]]</answer>", LABEL_B, {}, -1.0),
        (answer_tag, "[[B]]", LABEL_B, {}, -1.0),
        (answer_tag, "<answer>[[B]]</answer>", LABEL_B, {"strength_weight": 0.2}, 1.0),
    ],
)
def test_other_reward_cases(module, reply, label, kwargs, score):
    assert module.compute_score("src", reply, label, None, **kwargs)["score"] == pytest.approx(score)


@pytest.mark.parametrize("module", [thinkj_strength, thinkj_binary, thinkj_margin, answer_tag])
def test_typos_and_bad_variants_are_named(module):
    with pytest.raises(TypeError, match=r"unknown keyword argument\(s\) \['strenght_weight'\]"):
        module.compute_score("x", "", LABEL_A2, strenght_weight=0.0)
    with pytest.raises(ValueError, match="variant='paper'; choose one of"):
        module.compute_score("x", "", LABEL_A2, variant="paper")


@pytest.mark.parametrize("module", [thinkj_strength, thinkj_binary, thinkj_margin, answer_tag])
def test_common_weights_are_accepted_by_every_function(module):
    weights = dict(accuracy_weight=1.0, format_weight=1.0, strength_weight=0.2, margin_weight=1.0)
    assert math.isfinite(module.compute_score("x", "", LABEL_A2, **weights)["score"])


# --- properties -------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "<think>", "</think>", " ", "\n", "(a)", "[[2]]", S.format(v="a", s=2), S.format(v="b", s=3),
    S.format(v="a", s=5), B.format(v="a"), B.format(v="b"), SC.format(x=10, y=90), SC.format(x=99, y=1),
    "<Score 1>40</Score 1>", "<Score 2>60</Score 2>", "<answer>[[A]]</answer>", "<answer>[[B]]</answer>", "é",
])
LABELS = st.builds(
    lambda better, strength, scores: {"better": better, "strength": strength, "scores": scores},
    st.sampled_from("ab"), st.sampled_from([None, 1, 2, 3]), st.sampled_from([None, [30.0, 70.0]]),
)
WEIGHT = st.floats(min_value=0.0, max_value=2.0)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=300), st.lists(FRAGMENTS, max_size=10).map("".join)), label=LABELS,
       aw=WEIGHT, fw=WEIGHT, sw=WEIGHT, truncated=st.booleans())
def test_scores_are_finite_and_within_documented_bounds(text, label, aw, fw, sw, truncated):
    extra = {"truncated": truncated}
    kw = dict(accuracy_weight=aw, format_weight=fw)
    strength = thinkj_strength.compute_score("x", text, label, extra, strength_weight=sw, **kw)["score"]
    binary = thinkj_binary.compute_score("x", text, label, extra, **kw)["score"]
    margin = thinkj_margin.compute_score("x", text, label, extra, margin_weight=sw, **kw)["score"]
    tag = answer_tag.compute_score("x", text, label, extra)["score"]
    eps = 1e-9
    assert -eps <= strength <= aw + fw + sw + eps
    assert -eps <= binary <= aw + fw + eps
    assert -sw - eps <= margin <= aw + fw + sw + eps
    assert tag in (-1.0, 1.0)
    if truncated:
        assert strength == binary == 0.0 and tag == -1.0


# The released formulas, written from their published description (method.md section 1) with
# the released regexes, independently of reward_fns/.
RELEASED_STRENGTH = re.compile(r"Therefore, Response \((a|b)\) is better, and the strength is \[\[(\d+)\]\]\.")
RELEASED_COT = re.compile(r"Therefore, Response \((a|b)\) is better\.")


def published_reward_strength(text, g):
    m = RELEASED_STRENGTH.search(text)
    if g == 0 or m is None or m.group(1) != ("a" if g < 0 else "b"):
        return 0.0
    s = int(m.group(2))
    return 1 - abs(abs(g) - s) / 8 if s in (1, 2, 3) else 1 + (-0.5)


def published_reward_cot(text, g):
    found = RELEASED_COT.findall(text)
    if not found:
        return 0.5
    return 1.0 if found[-1] == ("a" if g == 1 else "b") else 0.0


def published_reward_score(text, g):
    m1 = re.search(r"<Score 1>(\d+)</Score 1>", text)
    m2 = re.search(r"<Score 2>(\d+)</Score 2>", text)
    if m1 is None or m2 is None:
        return 0.5
    s1, s2 = int(m1.group(1)), int(m2.group(1))
    margin = abs(s1 - s2) / 100
    right = (s1 > s2 and g == 1) or (s2 > s1 and g == 2)
    return 1 + min(margin, 1) if right else max(-margin, -1)


RELEASED_FRAGMENTS = st.one_of(
    st.builds(S.format, v=st.sampled_from("ab"), s=st.integers(0, 12)),
    st.builds(B.format, v=st.sampled_from("ab")),
    st.builds("<Score 1>{}</Score 1>".format, st.integers(0, 100)),
    st.builds("<Score 2>{}</Score 2>".format, st.integers(0, 100)),
    st.sampled_from(["<think>", "</think>", " reasoning ", "\n", "(b)", "strength is [[2]]"]),
)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(RELEASED_FRAGMENTS, max_size=8), g=st.sampled_from([-3, -2, -1, 0, 1, 2, 3]))
def test_released_strength_equals_published_formula(parts, g):
    text = "".join(parts)
    ours = thinkj_strength.compute_score("x", text, g, None, variant="released")["score"]
    assert ours == pytest.approx(published_reward_strength(text, g))


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(RELEASED_FRAGMENTS, max_size=8), g=st.sampled_from([1, 2]))
def test_released_binary_and_margin_equal_published_formulas(parts, g):
    text = "".join(parts)
    assert thinkj_binary.compute_score("x", text, g, None, variant="released")["score"] == published_reward_cot(text, g)
    assert thinkj_margin.compute_score("x", text, g, None, variant="released")["score"] == pytest.approx(
        published_reward_score(text, g)
    )
