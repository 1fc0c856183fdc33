"""``thinkj eval --format pointwise``: J1's pointwise judge scored as in training (ties wrong)."""

from __future__ import annotations

import json

import pytest

from thinkj_verl.cli import main as thinkj
from thinkj_verl.data.pairs import Pair, write_pairs
from thinkj_verl.formats import get_format
from thinkj_verl.ground_truth import GroundTruth


def _reply(score: int) -> str:
    return f"<think>ok</think>{get_format('pointwise').render(score=score)}"


def test_scores_pairs_from_a_generations_file_and_reports_ties(tmp_path, capsys):
    # p0 right (8 > 3), p1 a tie (wrong), p2 wrong (b scored higher, a is better), p3 b unreadable (wrong)
    scores = {"p0": (8, 3), "p1": (5, 5), "p2": (2, 6), "p3": (4, None)}
    lines = []
    for pair_id, (a, b) in scores.items():
        for view, score in (("a", a), ("b", b)):
            lines.append({"pair_id": pair_id, "view": view, "subset": "chat" if pair_id < "p2" else "math",
                          "better": "a", "text": _reply(score) if score is not None else "no score", "truncated": False})
    generations = tmp_path / "generations.jsonl"
    generations.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"pair_id": "torn')
    assert thinkj(["eval", "--generations", str(generations), "--format", "pointwise", "--benchmark", "pairs"]) == 0
    assert "Accuracy 25.0 | Ties 33.3 | Both read 75.0" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "metrics.json").read_text())["scores"]
    assert metrics["pairs"] == 4 and metrics["accuracy"] == 0.25
    assert metrics["tie_rate"] == pytest.approx(1 / 3) and metrics["score_gap"] == pytest.approx((5 + 0 - 4) / 3)
    assert metrics["subsets"] == {"chat": 0.5, "math": 0.0}
    assert metrics["score_histogram"] == {"2": 1, "3": 1, "4": 1, "5": 2, "6": 1, "8": 1}
    assert "| 25.0 | 33.3 | 0.33 | 75.0 |" in (tmp_path / "report.md").read_text()


def test_generates_each_response_alone_and_resumes(tmp_path, tiny_judge_path):
    pairs = [Pair(f"p{i}", "local", [{"role": "user", "content": f"q{i}"}], f"x{i}", f"y{i}", GroundTruth("a")) for i in range(3)]
    write_pairs(pairs, tmp_path / "pairs.parquet")
    command = ["eval", "--model", tiny_judge_path, "--benchmark", "pairs", "--data", str(tmp_path / "pairs.parquet"),
               "--judge-mode", "pointwise", "--out", str(tmp_path / "out"), "--max-new-tokens", "4",
               "--backend", "transformers", "--no-progress"]
    assert thinkj(command) == 0
    records = [json.loads(line) for line in (tmp_path / "out" / "generations.jsonl").read_text().splitlines()]
    assert sorted((r["pair_id"], r["view"]) for r in records) == [(f"p{i}", v) for i in range(3) for v in "ab"]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["scores"]["pairs"] == 3
    assert thinkj(command) == 0  # a rerun generates nothing new
    assert len((tmp_path / "out" / "generations.jsonl").read_text().splitlines()) == 6
