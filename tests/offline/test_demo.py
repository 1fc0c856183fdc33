"""``make demo`` end to end in the suite (slow: one to three minutes on 2 cores), and its data files."""

from __future__ import annotations

import json

import pytest

from thinkj_verl import demo


def test_demo_data_loads_through_the_real_converters():
    from thinkj_verl.data.sources import load_pairs

    pairs, skipped = load_pairs("helpsteer2", str(demo.HELPSTEER2))
    assert len(pairs) >= 30 and dict(skipped) == {"tie": 1}
    assert any(len(p.conversation) > 1 for p in pairs)  # one multi-turn prompt
    benchmark, skipped = load_pairs("rewardbench", str(demo.REWARDBENCH))
    assert len(benchmark) == 16 and not skipped
    assert {"alpacaeval-easy", "llmbar-natural", "refusals-dangerous", "math-prm", "hep-python"} <= {
        p.subset for p in benchmark}


def test_demo_refuses_to_replace_a_folder_it_did_not_write(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert demo.main(["--out", str(tmp_path)]) == 2
    assert (tmp_path / "keep.txt").exists()
    assert "not an earlier demo output" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert demo.main(["--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SMOKE RUN, NOT A RESULT" in printed and "trl's GRPOTrainer stood in for verl" in printed
    for path in ("data/train.parquet", "data/summary.json", "select/funnel.json", "select/sft.jsonl",
                 "models/sft/model.safetensors", "models/grpo/model.safetensors", "pairs/report.json",
                 "eval/compare.md"):
        assert (out / path).exists(), path
    funnel = json.loads((out / "select" / "funnel.json").read_text())
    assert [s["stage"] for s in funnel["stages"]] == ["initial", "difficulty", "diversity", "accuracy"]
    # The two boiling-point questions of the shipped sample are near-duplicates: one merges.
    assert len(json.loads((out / "select" / "merged.json").read_text())) >= 1
    failures = {}
    for name in ("base", "sft"):
        metrics = json.loads((out / "eval" / name / "metrics.json").read_text())
        failures[name] = metrics["diagnostics"]["parse_failure_rate"]
    # A random judge never writes the verdict sentence; thinking initialization teaches it the format.
    assert failures["base"] == 1.0 and failures["sft"] < failures["base"]
    assert str(out / "eval" / "compare.md") in printed
