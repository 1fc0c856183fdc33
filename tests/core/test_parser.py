"""The one parser of judge replies: table-driven cases per format, and properties on any text."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinkj_verl.formats import FORMATS, get_format
from thinkj_verl.parser import parse_judgment

S = "Therefore, Response ({v}) is better, and the strength is [[{s}]]."

# (reply, format, kwargs, verdict, strength, scores, format_ok, reason)
CASES = [
    # strength format
    (S.format(v="a", s=2), "strength", {}, "a", 2, None, True, ""),
    ("<think>\nShort.\n</think>\n\n" + S.format(v="b", s=3), "strength", {}, "b", 3, None, True, ""),
    ("Therefore, Response (b) is better, and the preference strength is [[1]].", "strength", {}, "b", 1, None, True, ""),
    ("<think>I first thought " + S.format(v="b", s=1) + "</think>" + S.format(v="a", s=2),
     "strength", {}, "a", 2, None, True, ""),
    (S.format(v="a", s=2) + "\n" + S.format(v="b", s=2), "strength", {}, None, None, None, False,
     "conflicting final verdicts"),
    (S.format(v="a", s=2) + " " + S.format(v="a", s=2), "strength", {}, "a", 2, None, True, ""),
    (S.format(v="a", s=7), "strength", {}, "a", 7, None, False, "strength 7 outside 1..3"),
    (S.format(v="a", s=0), "strength", {}, "a", 0, None, False, "strength 0 outside 1..3"),
    ("<think>still thinking " + S.format(v="a", s=2), "strength", {}, None, None, None, False, "unclosed <think>"),
    (S.format(v="a", s=2), "strength", {"truncated": True}, None, None, None, False, "truncated at the length limit"),
    (S.format(v="a", s=2), "strength", {"require_think": True}, None, None, None, False, "missing <think>...</think>"),
    ("<think>ok</think>" + S.format(v="a", s=2), "strength", {"require_think": True}, "a", 2, None, True, ""),
    ("Réponse 🤖 — " + S.format(v="b", s=2), "strength", {}, "b", 2, None, True, ""),
    ("Therefore, Response (A) is better, and the strength is [[2]].", "strength", {}, None, None, None, False,
     "no final verdict sentence"),
    ("", "strength", {}, None, None, None, False, "no final verdict sentence"),
    ("Therefore, Response (a) is better.", "strength", {}, None, None, None, False, "no final verdict sentence"),
    ("Therefore, Response (a) is better, and the strength is [[99999999999999]].", "strength", {}, None, None, None,
     False, "no final verdict sentence"),
    # binary format
    ("(b) is wrong. Therefore, Response (a) is better.", "binary", {}, "a", None, None, True, ""),
    (S.format(v="a", s=2), "binary", {}, None, None, None, False, "no final verdict sentence"),
    ("Therefore, Response (a) is better. Therefore, Response (b) is better.", "binary", {}, None, None, None, False,
     "conflicting final verdicts"),
    # scores format: the paper's sentence and the released tags
    ("Therefore, the quality scores for Response (a) and Response (b) are [[30]] and [[50]], respectively.",
     "scores", {}, "b", None, (30, 50), True, ""),
    ("<Score 1>88</Score 1> and <Score 2>12</Score 2>", "scores", {}, "a", None, (88, 12), True, ""),
    ("are [[40]] and [[40]], respectively.", "scores", {}, None, None, (40, 40), False, "equal scores give no verdict"),
    ("are [[140]] and [[40]], respectively.", "scores", {}, "a", None, (140, 40), False,
     "scores (140, 40) outside 0..100"),
    ("<Score 1>88</Score 1> only one tag", "scores", {}, None, None, None, False, "no final verdict sentence"),
    # answer_tag format
    ("Reasoning. <answer>[[B]]</answer>", "answer_tag", {}, "b", None, None, True, ""),
    ("<answer> [[A]] </answer>", "answer_tag", {}, "a", None, None, True, ""),
    ("<answer>[[A]]</answer><answer>[[B]]</answer>", "answer_tag", {}, None, None, None, False,
     "conflicting final verdicts"),
    ("<answer>[[C]]</answer>", "answer_tag", {}, None, None, None, False, "no final verdict sentence"),
]


@pytest.mark.parametrize("reply, fmt, kwargs, verdict, strength, scores, ok, reason", CASES)
def test_parse_cases(reply, fmt, kwargs, verdict, strength, scores, ok, reason):
    judgment = parse_judgment(reply, fmt, **kwargs)
    assert (judgment.verdict, judgment.strength, judgment.scores) == (verdict, strength, scores)
    assert (judgment.format_ok, judgment.reason) == (ok, reason)


def test_trace_is_the_thinking_and_quoted_verdicts_are_kept_as_matches():
    reply = "<think>\n(b) misses the point; " + S.format(v="b", s=1) + "\n</think>\n\n" + S.format(v="a", s=3)
    judgment = parse_judgment(reply, "strength")
    assert judgment.trace == "(b) misses the point; " + S.format(v="b", s=1)
    assert [(m.verdict, m.strength) for m in judgment.matches] == [("b", 1), ("a", 3)]


def test_trace_without_think_tags_is_the_text_before_the_final_sentence():
    judgment = parse_judgment("Both answer.  (a) cites a source. " + S.format(v="a", s=1), "strength")
    assert judgment.trace == "Both answer.  (a) cites a source."


def test_qwen3_style_reply_without_opening_tag():
    # Reasoning chat templates put <think> in the prompt: the reply holds only the closing tag.
    judgment = parse_judgment("(a) is right.\n</think>\n" + S.format(v="a", s=2), "strength", require_think=True)
    assert (judgment.verdict, judgment.format_ok, judgment.trace) == ("a", True, "(a) is right.")


def test_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown output format 'rubric'; choose one of strength"):
        parse_judgment("x", "rubric")


def test_every_format_parses_its_own_rendered_sentence():
    for fmt in FORMATS.values():
        if fmt.pointwise:  # one response, a score and no verdict: below
            continue
        for verdict in "ab":
            scores = (70, 20) if verdict == "a" else (20, 70)
            reply = "<think>x</think>" + fmt.render(verdict=verdict, strength=3, score_a=scores[0], score_b=scores[1])
            judgment = parse_judgment(reply, fmt.name, require_think=True)
            assert judgment.format_ok, (fmt.name, judgment.reason)
            assert judgment.verdict == verdict


@pytest.mark.parametrize("reply,score,reason", [
    ("<think>x</think>" + FORMATS["pointwise"].render(score=0), 0, ""),
    ("<think>x</think>" + FORMATS["pointwise"].render(score=10), 10, ""),
    ("Short and right. Therefore, the score of the response is [[7]].", 7, ""),
    ("<think>x</think>" + FORMATS["pointwise"].render(score=11), 11, "score 11 outside 0..10"),
    ("<think>the score of the response is [[9]]</think> no score", None, "no final verdict sentence"),
    ("<think>x</think>the score of the response is [[3]] and the score of the response is [[4]]", None,
     "conflicting final verdicts"),
])
def test_pointwise_format_reads_one_score_and_no_verdict(reply, score, reason):
    judgment = parse_judgment(reply, "pointwise")
    assert (judgment.score, judgment.reason, judgment.verdict) == (score, reason, None)
    assert judgment.format_ok == (reason == "")


def test_pointwise_verdict_is_the_higher_score_and_a_tie_is_none():
    from thinkj_verl.parser import pointwise_verdict

    assert [pointwise_verdict(*s) for s in [(7, 3), (3, 7), (5, 5), (None, 5)]] == ["a", "b", None, None]


def test_100kb_adversarial_replies_parse_fast():
    nasty = [
        "<Score 1>1</Score 1>" * 5000,
        "Therefore, Response (a) is better, and the strength is [[" * 2000,
        "<think>" * 15000,
        "[[" * 50000,
        "9" * 100_000,
    ]
    start = time.perf_counter()
    for text in nasty:
        for fmt in FORMATS:
            parse_judgment(text, fmt)
    # Generous bound: a quadratic regex would take minutes here.
    assert time.perf_counter() - start < 5.0


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400), fmt=st.sampled_from(sorted(FORMATS)), truncated=st.booleans(),
       require_think=st.booleans())
def test_never_raises_and_is_consistent(text, fmt, truncated, require_think):
    judgment = parse_judgment(text, fmt, truncated=truncated, require_think=require_think)
    assert judgment.format_ok == (judgment.reason == "")
    if judgment.format_ok:
        assert judgment.verdict in ("a", "b")
    if truncated:
        assert not judgment.format_ok and judgment.verdict is None


PIECES = st.sampled_from([
    "<think>", "</think>", " ", "\n", "(a)", "(b)", "[[2]]", "[[9]]", "Response (a) is better",
    S.format(v="a", s=2), S.format(v="b", s=3), "Therefore, Response (b) is better.", "<answer>[[A]]</answer>",
    "<Score 1>40</Score 1>", "<Score 2>60</Score 2>", "are [[10]] and [[90]], respectively.", "ünï",
])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(PIECES, max_size=12), fmt=st.sampled_from(sorted(FORMATS)))
def test_never_raises_on_format_fragments(parts, fmt):
    judgment = parse_judgment("".join(parts), fmt)
    if judgment.format_ok:
        # A trusted verdict always comes from the last final sentence of the reply.
        assert judgment.matches and judgment.matches[-1].verdict == judgment.verdict


def test_get_format_names():
    assert sorted(FORMATS) == ["answer_tag", "binary", "pointwise", "scores", "strength"]
    assert get_format("strength").render(verdict="b", strength=1) == S.format(v="b", s=1)
