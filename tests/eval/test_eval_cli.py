"""``thinkj eval`` end to end: the tiny judge on CPU, resuming, reports, ``--generations``, compare."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from statistics import fmean

import pytest

from thinkj_verl.cli import main as thinkj
from thinkj_verl.eval.run import plan_orders
from thinkj_verl.parser import parse_judgment

FIXTURES = Path(__file__).parent / "fixtures"
PNG = b"\x89PNG\r\n\x1a\n"
REWARDBENCH_HEADER = "| Chat | Chat Hard | Safety | Reasoning | Overall |"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _eval(*args: str) -> int:
    return thinkj(["eval", *args, "--no-progress"])


@pytest.fixture
def generate_args(tiny_judge_path, tmp_path):
    out = tmp_path / "out"
    args = [
        "--model", tiny_judge_path, "--benchmark", "rewardbench", "--data", str(FIXTURES / "rewardbench_rows.jsonl"),
        "--format", "strength", "--out", str(out), "--backend", "transformers", "--max-new-tokens", "16",
        "--batch-size", "3",
    ]
    return out, args


def test_generate_score_report_and_resume(generate_args, capsys):
    out, args = generate_args
    assert _eval(*args) == 0
    generations = out / "generations.jsonl"
    records = _lines(generations)
    # 5 rows, one with identical responses skipped; 4 pairs x 2 orders.
    assert sorted((r["pair_id"], r["order"]) for r in records) == [
        (f"rewardbench:{i}", order) for i in (11, 12, 13, 14) for order in ("ab", "ba")
    ]
    assert {r["label"]["better"] for r in records if r["order"] == "ab"} == {"a"}
    assert {r["label"]["better"] for r in records if r["order"] == "ba"} == {"b"}

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["input"] == {"pairs": 4, "skipped": {"identical responses": 1}, "planned": 8,
                                "already_done": 0, "generated": 8}
    assert metrics["model"] == args[1] and metrics["format"] == "strength" and metrics["orders"] == "both"
    assert {"thinkj-verl", "verl", "transformers", "torch"} <= set(metrics["versions"])

    # The numbers are exactly what the generations imply: recompute them from the file alone.
    credit = defaultdict(list)
    for r in records:
        judgment = parse_judgment(r["text"], "strength", truncated=r["truncated"])
        ok = judgment.format_ok and judgment.verdict is not None
        credit[r["subset"]].append(0.5 if not ok else float(judgment.verdict == r["label"]["better"]))
    subset_accuracy = {subset: fmean(values) for subset, values in credit.items()}
    assert {k: v["accuracy"] for k, v in metrics["scores"]["subsets"].items()} == subset_accuracy
    # One subset per section here, so each section is its subset's accuracy.
    sections = {"Chat": "alpacaeval-easy", "Chat Hard": "llmbar-natural", "Safety": "refusals-dangerous",
                "Reasoning": "hep-python"}
    assert metrics["scores"]["sections"] == {s: subset_accuracy[name] for s, name in sections.items()}
    overall = fmean(subset_accuracy.values())
    assert metrics["scores"]["overall"] == pytest.approx(overall)
    failures = sum(1 for r in records if not parse_judgment(r["text"], "strength", truncated=r["truncated"]).format_ok)
    assert metrics["diagnostics"]["parse_failure_rate"] == failures / 8
    assert metrics["diagnostics"]["mean_reply_tokens"] == fmean(r["num_tokens"] for r in records)

    report = (out / "report.md").read_text()
    assert REWARDBENCH_HEADER in report
    assert f"| {100 * overall:.1f} |" in report
    assert metrics["plots"] == ["sections.png", "order_consistency.png", "strength_histogram.png"]
    for name in metrics["plots"]:
        assert (out / name).read_bytes().startswith(PNG)
        assert f"]({name})" in report
    capsys.readouterr()

    # A rerun generates nothing and leaves the file as it was.
    before = generations.read_bytes()
    assert _eval(*args) == 0
    assert "8 judgments planned, 8 already in" in capsys.readouterr().err
    assert generations.read_bytes() == before

    # A crash after three judgments and half a line: the rerun generates exactly the rest.
    lines = before.decode().splitlines(keepends=True)
    generations.write_text("".join(lines[:3]) + lines[3][:25], encoding="utf-8")
    assert _eval(*args) == 0
    err = capsys.readouterr().err
    assert "8 judgments planned, 3 already in" in err and ", 5 generated" in err
    after = _lines(generations)
    assert after[:3] == records[:3]
    assert sorted((r["pair_id"], r["order"]) for r in after) == sorted((r["pair_id"], r["order"]) for r in records)
    assert json.loads((out / "metrics.json").read_text())["scores"] == metrics["scores"]  # greedy: same replies


def test_other_settings_into_the_same_directory_are_refused(generate_args, capsys):
    out, args = generate_args
    limited = args + ["--limit", "1", "--max-new-tokens", "4"]
    assert _eval(*limited) == 0
    capsys.readouterr()
    changed = [a if a != "4" else "8" for a in limited]
    assert _eval(*changed) == 2
    error = capsys.readouterr().err
    assert "max_new_tokens: 4 before, 8 now" in error and "Use a new --out directory" in error


def test_max_model_len_reaches_the_engine_and_is_part_of_the_run(generate_args, capsys):
    out, args = generate_args
    assert _eval(*args, "--limit", "1", "--max-model-len", "16") == 2  # judge prompts are longer than 16 tokens
    assert "raise --max-model-len" in capsys.readouterr().err
    assert not (out / "generations.jsonl").exists()
    # nothing was generated: the retry into the same --out takes the new limit
    assert _eval(*args, "--limit", "1", "--max-model-len", "100000") == 0
    assert json.loads((out / "run.json").read_text())["max_model_len"] == 100000
    assert json.loads((out / "metrics.json").read_text())["generation"]["max_model_len"] == 100000
    capsys.readouterr()
    assert _eval(*args, "--limit", "1", "--max-model-len", "99999") == 2  # a resume must not mix limits
    assert "max_model_len: 100000 before, 99999 now" in capsys.readouterr().err


def test_random_orders_one_seeded_judgment_per_pair(generate_args):
    out, args = generate_args
    assert _eval(*args, "--orders", "random", "--seed", "3", "--max-new-tokens", "2") == 0
    records = _lines(out / "generations.jsonl")
    ids = [f"rewardbench:{i}" for i in (11, 12, 13, 14)]
    assert sorted((r["pair_id"], r["order"]) for r in records) == sorted(plan_orders(ids, "random", 3))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["diagnostics"]["pairs_with_both_orders"] == 0
    assert metrics["diagnostics"]["pair_accuracy"] is None
    assert "a seeded coin per pair" in (out / "report.md").read_text()


def test_canonical_pair_file(tiny_judge_path, tmp_path):
    from thinkj_verl.data.pairs import Pair, write_pairs
    from thinkj_verl.ground_truth import GroundTruth

    pairs = [
        Pair(f"mine:{k}", "mine", [{"role": "user", "content": f"Question {k}?"}], "Good answer.", "Bad.",
             GroundTruth("ab"[k % 2], strength=1 + k % 3), subset="easy" if k < 2 else "hard")
        for k in range(3)
    ]
    data = tmp_path / "pairs.jsonl"
    write_pairs(pairs, data)
    out = tmp_path / "out"
    assert _eval("--model", tiny_judge_path, "--benchmark", "pairs", "--data", str(data), "--out", str(out),
                 "--backend", "transformers", "--max-new-tokens", "2", "--format", "binary") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scores"]["subsets"] == {"easy": {"accuracy": 0.5, "pairs": 2}, "hard": {"accuracy": 0.5, "pairs": 1}}
    assert set(metrics["diagnostics"]["calibration"]) == {"1", "2", "3"}  # labeled strengths are used
    assert "strength_histogram.png" not in metrics["plots"]  # binary format: no strength


def test_score_a_generations_file(tmp_path, capsys):
    source = tmp_path / "judged" / "generations.jsonl"
    source.parent.mkdir()
    shutil.copy(FIXTURES / "rewardbench_generations.jsonl", source)
    assert _eval("--generations", str(source), "--benchmark", "rewardbench") == 0
    assert "Chat 64.1 | Chat Hard 73.0 | Safety 58.8 | Reasoning 71.4 | Overall 66.8" in capsys.readouterr().out
    report = (source.parent / "report.md").read_text()
    assert f"{REWARDBENCH_HEADER}\n|---|---|---|---|---|\n| 64.1 | 73.0 | 58.8 | 71.4 | 66.8 |" in report
    assert "| Chat | alpacaeval-easy | 2 | 100 | 75.0 |" in report
    assert "| strength 5 outside 1..3 | 1 |" in report

    rm = tmp_path / "rm"
    assert _eval("--generations", str(FIXTURES / "rmbench_generations.jsonl"), "--benchmark", "rmbench",
                 "--out", str(rm)) == 0
    report = (rm / "report.md").read_text()
    assert ("| Chat | Math | Code | Safety | Easy | Normal | Hard | Avg |\n|---|---|---|---|---|---|---|---|\n"
            "| 83.3 | 94.4 | — | 16.7 | 66.7 | 77.8 | 50.0 | 64.8 |") in report


def test_bad_generations_file_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "g.jsonl"
    path.write_text('{"pair_id": "p", "order": "ab", "text": "x"}\n')
    assert _eval("--generations", str(path)) == 2
    assert f"{path}:1: missing key(s) ['label']" in capsys.readouterr().err


def test_compare_runs_side_by_side(tmp_path, capsys):
    base, rl = tmp_path / "base", tmp_path / "rl"
    assert _eval("--generations", str(FIXTURES / "rewardbench_generations.jsonl"), "--benchmark", "rewardbench",
                 "--out", str(base)) == 0
    # The same pairs with every verdict right.
    right = []
    for r in _lines(FIXTURES / "rewardbench_generations.jsonl"):
        sentence = f"Therefore, Response ({r['label']['better']}) is better, and the strength is [[2]]."
        right.append({**r, "text": sentence, "truncated": False})
    rl.mkdir()
    (rl / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in right))
    assert _eval("--generations", str(rl / "generations.jsonl"), "--benchmark", "rewardbench") == 0
    capsys.readouterr()

    table = tmp_path / "compare.md"
    assert thinkj(["eval", "compare", str(base), str(rl), "--names", "SFT", "Think-J", "--out", str(table)]) == 0
    printed = capsys.readouterr().out
    assert table.read_text() == printed
    assert printed.splitlines() == [
        "### rewardbench",
        "",
        "| Run | Chat | Chat Hard | Safety | Reasoning | Overall | Pair acc. | Agreement | Parse fail |",
        "|---|---|---|---|---|---|---|---|---|",
        "| SFT | 64.1 | 73.0 | 58.8 | 71.4 | 66.8 | 30.0 | 40.0 | 20.0 |",
        "| Think-J | 100.0 (+35.9) | 100.0 (+27.0) | 100.0 (+41.2) | 100.0 (+28.6) | 100.0 (+33.2) "
        "| 100.0 (+70.0) | 100.0 (+60.0) | 0.0 (-20.0) |",
    ]
    assert thinkj(["eval", "compare", str(base), str(tmp_path / "missing")]) == 2
    assert "metrics.json does not exist" in capsys.readouterr().err


def test_compare_keeps_one_table_per_benchmark(tmp_path, capsys):
    for name, benchmark in (("rb", "rewardbench"), ("rm", "rmbench")):
        assert _eval("--generations", str(FIXTURES / f"{benchmark}_generations.jsonl"), "--benchmark", benchmark,
                     "--out", str(tmp_path / name)) == 0
    capsys.readouterr()
    assert thinkj(["eval", "compare", str(tmp_path / "rm"), str(tmp_path / "rb")]) == 0
    printed = capsys.readouterr().out
    assert printed.index("### rmbench") < printed.index("### rewardbench")
    assert "| rm | 83.3 | 94.4 | — | 16.7 | 66.7 | 77.8 | 50.0 | 64.8 | 0.0 | 0.0 | 8.1 |" in printed  # 3 of 37 unparsable
    assert "| rb | 64.1 | 73.0 | 58.8 | 71.4 | 66.8 | 30.0 | 40.0 | 20.0 |" in printed


def test_generations_of_a_run_are_scored_only_with_its_format(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIXTURES / "rewardbench_generations.jsonl", run / "generations.jsonl")
    (run / "run.json").write_text(json.dumps({"model": "judge", "benchmark": "rewardbench", "format": "strength"}))
    assert _eval("--generations", str(run / "generations.jsonl"), "--benchmark", "rewardbench") == 0
    before = (run / "metrics.json").read_bytes()
    capsys.readouterr()
    assert _eval("--generations", str(run / "generations.jsonl"), "--benchmark", "rewardbench",
                 "--format", "binary") == 2
    err = capsys.readouterr().err
    assert "--format binary but the run used 'strength'" in err and "Score it with --format strength" in err
    assert (run / "metrics.json").read_bytes() == before
    # Nor may another run's folder be overwritten from elsewhere.
    assert _eval("--generations", str(FIXTURES / "rmbench_generations.jsonl"), "--benchmark", "rmbench",
                 "--out", str(run)) == 2
    assert "--benchmark rmbench but the run used 'rewardbench'" in capsys.readouterr().err
    assert (run / "metrics.json").read_bytes() == before


def test_resumed_run_scores_only_the_pairs_it_planned(generate_args, capsys):
    out, args = generate_args
    assert _eval(*args) == 0  # 4 pairs x 2 orders
    capsys.readouterr()
    assert _eval(*args, "--limit", "1") == 0  # same settings, one pair: nothing new to generate
    err = capsys.readouterr().err
    assert "6 judgment(s)" in err and "not scored" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["generations"]["judgments"] == 2
    assert metrics["generations"]["lines_not_used"] == {"not planned in this run (pair_id, order)": 6}


def test_metrics_json_is_strict_json(tmp_path):
    source = tmp_path / "generations.jsonl"
    shutil.copy(FIXTURES / "rewardbench_generations.jsonl", source)
    assert _eval("--generations", str(source), "--benchmark", "rewardbench") == 0
    json.loads((tmp_path / "metrics.json").read_text(), parse_constant=lambda name: pytest.fail(f"{name} in metrics"))


def test_generations_path_that_is_a_folder_is_one_line(tmp_path, capsys):
    assert _eval("--generations", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("thinkj eval: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_unreadable_run_json_is_named(generate_args, capsys):
    out, args = generate_args
    out.mkdir()
    (out / "run.json").write_text("{torn")
    assert _eval(*args) == 2
    err = capsys.readouterr().err
    assert f"{out / 'run.json'}: not readable as JSON" in err and "Traceback" not in err


@pytest.mark.parametrize("content", [b"[1, 2]\n", b'{"scores": {}}\n', b"\xff\xfe"])
def test_compare_names_a_metrics_file_that_is_not_one(tmp_path, capsys, content):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_bytes(content)
    assert thinkj(["eval", "compare", str(run)]) == 2
    err = capsys.readouterr().err
    assert str(run / "metrics.json") in err and err.count("\n") == 1 and "Traceback" not in err
