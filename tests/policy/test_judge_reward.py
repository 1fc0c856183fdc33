"""The judge reward and the gold judge, against real HTTP servers on the loopback address.

Servers: the ``thinkj_cpu`` backend's HTTP app over a tiny model, and scripted judges behind a
plain ``http.server`` (a planted judge that prefers the longer reply, one that always says (a),
one that errors, one that is slow). Nothing here stands in for the client or the reward: both
run as in verl's reward loop, over HTTP.
"""

from __future__ import annotations

import asyncio
import time

import pytest

import reward_fns.judge_reward as judge_reward
from reward_fns.judge_reward import COMPONENTS, compute_score
from tests.policy.judge_servers import LONGER, chat_reply, prefers, serve_model, serve_script
from thinkj_verl.data.pairs import Pair
from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.judge_client import JudgeClient

QUESTION = [{"role": "user", "content": "What is 2+2?"}]
REFERENCE = "2+2 is 4."


def score(reply, url, split="train", **kwargs):
    extra_info = {"pair_id": "p:0", "conversation": QUESTION, "split": split}
    return asyncio.run(compute_score("policy/test", reply, REFERENCE, extra_info, reward_router_address=url, **kwargs))



def test_tiny_model_server_unparsable_replies_get_the_neutral_reward(tiny_judge_path, tiny_tokenizer):
    """verl's way: the router's host:port and the judge's tokenizer; a random tiny model does not
    write the final sentence, so both orders are format failures and the reward is neutral."""
    with serve_model(tiny_judge_path, response_length=8) as url:
        row = asyncio.run(compute_score("policy/test", "Four.", REFERENCE,
                                        {"pair_id": "p:0", "conversation": QUESTION},
                                        reward_router_address=url, reward_model_tokenizer=tiny_tokenizer))
    assert set(row) == {"score", *COMPONENTS}
    assert row["score"] == judge_reward.NEUTRAL_REWARD
    assert (row["neutral"], row["judge_format_fail"], row["judge_call_fail"]) == (1.0, 1.0, 0.0)
    assert row["win"] == row["tie"] == row["loss"] == 0.0 and row["reply_chars"] == 5.0


def test_planted_length_judge_maps_both_orders_to_win_loss_and_tie():
    with serve_script(LONGER) as (url, requests):
        win = score("2+2 is 4, because two and two make four.", url)
        loss = score("4", url)
        strong = score("2+2 is 4, because two and two make four.", url, strength_weight=0.5)
    assert len(requests) == 6
    # both orders were asked, each with the policy's reply in a different position
    assert {r["messages"][0]["content"].index("4, because") < r["messages"][0]["content"].index(REFERENCE + "\n")
            for r in requests[:2]} == {True, False}
    assert (win["score"], win["win"], win["consistent"], win["neutral"]) == (1.0, 1.0, 1.0, 0.0)
    assert win["judge_think_tokens"] == 3.0  # "I compared them." in words (no tokenizer given)
    assert (loss["score"], loss["loss"], loss["consistent"]) == (-1.0, 1.0, 1.0)
    assert strong["score"] == 1.0  # strength 2 is the middle: the weight changes nothing at [[2]]
    with serve_script(prefers(lambda a, b: "a")) as (url, _):
        biased = score("2+2 is 4, because two and two make four.", url)
    assert (biased["score"], biased["tie"], biased["consistent"], biased["neutral"]) == (0.0, 1.0, 0.0, 0.0)


def test_empty_reply_is_a_loss_without_asking():
    with serve_script(LONGER) as (url, requests):
        row = score("   ", url)
    assert (row["score"], row["empty_reply"], row["loss"]) == (-1.0, 1.0, 1.0) and requests == []


def test_server_errors_are_retried_with_a_bound_then_counted():
    failures = {"left": 2}

    def flaky(body):
        if failures["left"] > 0:
            failures["left"] -= 1
            return 500, {"error": "overloaded"}
        return LONGER(body)

    with serve_script(flaky) as (url, requests):
        row = score("2+2 is 4, because two and two make four.", url, backoff_s=0.01)
    assert (row["score"], row["judge_retries"], row["judge_call_fail"]) == (1.0, 2.0, 0.0) and len(requests) == 4

    with serve_script(lambda body: (503, {"error": "down"})) as (url, requests):
        row = score("2+2 is 4, because two and two make four.", url, backoff_s=0.01, max_attempts=3)
    assert (row["score"], row["neutral"], row["judge_call_fail"], row["judge_retries"]) == (0.0, 1.0, 1.0, 4.0)
    assert len(requests) == 6  # 2 orders x 3 attempts, then given up

    with serve_script(lambda body: (400, {"error": "bad request"})) as (url, requests):
        client = JudgeClient(url, fmt="strength", backoff_s=0.01)
        verdict = asyncio.run(client.judge_pair(Pair("p", "t", QUESTION, "x", "y", GroundTruth("a"))))
    assert len(requests) == 2 and client.counts["retries"] == 0 and verdict.failed_calls == 2
    assert "HTTP 400" in verdict.calls["ab"].error

    with serve_script(lambda body: (200, {"no": "choices"})) as (url, _):
        client = JudgeClient(url, max_attempts=2, backoff_s=0.01)
        result = asyncio.run(client.chat(QUESTION))
    assert not result.ok and client.counts["bad_replies"] == 2 and client.counts["failed"] == 1


def test_slow_server_times_out_per_attempt_and_is_counted():
    def slow(body):
        time.sleep(1.5)
        return 200, chat_reply("Therefore, Response (a) is better, and the strength is [[2]].")

    with serve_script(slow) as (url, requests):
        client = JudgeClient(url, timeout_s=0.2, max_attempts=2, backoff_s=0.01)
        started = time.monotonic()
        verdict = asyncio.run(client.judge_pair(Pair("p", "t", QUESTION, "x", "y", GroundTruth("a"))))
        elapsed = time.monotonic() - started
    assert client.counts["timeouts"] == 4 and client.counts["failed"] == 2 and verdict.failed_calls == 2
    assert elapsed < 1.5  # the two orders were asked at once, and each attempt gave up at 0.2 s
    assert "timeout" in verdict.calls["ba"].error


def test_length_hacking_is_exposed_by_the_gold_judge_gap():
    """The training judge is planted: it prefers the longer reply. The gold judge prefers the
    reply with less filler (then the longer). A padded reply wins under the training judge and
    loses under the gold one; an honest longer answer wins under both."""

    def filler(text):
        return text.count("very")

    gold = prefers(lambda a, b: ("a" if filler(a) < filler(b) else "b") if filler(a) != filler(b)
                   else ("a" if len(a) >= len(b) else "b"))
    hacked = REFERENCE + " very" * 12
    honest = "2+2 is 4: two and two make four."
    with serve_script(LONGER) as (train_url, _), serve_script(gold) as (gold_url, gold_requests):
        rows = {
            "hacked": score(hacked, train_url, split="val", gold_url=gold_url),
            "honest": score(honest, train_url, split="val", gold_url=gold_url),
            "train": score(hacked, train_url, split="train", gold_url=gold_url),
            "sampled": score(hacked, train_url, split="train", gold_url=gold_url, gold_sample_rate=1.0),
        }
    assert len(gold_requests) == 6  # val rows and the sampled train row, both orders each
    hacked_row, honest_row = rows["hacked"], rows["honest"]
    assert (hacked_row["win"], hacked_row["gold_loss"], hacked_row["gold_gap"], hacked_row["gold_agree"]) == (1, 1, 1, 0)
    assert (honest_row["win"], honest_row["gold_win"], honest_row["gold_gap"], honest_row["gold_agree"]) == (1, 1, 0, 1)
    assert rows["train"]["gold_asked"] == 0.0 and rows["sampled"]["gold_asked"] == 1.0
    # the gold judge never changes the reward
    assert rows["hacked"]["score"] == rows["train"]["score"] == 1.0

    from thinkj_verl.policy_metrics import policy_metrics

    metrics = policy_metrics([rows["hacked"], rows["honest"], rows["train"]])
    assert metrics["policy/judge_win_rate"] == 1.0
    assert metrics["policy/gold_win_rate"] == 0.5 and metrics["policy/gold_gap"] == 0.5
    assert metrics["policy/gold_agreement"] == 0.5 and metrics["policy/gold_asked"] == 2


def test_missing_reference_or_address_is_named():
    with pytest.raises(ValueError, match="reward_kwargs.judge_url"):
        asyncio.run(compute_score("s", "x", REFERENCE, {"conversation": QUESTION}))
    with pytest.raises(ValueError, match="'p:9'.*reference"):
        asyncio.run(compute_score("s", "x", None, {"pair_id": "p:9", "conversation": QUESTION}, judge_url="h:1"))
    with pytest.raises(TypeError, match="judge_ulr"):
        asyncio.run(compute_score("s", "x", REFERENCE, {"conversation": QUESTION}, judge_ulr="h:1"))


def test_pointwise_judge_scores_reply_and_reference_alone():
    """judge_format=pointwise: each response alone, both calls at once; reward = score gap / 10."""
    import re

    shown = re.compile(r"\[The Start of the Response\]\n(.*?)\n\[The End of the Response\]", re.S)

    def scorer(body):
        content = body["messages"][0]["content"]
        assert "Response (a)" not in content  # one response per prompt, never the pair
        response = shown.search(content).group(1)
        if "unsure" in response:
            return 200, chat_reply("I cannot tell.")
        score = 9 if "because" in response else 6 if response == REFERENCE else 2
        return 200, chat_reply(f"<think>Scored it.</think>Therefore, the score of the response is [[{score}]].")

    with serve_script(scorer) as (url, requests):
        win = score("2+2 is 4, because two and two make four.", url, judge_format="pointwise")
        loss = score("5", url, judge_format="pointwise")
        neutral = score("unsure", url, judge_format="pointwise")
        tie = score(REFERENCE, url, judge_format="pointwise")
    assert len(requests) == 8
    assert (win["score"], win["win"], win["consistent"], win["neutral"]) == (pytest.approx(0.3), 1.0, 1.0, 0.0)
    assert (loss["score"], loss["loss"]) == (pytest.approx(-0.4), 1.0)
    assert (neutral["score"], neutral["neutral"], neutral["judge_format_fail"]) == (judge_reward.NEUTRAL_REWARD, 1.0, 0.5)
    assert (tie["score"], tie["tie"], tie["neutral"]) == (0.0, 1.0, 0.0)
