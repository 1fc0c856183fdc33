"""JudgeBench, RewardBench 2 and ties in a pair set: loaded from files in the hub schema, scored
from planted judgments with hand-checked numbers, and (Ties) against the official code.

The judgments are planted: each pair's outcome in each order (R right, W wrong, U unreadable)
is chosen here, written as a ``generations.jsonl`` in the documented schema, and scored by
``thinkj eval --generations``, the path a real run takes after generation.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinkj_verl.cli import main as thinkj
from thinkj_verl.eval import rewardbench2 as rb2
from thinkj_verl.eval.run import generation_record, load_benchmark
from thinkj_verl.formats import get_format
from thinkj_verl.prompts import label_for

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
UNREADABLE = "I cannot tell which one is better."


def _reply(pair, order: str, outcome: str) -> str:
    if outcome == "U":
        return UNREADABLE
    better = label_for(pair, order).better
    verdict = better if outcome == "R" else ("b" if better == "a" else "a")
    return get_format("strength").render(verdict=verdict, strength=2)


def _plant(pairs, outcomes: dict[str, str], path: Path) -> None:
    """Write ``generations.jsonl``: ``outcomes[pair.id]`` is "XY" (order ab, then ba; "." = not judged)."""
    lines = []
    for pair in pairs:
        for order, outcome in zip(("ab", "ba"), outcomes[pair.id]):
            if outcome != ".":
                reply = SimpleNamespace(text=_reply(pair, order, outcome), truncated=False, num_tokens=7)
                lines.append(json.dumps(generation_record(pair, order, reply)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _score(tmp_path: Path, benchmark: str, pairs, outcomes: dict[str, str]) -> dict:
    generations = tmp_path / "generations.jsonl"
    _plant(pairs, outcomes, generations)
    assert thinkj(["eval", "--generations", str(generations), "--benchmark", benchmark, "--no-progress"]) == 0
    return json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))


# --- JudgeBench ---------------------------------------------------------------------------------


JUDGEBENCH_OUTCOMES = {
    "judgebench:jb-1": "RR",  # mmlu-pro-law      knowledge  net +2  right
    "judgebench:jb-2": "RU",  # mmlu-pro-math     knowledge  net +1  right (mmlu-pro math is knowledge)
    "judgebench:jb-3": "RW",  # livebench-reason. reasoning  net  0  undecided (inconsistent)
    "judgebench:jb-4": "UU",  # livebench-math    math       net  0  undecided
    "judgebench:jb-5": "WR",  # livebench-math    math       net  0  undecided
    "judgebench:jb-6": "WU",  # livecodebench     coding     net -1  wrong
    "judgebench:jb-7": "RR",  # livecodebench     coding     net +2  right
}


def test_judgebench_loads_the_hub_schema_from_a_local_file():
    pairs, skipped = load_benchmark("judgebench", str(FIXTURES / "judgebench_rows.jsonl"))
    assert dict(skipped) == {"malformed row": 1}  # jb-8: label "A=B"
    assert [(p.id, p.label.better, p.subset) for p in pairs] == [
        ("judgebench:jb-1", "a", "knowledge"), ("judgebench:jb-2", "b", "knowledge"),
        ("judgebench:jb-3", "a", "reasoning"), ("judgebench:jb-4", "b", "math"), ("judgebench:jb-5", "a", "math"),
        ("judgebench:jb-6", "a", "coding"), ("judgebench:jb-7", "b", "coding"),
    ]
    assert pairs[0].response_a.endswith("AAAAA.") and pairs[0].meta["source"] == "mmlu-pro-law"
    assert pairs[0].conversation == [{"role": "user", "content": "Question jb-1 from mmlu-pro-law. Let's think step by step."}]


def test_judgebench_official_net_vote_by_hand(tmp_path):
    """Votes: +1 right, -1 wrong, 0 unreadable; right when the net over both orders is > 0.

    knowledge jb-1 RR (+2), jb-2 RU (+1): 2/2 = 100.0
    reasoning jb-3 RW (0): 0/1 = 0.0
    math      jb-4 UU (0), jb-5 WR (0): 0/2 = 0.0
    coding    jb-6 WU (-1), jb-7 RR (+2): 1/2 = 50.0
    overall   pooled over the 7 pairs: 3/7 = 42.857..., not the mean of the categories (37.5).
    Diagnostics: 14 judgments, 7 right, 3 wrong, 4 unreadable; pair accuracy (right in both) 2/7.
    """
    pairs, _ = load_benchmark("judgebench", str(FIXTURES / "judgebench_rows.jsonl"))
    metrics = _score(tmp_path, "judgebench", pairs, JUDGEBENCH_OUTCOMES)
    scores = metrics["scores"]
    assert {c: (e["pairs"], e["right"], e["wrong"], e["undecided"], e["accuracy"]) for c, e in scores["categories"].items()} == {
        "knowledge": (2, 2, 0, 0, 1.0), "reasoning": (1, 0, 0, 1, 0.0), "math": (2, 0, 0, 2, 0.0),
        "coding": (2, 1, 1, 0, 0.5),
    }
    assert scores["overall"] == {"accuracy": 3 / 7, "pairs": 7, "right": 3, "wrong": 1, "undecided": 3}
    d = metrics["diagnostics"]
    assert d["parse_failure_rate"] == 4 / 14 and d["pair_accuracy"] == 2 / 7
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| Knowledge | Reasoning | Math | Coding | Overall |" in report
    assert "| 100.0 | 0.0 | 0.0 | 50.0 | 42.9 |" in report
    assert (tmp_path / "sections.png").read_bytes().startswith(b"\x89PNG")


def test_judgebench_single_order_is_the_official_single_game(tmp_path):
    """One order per pair: right exactly when that verdict is right (unreadable is not right).

    Order ab only: jb-1 R, jb-2 R, jb-3 R, jb-4 U, jb-5 W, jb-6 W, jb-7 R -> 4/7.
    """
    pairs, _ = load_benchmark("judgebench", str(FIXTURES / "judgebench_rows.jsonl"))
    one_order = {pid: o[0] + "." for pid, o in JUDGEBENCH_OUTCOMES.items()}
    assert _score(tmp_path, "judgebench", pairs, one_order)["scores"]["overall"]["accuracy"] == 4 / 7


# --- RewardBench 2 ------------------------------------------------------------------------------


def _rb2_outcomes() -> dict[str, str]:
    """Comparison outcomes (order ab, ba); ids are rewardbench2:<row id>:<i>-<j>."""
    best_of_4 = {
        "1": ["RR", "RR", "RR"],  # 1 x 1 x 1 = 1
        "2": ["RR", "RW", "RR"],  # 1 x 0.5 x 1 = 0.5
        "3": ["RR", "RR", "WW"],  # 0
        "4": ["RU", "RR", "RR"],  # 0.75
        "5": ["UU", "UU", "UU"],  # 0.5 ** 3 = 0.125
        "6": ["RR", "RR", "RR"],  # 1
    }
    outcomes = {f"rewardbench2:{row}:0-{j}": o for row, comps in best_of_4.items() for j, o in enumerate(comps)}
    outcomes.update({
        "rewardbench2:ref:7:0-0": "RR", "rewardbench2:ref:7:0-1": "RW",
        "rewardbench2:tied:7:0-0": "RR", "rewardbench2:tied:7:0-1": "RR",
        "rewardbench2:tied:7:1-0": "RR", "rewardbench2:tied:7:1-1": "WW",
        "rewardbench2:ref:8:0-0": "R.",
        "rewardbench2:tied:8:0-0": "RR", "rewardbench2:tied:8:1-0": "RR",
    })
    return outcomes


def test_rewardbench2_loads_the_hub_schema_from_a_local_file():
    pairs, skipped = load_benchmark("rewardbench2", str(FIXTURES / "rewardbench2_rows.jsonl"))
    # Row 9 has no rejected reply, row "8" is a Ties row without ref:/tied:.
    assert dict(skipped) == {"malformed row": 2}
    assert sorted(p.id for p in pairs) == sorted(_rb2_outcomes())
    first = next(p for p in pairs if p.id == "rewardbench2:1:0-2")
    assert (first.response_a, first.response_b, first.label.better, first.subset) == (
        "good reply 0 to 1", "bad reply 2 to 1", "a", "Factuality")
    tied = next(p for p in pairs if p.id == "rewardbench2:tied:7:1-0")
    assert (tied.response_a, tied.response_b) == ("good reply 1 to tied:7", "bad reply 0 to tied:7")
    assert tied.meta == {"prompt_id": "tied:7", "correct_index": 1, "incorrect_index": 0,
                         "num_correct": 2, "num_incorrect": 2}


# Reply scores of the Ties rows (mean credit against the other class), from the outcomes above:
#   ref:7   correct c0 = (1 + 0.5)/2 = 0.75; incorrect i0 = 1 - 1 = 0, i1 = 1 - 0.5 = 0.5
#   tied:7  c0 = (1 + 1)/2 = 1, c1 = (1 + 0)/2 = 0.5; i0 = 1 - (1 + 1)/2 = 0, i1 = 1 - (1 + 0)/2 = 0.5
#   ref:8   c0 = 1; i0 = 0            tied:8  c0 = 1, c1 = 1; i0 = 0
TIES_GROUPS = {
    ("ref", 7): [(True, 0.75), (False, 0.0), (False, 0.5)],
    ("tied", 7): [(True, 1.0), (True, 0.5), (False, 0.0), (False, 0.5)],
    ("ref", 8): [(True, 1.0), (False, 0.0)],
    ("tied", 8): [(True, 1.0), (True, 1.0), (False, 0.0)],
}
TIES_BY_HAND = 0.3 * 0.5 + 0.3 * 1 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * math.tanh(0 / 0.5 - 1)


def test_rewardbench2_subsets_ties_and_overall_by_hand(tmp_path):
    """Best-of-4 (product of comparison credits, credit = mean over orders of 1 / 0 / 0.5):

    Factuality (1 + 0.5)/2 = 0.75; Precise IF 0; Math 0.75; Safety 0.125; Focus 1.

    Ties (rewardbench 0.1.4): ref:7 accurate (0.75 > 0.5, margin 0.25); tied:7 not accurate
    (0.5 = 0.5; spread 0.5, margin 0); ref:8 accurate (margin 1); tied:8 accurate (spread 0,
    margin 1). ref accuracy 1, tied accuracy 1/2; preferred: prompt 7 0 > 0.5 no, prompt 8
    1 > 0 yes -> 1/2; hard: 7 min(0.25, 0) > 0.5 no, 8 min(1, 1) > 0 yes -> 1/2; margin score
    over spreads > 0 (prompt 7 only): tanh(0/0.5 - 1) = -0.7616.
    Ties = 0.15 + 0.3 + 0.1 + 0.1 - 0.0076159 = 0.6423841.
    Overall = (0.75 + 0 + 0.75 + 0.125 + 1 + 0.6423841) / 6 = 0.5445640.
    Judgments per prompt: 6 for each best-of-4 prompt; Ties 4, 8, 1, 4 -> 4.25; all 10 -> 5.3.
    """
    pairs, _ = load_benchmark("rewardbench2", str(FIXTURES / "rewardbench2_rows.jsonl"))
    metrics = _score(tmp_path, "rewardbench2", pairs, _rb2_outcomes())
    scores = metrics["scores"]
    best_of_4 = {"Factuality": 0.75, "Precise IF": 0.0, "Math": 0.75, "Safety": 0.125, "Focus": 1.0}
    assert {k: scores["subsets"][k]["score"] for k in best_of_4} == best_of_4
    assert scores["subsets"]["Factuality"]["strict_accuracy"] == 0.5
    ties = scores["subsets"]["Ties"]
    assert ties["score"] == pytest.approx(TIES_BY_HAND, abs=1e-12) and TIES_BY_HAND == pytest.approx(0.6423841, abs=1e-7)
    assert (ties["ref_accuracy"], ties["tied_accuracy"], ties["correctness_preferred"],
            ties["correctness_preferred_hard"]) == (1.0, 0.5, 0.5, 0.5)
    assert scores["overall"] == pytest.approx((2.625 + TIES_BY_HAND) / 6, abs=1e-12)
    assert scores["overall"] == pytest.approx(0.5445640, abs=1e-7)
    assert [scores["subsets"][k]["judgments_per_prompt"] for k in rb2.SUBSETS] == [6, 6, 6, 6, 6, 4.25]
    assert scores["judgments_per_prompt"] == 5.3
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| Factuality | Precise IF | Math | Safety | Focus | Ties | Overall |" in report
    assert "| 75.0 | 0.0 | 75.0 | 12.5 | 100.0 | 64.2 | 54.5 |" in report


def test_rewardbench2_partial_prompt_is_left_out_and_counted(tmp_path):
    pairs, _ = load_benchmark("rewardbench2", str(FIXTURES / "rewardbench2_rows.jsonl"))
    outcomes = {**_rb2_outcomes(), "rewardbench2:2:0-1": ".."}  # prompt 2 lost one comparison
    scores = _score(tmp_path, "rewardbench2", pairs, outcomes)["scores"]
    assert scores["subsets"]["Factuality"]["score"] == 1.0
    assert (scores["subsets"]["Factuality"]["prompts"], scores["subsets"]["Factuality"]["incomplete_prompts"]) == (1, 1)


def test_pointwise_mode_scores_pointwise_generations(capsys):
    # --judge-mode pointwise is J1's pointwise judge (tests/eval/test_pointwise_eval.py); a missing file is named
    assert thinkj(["eval", "--generations", "x.jsonl", "--benchmark", "rewardbench2", "--judge-mode", "pointwise"]) == 2
    assert "x.jsonl holds no pointwise judgments to score" in capsys.readouterr().err


def _official_ties():
    """``process_single_model`` and ``sample_stats`` of the rewardbench 0.1.4 oracle (``.venv/oracle``),
    taken out of ``utils.py`` with ``ast`` (the module imports fastchat and the hub at import time)."""
    root = Path(__import__("os").environ.get("THINKJ_REWARDBENCH_ORACLE", REPO / ".venv" / "oracle"))
    path = root / "rewardbench" / "utils.py"
    if not path.exists():
        pytest.skip("the rewardbench oracle is missing (make setup installs it into .venv/oracle)")
    import numpy as np
    from datasets import Dataset

    wanted = {"sample_stats", "process_single_model"}
    nodes = [n for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    namespace = {"np": np, "math": math, "Dataset": Dataset}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), str(path), "exec"), namespace)
    return namespace["process_single_model"]


def _official_rows(groups):
    rows = []
    for (kind, number), samples in groups.items():
        correct = [s for ok, s in samples if ok]
        rows.append({"id": f"{kind}:{number}", "scores": correct + [s for ok, s in samples if not ok],
                     "num_correct": len(correct)})
    return rows


def test_ties_equals_the_official_code_on_the_fixture():
    official = _official_ties()
    assert official(_official_rows(TIES_GROUPS))[1] == pytest.approx(rb2.ties_score(TIES_GROUPS)["score"], abs=1e-12)


score_lists = st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=3)


@given(st.dictionaries(st.tuples(st.sampled_from(["ref", "tied"]), st.integers(1, 3)),
                       st.tuples(score_lists, score_lists), min_size=1))
@settings(max_examples=60, deadline=None)
@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")  # the oracle's NaN
def test_ties_equals_the_official_code_on_any_scores(rows):
    official = _official_ties()
    groups = {key: [(True, s) for s in good] + [(False, s) for s in bad] for key, (good, bad) in rows.items()}
    ours = rb2.ties_score(groups)["score"]
    theirs = official(_official_rows(groups))[1]
    if ours is None:
        assert math.isnan(theirs)
    else:
        assert theirs == pytest.approx(ours, abs=1e-12)


# --- ties in a pair set -------------------------------------------------------------------------


def _helpsteer_rows(path: Path) -> None:
    rows = [
        {"prompt": "Q1", "response_1": "x1", "response_2": "y1", "preference_strength": -2, "split": "val"},
        {"prompt": "Q2", "response_1": "x2", "response_2": "y2", "preference_strength": 1, "split": "val"},
        {"prompt": "Q3", "response_1": "x3", "response_2": "y3", "preference_strength": 0, "split": "val"},
        {"prompt": "Q4", "response_1": "x4", "response_2": "y4", "preference_strength": 0, "split": "val"},
        {"prompt": "Q5", "response_1": "x5", "response_2": "y5", "preference_strength": 0, "split": "val"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_pairs_keep_ties_for_a_tie_aware_accuracy(tmp_path):
    """Labelled: helpsteer2:0 RR (1), helpsteer2:1 RW (0.5) -> accuracy 0.75.

    Ties (a planted verdict "R" names response_a, "W" response_b, in the order's own letters):
    helpsteer2:2 verdicts (a) then (a) = different responses, no net preference -> 1;
    helpsteer2:3 (a) then (b) = response_a twice -> 0; helpsteer2:4 (a) then unreadable -> 0.5.
    Tie accuracy 1.5/3 = 0.5; tie-aware accuracy (1 + 0.5 + 1 + 0 + 0.5)/5 = 0.6.
    """
    rows = tmp_path / "helpsteer.jsonl"
    _helpsteer_rows(rows)
    pairs, skipped = load_benchmark("pairs", str(rows), source="helpsteer2")
    assert not skipped and [p.meta.get("tie", False) for p in pairs] == [False, False, True, True, True]
    # Ties are stored as better "a": "R" in order ab says (a), in order ba says (b) -> response_a twice.
    outcomes = {"helpsteer2:0": "RR", "helpsteer2:1": "RW", "helpsteer2:2": "RW", "helpsteer2:3": "RR",
                "helpsteer2:4": "RU"}
    metrics = _score(tmp_path, "pairs", pairs, outcomes)
    scores = metrics["scores"]
    assert scores["accuracy"] == 0.75
    assert scores["ties"] == {"pairs": 3, "scored": 3, "one_order_only": 0, "accuracy": 0.5}
    assert scores["tie_aware_accuracy"] == pytest.approx(0.6)
    assert metrics["diagnostics"]["pairs"] == 2  # ties have no better response: not in the diagnostics
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| Accuracy | Ties | Tie-aware |" in report and "| 75.0 | 50.0 | 60.0 |" in report


def test_ties_judged_in_one_order_are_counted_not_scored(tmp_path):
    rows = tmp_path / "helpsteer.jsonl"
    _helpsteer_rows(rows)
    pairs, _ = load_benchmark("pairs", str(rows), source="helpsteer2")
    outcomes = {"helpsteer2:0": "R.", "helpsteer2:1": ".W", "helpsteer2:2": "R.", "helpsteer2:3": ".R",
                "helpsteer2:4": "U."}
    scores = _score(tmp_path, "pairs", pairs, outcomes)["scores"]
    assert scores["accuracy"] == 0.5
    assert scores["ties"] == {"pairs": 3, "scored": 0, "one_order_only": 3, "accuracy": None}
    assert scores["tie_aware_accuracy"] is None


def test_compare_puts_each_benchmark_in_its_own_table(tmp_path, capsys):
    pairs, _ = load_benchmark("judgebench", str(FIXTURES / "judgebench_rows.jsonl"))
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _score(a, "judgebench", pairs, JUDGEBENCH_OUTCOMES)
    _score(b, "judgebench", pairs, {pid: "RR" for pid in JUDGEBENCH_OUTCOMES})
    capsys.readouterr()
    assert thinkj(["eval", "compare", str(a), str(b), "--names", "base", "tuned"]) == 0
    table = capsys.readouterr().out
    assert "### judgebench" in table
    assert "| Run | Knowledge | Reasoning | Math | Coding | Overall | Pair acc. | Agreement | Parse fail |" in table
    assert "| tuned | 100.0 (+0.0) | 100.0 (+100.0) | 100.0 (+100.0) | 100.0 (+50.0) | 100.0 (+57.1) |" in table


# --- best-of-4 against the official scoring -------------------------------------------------------


def _official_reroll():
    root = Path(__import__("os").environ.get("THINKJ_REWARDBENCH_ORACLE", REPO / ".venv" / "oracle"))
    path = root / "rewardbench" / "utils.py"
    if not path.exists():
        pytest.skip("the rewardbench oracle is missing (make setup installs it into .venv/oracle)")
    import numpy as np
    import pandas as pd
    from datasets import Dataset

    [node] = [n for n in ast.parse(path.read_text(encoding="utf-8")).body
              if isinstance(n, ast.FunctionDef) and n.name == "reroll_and_score_dataset"]
    namespace = {"np": np, "pd": pd, "Dataset": Dataset}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace)
    return namespace["reroll_and_score_dataset"], Dataset


def test_best_of_4_equals_the_official_scoring_for_a_consistent_judge(tmp_path):
    """A judge readable and consistent in both orders acts like a reward model whose chosen
    reply scores 1 and each rejected reply 2 when the judge prefers it, else 0: the official
    per-prompt result (1 when the chosen score is the unique maximum) must equal ours."""
    reroll, Dataset = _official_reroll()
    pairs, _ = load_benchmark("rewardbench2", str(FIXTURES / "rewardbench2_rows.jsonl"))
    comparisons = {"1": "RRR", "2": "RWR", "3": "WWW", "4": "RRR", "5": "RRW", "6": "RRR"}
    outcomes = {p.id: ("RR" if comparisons[p.meta["prompt_id"]][p.meta["rejected_index"]] == "R" else "WW")
                for p in pairs if p.subset != "Ties"}
    outcomes.update({p.id: "RR" for p in pairs if p.subset == "Ties"})
    ours = _score(tmp_path, "rewardbench2", pairs, outcomes)["scores"]["subsets"]
    subsets = {"1": "Factuality", "2": "Factuality", "3": "Precise IF", "4": "Math", "5": "Safety", "6": "Focus"}
    flat = {"id": [], "subset": [], "text": [], "scores": []}
    for row, wins in comparisons.items():
        for k, score in enumerate([1.0] + [0.0 if w == "R" else 2.0 for w in wins]):
            flat["id"].append(row), flat["subset"].append(subsets[row]), flat["text"].append(f"reply {k}")
            flat["scores"].append(score)
    official = reroll(Dataset.from_dict(flat), [4] * len(comparisons))
    expected: dict[str, list[float]] = {}
    for subset, result in zip(official["subset"], official["results"]):
        expected.setdefault(subset, []).append(result)
    assert {k: ours[k]["score"] for k in expected} == {k: sum(v) / len(v) for k, v in expected.items()}


# --- end to end on the tiny judge ---------------------------------------------------------------


@pytest.mark.parametrize(("benchmark", "rows", "limit", "judgments"), [
    ("judgebench", "judgebench_rows.jsonl", 3, 6),  # 3 pairs x 2 orders
    ("rewardbench2", "rewardbench2_rows.jsonl", 2, 12),  # 2 prompts x 3 comparisons x 2 orders
])
def test_tiny_judge_end_to_end(tiny_judge_path, tmp_path, benchmark, rows, limit, judgments):
    out = tmp_path / "out"
    args = ["eval", "--model", tiny_judge_path, "--benchmark", benchmark, "--data", str(FIXTURES / rows),
            "--limit", str(limit), "--out", str(out), "--backend", "transformers", "--max-new-tokens", "8",
            "--no-progress"]
    assert thinkj(args) == 0
    records = [json.loads(line) for line in (out / "generations.jsonl").read_text(encoding="utf-8").splitlines()]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert len(records) == metrics["input"]["planned"] == judgments
    assert metrics["input"]["skipped"] == {}
    if benchmark == "rewardbench2":
        assert metrics["scores"]["subsets"]["Factuality"]["judgments_per_prompt"] == 6
        assert metrics["scores"]["overall"] is None and "Ties" in metrics["scores"]["missing_subsets"]
    else:
        assert metrics["scores"]["overall"]["pairs"] == 3
    plot = {"judgebench": "judgebench_outcomes.png", "rewardbench2": "rewardbench2_subsets.png"}[benchmark]
    assert metrics["plots"] == ["sections.png", "order_consistency.png", plot, "strength_histogram.png"]
    for name in metrics["plots"]:
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    assert thinkj(args) == 0  # a rerun generates nothing new
    assert len((out / "generations.jsonl").read_text(encoding="utf-8").splitlines()) == judgments
