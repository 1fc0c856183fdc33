"""Judge and critic prompts: structure, round trip through the parser, order/label property."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinkj_verl.data.pairs import Pair

from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.formats import FORMATS, PAIRWISE_FORMATS, get_format
from thinkj_verl.parser import parse_judgment
from thinkj_verl.prompts import critic_messages, judge_messages, label_for

MULTI_TURN = Pair(
    id="t:1",
    source="test",
    conversation=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "7."},
        {"role": "user", "content": "Another one, larger than 10."},
    ],
    response_a="11.",
    response_b="12.",
    label=GroundTruth("a", strength=3, scores=(90.0, 10.0)),
)


def shown(prompt: str, side: str) -> str:
    """The text shown as Response (side) in a rendered prompt."""
    match = re.search(
        rf"\[The Start of Response \({side}\)\]\n(.*)\n\[The End of Response \({side}\)\]", prompt, re.DOTALL
    )
    return match.group(1)


@pytest.mark.parametrize("fmt", list(PAIRWISE_FORMATS))
def test_judge_prompt_quotes_the_format_instruction_and_delimits_everything(fmt):
    [message] = judge_messages(MULTI_TURN, fmt, order="ab")
    text = message["content"]
    assert message["role"] == "user"
    assert text.endswith(get_format(fmt).instruction)
    assert "impartial judge" in text and "<think>" in text
    # The whole conversation, in order, between its markers.
    start, end = text.index("[The Start of the Conversation]"), text.index("[The End of the Conversation]")
    block = text[start:end]
    positions = [block.index(m["content"]) for m in MULTI_TURN.conversation]
    assert positions == sorted(positions)
    assert "### System:\nBe brief." in block and "### Assistant:\n7." in block
    assert shown(text, "a") == "11." and shown(text, "b") == "12."
    assert end < text.index("[The Start of Response (a)]") < text.index("[The Start of Response (b)]")


def test_single_question_gets_a_question_block():
    pair = Pair("t:2", "test", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a"))
    text = judge_messages(pair, "binary")[0]["content"]
    assert "[The Start of the User's Question]\n2+2?\n[The End of the User's Question]" in text
    assert "Conversation]" not in text


def test_order_ba_swaps_the_responses_and_the_label():
    text = judge_messages(MULTI_TURN, "strength", order="ba")[0]["content"]
    assert shown(text, "a") == "12." and shown(text, "b") == "11."
    assert label_for(MULTI_TURN, "ba").to_dict() == {"better": "b", "strength": 3, "scores": [10.0, 90.0]}
    assert label_for(MULTI_TURN, "ab").to_dict() == {"better": "a", "strength": 3, "scores": [90.0, 10.0]}
    with pytest.raises(ValueError, match="order must be one of"):
        judge_messages(MULTI_TURN, "strength", order="ac")


@pytest.mark.parametrize("fmt", list(PAIRWISE_FORMATS))
@pytest.mark.parametrize("order", ["ab", "ba"])
def test_rendered_prompt_and_final_sentence_round_trip_through_tokenizer_and_parser(tiny_tokenizer, fmt, order):
    """Prompt -> chat template -> reply with the format's sentence -> decode -> parse_judgment."""
    label = label_for(MULTI_TURN, order)
    score_a, score_b = (int(s) for s in label.scores)
    sentence = get_format(fmt).render(verdict=label.better, strength=label.strength, score_a=score_a, score_b=score_b)
    reply = f"<think>\nResponse ({label.better}) gives a prime above ten.\n</think>\n\n{sentence}"
    messages = judge_messages(MULTI_TURN, fmt, order) + [{"role": "assistant", "content": reply}]
    prompt_ids = tiny_tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True)
    full_ids = tiny_tokenizer.apply_chat_template(messages, tokenize=True)
    prompt_ids = list(getattr(prompt_ids, "input_ids", prompt_ids))
    full_ids = list(getattr(full_ids, "input_ids", full_ids))
    assert full_ids[: len(prompt_ids)] == prompt_ids
    decoded = tiny_tokenizer.decode(full_ids[len(prompt_ids) :], skip_special_tokens=True)
    judgment = parse_judgment(decoded, fmt, require_think=True)
    assert judgment.format_ok, judgment.reason
    assert judgment.verdict == label.better
    if fmt == "strength":
        assert judgment.strength == 3
    if fmt == "scores":
        assert judgment.scores == (score_a, score_b)


@pytest.mark.parametrize("fmt", list(PAIRWISE_FORMATS))
@pytest.mark.parametrize("verdict", ["a", "b"])
def test_critic_prompt_gives_the_verdict_and_an_ending_the_parser_reads_as_that_verdict(fmt, verdict):
    text = critic_messages(MULTI_TURN, fmt, "ba", verdict)[0]["content"]
    other = "b" if verdict == "a" else "a"
    assert f"given that Response ({verdict}) is better than Response ({other})" in text
    assert get_format(fmt).instruction in text
    example = re.search(r'for example: "(.*)"$', text, re.DOTALL).group(1)
    assert parse_judgment(example, fmt).verdict == verdict
    assert shown(text, "a") == "12."  # same order policy as the judge prompt
    with pytest.raises(ValueError, match="verdict must be 'a' or 'b'"):
        critic_messages(MULTI_TURN, fmt, "ab", "c")


# Texts without our own block markers, so `shown` can find each block unambiguously.
texts = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and "[The " not in s and s.strip() == s)


@st.composite
def pairs(draw):
    a = draw(texts)
    b = draw(texts.filter(lambda s: s != a))
    turns = draw(st.lists(texts, min_size=1, max_size=5).filter(lambda t: len(t) % 2 == 1))
    conversation = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    scores = draw(st.none() | st.tuples(st.integers(0, 100), st.integers(0, 100)))
    return Pair(
        id="h:0",
        source="hypothesis",
        conversation=conversation,
        response_a=a,
        response_b=b,
        label=GroundTruth(draw(st.sampled_from("ab")), strength=draw(st.none() | st.integers(1, 3)), scores=scores),
    )


@settings(max_examples=200, deadline=None)
@given(pair=pairs(), fmt=st.sampled_from(list(PAIRWISE_FORMATS)), order=st.sampled_from(["ab", "ba"]))
def test_any_order_then_mapping_the_label_gives_the_same_underlying_preference(pair, fmt, order):
    text = judge_messages(pair, fmt, order)[0]["content"]
    label = label_for(pair, order)
    worse = "b" if label.better == "a" else "a"
    truly_better, truly_worse = pair.better_and_worse()
    assert shown(text, label.better) == truly_better
    assert shown(text, worse) == truly_worse
    assert label.strength == pair.label.strength
    if pair.label.scores is not None:
        # Scores follow their response: the score shown for (a) belongs to the text shown as (a).
        score_of = {pair.response_a: pair.label.scores[0], pair.response_b: pair.label.scores[1]}
        assert label.scores == (score_of[shown(text, "a")], score_of[shown(text, "b")])


def test_pointwise_prompt_shows_one_response_and_round_trips_its_score(tiny_tokenizer):
    from thinkj_verl.prompts import pointwise_messages, session_messages

    for response, shown_reply, hidden in (("a", MULTI_TURN.response_a, MULTI_TURN.response_b),
                                          ("b", MULTI_TURN.response_b, MULTI_TURN.response_a)):
        [message] = pointwise_messages(MULTI_TURN, "pointwise", response)
        assert shown_reply in message["content"] and hidden not in message["content"]
        assert "Response (a)" not in message["content"]  # no positions to be biased by
        reply = f"<think>\nfine\n</think>\n\n{get_format('pointwise').render(score=9)}"
        prompt_ids = tiny_tokenizer.apply_chat_template([message], add_generation_prompt=True, tokenize=True)
        full_ids = tiny_tokenizer.apply_chat_template([message, {"role": "assistant", "content": reply}], tokenize=True)
        prompt_ids = list(getattr(prompt_ids, "input_ids", prompt_ids))
        full_ids = list(getattr(full_ids, "input_ids", full_ids))
        decoded = tiny_tokenizer.decode(full_ids[len(prompt_ids):], skip_special_tokens=True)
        assert parse_judgment(decoded, "pointwise", require_think=True).score == 9
    assert [view for view, _ in session_messages(MULTI_TURN, "pointwise")] == ["a", "b"]
    assert session_messages(MULTI_TURN, "strength")[1][1] == judge_messages(MULTI_TURN, "strength", "ba")
    with pytest.raises(ValueError, match="needs a pointwise format"):
        pointwise_messages(MULTI_TURN, "strength", "a")
