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
        (thinkj_binary, B.format(v="a") + B.format(v="b"), 2, {"variant": "released"}, 1.0),  # (b) wins over (a)
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


# The released formulas, re-implemented here from their description (method.md section 1) and
# the released regexes, independently of reward_fns/: what `variant="released"` must equal bit for bit.
RELEASED_STRENGTH = re.compile(r"Therefore, Response \((a|b)\) is better, and the strength is \[\[(\d+)\]\]\.")
RELEASED_COT_A = re.compile(r"Response \(a\) is better.")
RELEASED_COT_B = re.compile(r"Response \(b\) is better.")
RELEASED_SCORE = re.compile(r"<Score 1>(\d*\.?\d+)</Score 1>.*<Score 2>(\d*\.?\d+)</Score 2>")


def published_reward_strength(text, g):
    m = RELEASED_STRENGTH.search(text)
    if m is None:
        return 0.0
    if not ((m.group(1) == "a" and g < 0) or (m.group(1) == "b" and g > 0)):
        return 0.0
    s = int(m.group(2))
    return 1 + (-abs(abs(g) - s) / 8 if s in {1, 2, 3} else -0.5)


def published_reward_cot(text, g):
    judgement = 0
    if RELEASED_COT_A.search(text):
        judgement = 1
    if RELEASED_COT_B.search(text):
        judgement = 2
    return 1.0 if judgement == g else 0.5 if judgement == 0 else 0.0


def published_reward_score(text, g):
    m = RELEASED_SCORE.search(text)
    if m is None:
        return 0.5
    s1, s2 = float(m.group(1)), float(m.group(2))
    if (s1 > s2 and g == 1) or (s1 < s2 and g == 2):
        return min(abs(s1 - s2) / 100, 1.0) + 1.0
    return max(-abs(s1 - s2) / 100, -1.0)


# Replies that vary exactly what the released regexes are strict about: the closing period,
# spacing, case, the brackets, the digits (leading zeros, signs, out of range, other scripts),
# "preference strength", several sentences, <think> and where the sentence sits.
SIDE = st.sampled_from(["(a)", "(b)", "(A)", "( a)", "a"])
STRENGTH_DIGITS = st.sampled_from(["1", "2", "3", "0", "4", "03", "12", "+2", "-1", "2.0", "\u0663", "9" * 30, ""])
STRENGTH_SENTENCE = st.builds(
    lambda lead, side, sep, word, opener, digits, closer, end: (
        f"{lead}Response {side} is better,{sep}and the {word} is {opener}{digits}{closer}{end}"
    ),
    lead=st.sampled_from(["Therefore, ", "therefore, ", "Therefore ", "Therefore,  ", ""]),
    side=SIDE, sep=st.sampled_from([" ", "  ", "\n"]),
    word=st.sampled_from(["strength", "preference strength", "Strength"]),
    opener=st.sampled_from(["[[", "[", "[[ "]), digits=STRENGTH_DIGITS, closer=st.sampled_from(["]]", "]", " ]]"]),
    end=st.sampled_from([".", "", "!", " .", ".\n", ". More text."]),
)
COT_SENTENCE = st.builds(
    lambda lead, side, end: f"{lead}Response {side} is better{end}",
    lead=st.sampled_from(["Therefore, ", "therefore ", "", "I think "]), side=SIDE,
    end=st.sampled_from([".", "", "!", ",", "\n", " than (b).", ". "]),
)
SCORE_VALUE = st.sampled_from(["0", "30", "70", "100", "150", "07", "2.5", ".5", "5.", " 40", "-3", "1" * 400, ""])
SCORE_TAGS = st.builds(
    lambda one, two, order, gap: (
        f"<Score 1>{one}</Score 1>{gap}<Score 2>{two}</Score 2>" if order else f"<Score 2>{two}</Score 2>{gap}<Score 1>{one}</Score 1>"
    ),
    one=SCORE_VALUE, two=SCORE_VALUE, order=st.booleans(), gap=st.sampled_from(["", " and ", "\n", "<Score 2>9</Score 2>"]),
)
FILLER = st.sampled_from(["<think>", "</think>", " reasoning. ", "\n", "(b) ", "[[2]]", "", "<think>\nWait."])
RELEASED_REPLY = st.lists(
    st.one_of(STRENGTH_SENTENCE, COT_SENTENCE, SCORE_TAGS, FILLER, st.builds(S.format, v=st.sampled_from("ab"), s=st.integers(0, 4))),
    max_size=6,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(text=RELEASED_REPLY, g=st.sampled_from([-3, -2, -1, 0, 1, 2, 3]), require_think=st.booleans(),
       truncated=st.booleans())
def test_released_strength_equals_published_formula(text, g, require_think, truncated):
    # The released code knows neither <think> rules nor truncation: it reads the text only.
    ours = thinkj_strength.compute_score(
        "x", text, g, {"truncated": truncated}, variant="released", require_think=require_think
    )["score"]
    assert ours == published_reward_strength(text, g)


@settings(max_examples=600, deadline=None)
@given(text=RELEASED_REPLY, g=st.sampled_from([1, 2]), require_think=st.booleans())
def test_released_binary_and_margin_equal_published_formulas(text, g, require_think):
    kw = dict(variant="released", require_think=require_think)
    assert thinkj_binary.compute_score("x", text, g, None, **kw)["score"] == published_reward_cot(text, g)
    published = published_reward_score(text, g)
    # The one deliberate difference: nan (two infinite scores) reads as unparsable, 0.5.
    assert thinkj_margin.compute_score("x", text, g, None, **kw)["score"] == (0.5 if math.isnan(published) else published)
    # The dict label reads the same as the released integer.
    label = {"better": "a" if g == 1 else "b"}
    assert thinkj_binary.compute_score("x", text, label, None, **kw)["score"] == published_reward_cot(text, g)


@pytest.mark.parametrize(
    "module, reply, label, score",
    [
        # The closing period is part of the released strength regex.
        (thinkj_strength, "Therefore, Response (a) is better, and the strength is [[3]]", -3, 0.0),
        (thinkj_strength, "Therefore, Response (a) is better, and the strength is [[3]].", -3, 1.0),
        (thinkj_strength, "Therefore, Response (a) is better, and the preference strength is [[3]].", -3, 0.0),
        (thinkj_strength, "Therefore, Response (a) is better, and the strength is [[03]].", -2, 0.875),
        (thinkj_strength, "Therefore, Response (a) is better, and the strength is [[+3]].", -3, 0.0),
        # First match wins, wherever it sits, thinking included.
        (thinkj_strength, "<think>" + S.format(v="b", s=1) + "</think>" + S.format(v="a", s=3), -3, 0.0),
        # reward_cot: "." is a wildcard and needs a character; (b) wins over (a) wherever it sits.
        (thinkj_binary, "Response (a) is better!", 1, 1.0),
        (thinkj_binary, "Therefore, Response (a) is better", 1, 0.5),
        (thinkj_binary, B.format(v="b") + " " + B.format(v="a"), 1, 0.0),
        # reward_score: decimals count, a newline between the tags does not.
        (thinkj_margin, "<Score 1>2.5</Score 1><Score 2>.5</Score 2>", 1, 1.02),
        (thinkj_margin, "<Score 1>10</Score 1>\n<Score 2>70</Score 2>", 2, 0.5),
        (thinkj_margin, "<Score 1> 10</Score 1><Score 2>70</Score 2>", 2, 0.5),
    ],
)
def test_released_variants_are_strict_where_the_released_regexes_are(module, reply, label, score):
    assert module.compute_score("x", reply, label, None, variant="released")["score"] == pytest.approx(score)


@pytest.mark.parametrize("module", [thinkj_strength, thinkj_binary, thinkj_margin, answer_tag])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1.0", None, True])
def test_weights_that_are_not_finite_numbers_are_refused_by_name(module, value):
    with pytest.raises(ValueError, match=r"format_weight=.* is not a finite number") as error:
        module.compute_score("x", "", LABEL_A2, format_weight=value)
    assert error.value.key == "format_weight"


@pytest.mark.parametrize("module", [thinkj_strength, thinkj_binary, thinkj_margin, answer_tag])
def test_require_think_must_be_a_boolean(module):
    with pytest.raises(ValueError, match=r"require_think='false' is not a boolean"):
        module.compute_score("x", "", LABEL_A2, require_think="false")


def test_answer_tag_has_no_released_variant():
    with pytest.raises(ValueError, match="variant='released' does not exist for the answer-tag reward"):
        answer_tag.compute_score("x", "<answer>[[A]]</answer>", LABEL_A2, variant="released")
