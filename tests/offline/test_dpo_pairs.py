"""Critic-guided pair rules (table-driven), the sampling baseline, RISE-Judge filters, and the CLI."""

from __future__ import annotations

import json

import pytest

from thinkj_verl.data.pairs import Pair, write_pairs

from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.generation import Generation
from thinkj_verl.offline.dpo_pairs import (
    ALL_RIGHT,
    ALL_WRONG,
    CRITIC_EMPTY,
    CRITIC_OFF,
    JUDGE_EMPTY,
    JUDGE_RIGHT,
    JUDGE_UNPARSABLE,
    JUDGE_WRONG,
    SAMPLED,
    balance_length,
    bt_rows,
    critic_pair,
    critic_verdict,
    main,
    position_consistent,
    rise_sft_rows,
    sampling_pair,
)

SAYS_A = "<think>(a) gets the date right.</think>\n\nTherefore, Response (a) is better, and the strength is [[2]]."
SAYS_B = "<think>(b) is more detailed.</think>\n\nTherefore, Response (b) is better, and the strength is [[1]]."
EMPTY_A = "<think> </think> Therefore, Response (a) is better, and the strength is [[2]]."
EMPTY_B = "<think></think> Therefore, Response (b) is better, and the strength is [[3]]."
GARBLE = "I am not sure what to say."
SAYS_B_BAD_STRENGTH = "<think>(b) ok.</think> Therefore, Response (b) is better, and the strength is [[7]]."

# label 'a' throughout: (judge output, critic output, judge truncated, expected rule, chosen, rejected)
CRITIC_RULES = [
    (SAYS_A, SAYS_B, False, JUDGE_RIGHT, SAYS_A, SAYS_B),
    (SAYS_B, SAYS_A, False, JUDGE_WRONG, SAYS_A, SAYS_B),
    (GARBLE, SAYS_A, False, JUDGE_UNPARSABLE, SAYS_A, GARBLE),
    (SAYS_A, SAYS_A, True, JUDGE_UNPARSABLE, SAYS_A, SAYS_A),  # a cut-off judgment counts as wrong
    (SAYS_A, SAYS_A, False, CRITIC_OFF, None, None),  # asked for (b), argued for (a)
    (SAYS_B, SAYS_B, False, CRITIC_OFF, None, None),  # asked for (a), argued for (b)
    (SAYS_A, GARBLE, False, CRITIC_OFF, None, None),
    (SAYS_A, SAYS_B_BAD_STRENGTH, False, CRITIC_OFF, None, None),
    (SAYS_A, EMPTY_B, False, CRITIC_EMPTY, None, None),
    (EMPTY_A, SAYS_B, False, JUDGE_EMPTY, None, None),
    ("", SAYS_A, False, JUDGE_EMPTY, None, None),
]


@pytest.mark.parametrize("judge, critic, truncated, rule, chosen, rejected", CRITIC_RULES)
def test_critic_pair_rules(judge, critic, truncated, rule, chosen, rejected):
    made = critic_pair(judge, critic, "a", "strength", judge_truncated=truncated)
    assert (made.rule, made.chosen, made.rejected) == (rule, chosen, rejected)
    assert made.ok == (chosen is not None)


@pytest.mark.parametrize("judge, label, asked", [(SAYS_A, "a", "b"), (SAYS_B, "a", "a"), (GARBLE, "b", "b"),
                                                 (SAYS_B, "b", "a")])
def test_critic_is_asked_for_the_opposite_of_a_right_judge(judge, label, asked):
    assert critic_verdict(judge, label, "strength") == asked


def test_critic_truncated_reply_is_dropped():
    assert critic_pair(SAYS_A, SAYS_B, "a", "strength", critic_truncated=True).rule == CRITIC_OFF


SAMPLING = [
    ([SAYS_B, GARBLE, SAYS_A, SAYS_A], (SAYS_A, SAYS_B, SAMPLED)),
    ([SAYS_A, SAYS_A], (None, None, ALL_RIGHT)),
    ([SAYS_B, GARBLE], (None, None, ALL_WRONG)),
    ([EMPTY_A, GARBLE], (None, None, ALL_WRONG)),  # a right verdict with no thinking is not chosen
    ([GARBLE, SAYS_A], (SAYS_A, GARBLE, SAMPLED)),
]


@pytest.mark.parametrize("samples, expected", SAMPLING)
def test_sampling_pair_takes_a_right_and_a_wrong_sample(samples, expected):
    made = sampling_pair([(s, False) for s in samples], "a", "strength")
    assert (made.chosen, made.rejected, made.rule) == expected


@pytest.mark.parametrize(
    "ab, ba, label, expected",
    [(SAYS_A, SAYS_B, "a", True), (SAYS_A, SAYS_A, "a", False), (SAYS_B, SAYS_A, "b", True),
     (SAYS_B, SAYS_B, "a", False), (GARBLE, SAYS_B, "a", False)],
)
def test_position_consistency(ab, ba, label, expected):
    assert position_consistent(ab, ba, label, "strength") is expected


def test_length_balance_keeps_half_longer_and_is_seeded():
    items = list(range(10))
    flags = [True] * 7 + [False] * 3
    kept, dropped = balance_length(items, flags, seed=3)
    assert dropped == 4 and len(kept) == 6
    assert sum(flags[i] for i in kept) == 3
    assert balance_length(items, flags, seed=3) == (kept, 4)


def _pair(pid, better="a", a="short", b="a much longer reply"):
    return Pair(pid, "fixture", [{"role": "user", "content": f"question {pid}"}], a, b, GroundTruth(better))


def test_rise_sft_rows_keep_consistent_samples_then_balance_length():
    from thinkj_verl.prompts import judge_messages

    def shown(pair, order, texts):
        return ((pair, order), judge_messages(pair, "strength", order), [Generation(t, False) for t in texts])

    p1, p2, p3 = _pair("p1", "a"), _pair("p2", "b"), _pair("p3", "a")
    sampled = [
        # p1: (a) better and shorter; second sample consistent in both orders
        shown(p1, "ab", [SAYS_B, SAYS_A]), shown(p1, "ba", [SAYS_B, SAYS_B]),
        # p2: (b) better and longer; consistent
        shown(p2, "ab", [SAYS_B]), shown(p2, "ba", [SAYS_A]),
        # p3: says (a) in both orders: position bias, never consistent
        shown(p3, "ab", [SAYS_A]), shown(p3, "ba", [SAYS_A]),
    ]
    rows, counts = rise_sft_rows(sampled, "strength")
    assert counts["dropped: no position-consistent sample"] == 1
    assert counts["kept: position-consistent, length-balanced"] == 4
    assert [r["pair_id"] for r in rows] == ["p1", "p1", "p2", "p2"]
    assert rows[0]["messages"][-1]["content"] == SAYS_A and rows[1]["messages"][-1]["content"] == SAYS_B


def test_bt_rows_put_the_better_response_first():
    rows = bt_rows([_pair("p1", "b")])
    assert rows[0]["chosen"][0]["content"] == "a much longer reply"
    assert rows[0]["prompt"] == [{"role": "user", "content": "question p1"}]


@pytest.fixture(scope="module")
def pair_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    write_pairs([_pair(f"p{i}", "ab"[i % 2]) for i in range(4)], path)
    return str(path)


def test_cli_critic_method_with_tiny_judge_and_critic(tiny_judge_path, pair_file, tmp_path):
    out = tmp_path / "out"
    code = main(["--data", pair_file, "--out", str(out), "--judge", tiny_judge_path, "--critic", tiny_judge_path,
                 "--rounds", "2", "--max-new-tokens", "6"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    # 4 pairs x 2 rounds, each counted under exactly one rule; a random tiny critic never ends
    # in a verdict, so every pair is dropped for that reason and nothing is written.
    assert sum(report["rules"].values()) == 8
    assert report["rules"] == {CRITIC_OFF: 8}
    assert report["written"] == {"dpo.jsonl": 0}
    assert (out / "dpo.jsonl").read_text() == ""


def test_cli_bt_and_missing_model(pair_file, tmp_path, capsys):
    out = tmp_path / "bt"
    assert main(["--data", pair_file, "--out", str(out), "--method", "bt"]) == 0
    assert len((out / "bt.jsonl").read_text().splitlines()) == 4
    with pytest.raises(SystemExit):
        main(["--data", pair_file, "--out", str(out), "--method", "critic", "--judge", "x"])
    assert "needs --critic" in capsys.readouterr().err


def test_cli_engine_options_reach_judge_and_critic(tiny_judge_path, pair_file, tmp_path, capsys):
    args = ["--data", pair_file, "--out", str(tmp_path / "out"), "--judge", tiny_judge_path, "--critic",
            tiny_judge_path, "--max-new-tokens", "2", "--backend", "transformers"]
    assert main([*args, "--max-model-len", "16"]) == 2
    assert "raise --max-model-len" in capsys.readouterr().err
    assert main([*args, "--max-model-len", "100000", "--tensor-parallel", "1"]) == 0
