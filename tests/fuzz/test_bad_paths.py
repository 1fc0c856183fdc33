"""Every command that writes files: an --out at a file or under a file is a one-line error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from thinkj_verl.data.pairs import Pair, write_pairs

from thinkj_verl.ground_truth import GroundTruth

EVAL_FIXTURES = Path(__file__).parents[1] / "eval" / "fixtures"


@pytest.fixture
def pair_file(tmp_path):
    pairs = [Pair(f"p:{i}", "local", [{"role": "user", "content": f"Question {i}?"}], f"A{i}.", f"B{i}.", GroundTruth("a"))
             for i in range(3)]
    write_pairs(pairs, tmp_path / "pairs.jsonl")
    return tmp_path / "pairs.jsonl"


def _commands(pair_file: Path, out: Path, tmp_path: Path) -> dict:
    generations = tmp_path / "generations.jsonl"
    shutil.copy(EVAL_FIXTURES / "rewardbench_generations.jsonl", generations)
    return {
        "thinkj pairs: ": ("thinkj_verl.offline.dpo_pairs", ["--data", str(pair_file), "--out", str(out), "--method", "bt"]),
        "thinkj select: ": ("thinkj_verl.offline.select", ["--data", str(pair_file), "--out", str(out),
                                                           "--no-difficulty", "--encoder", "hashing"]),
        "thinkj eval: error: ": ("thinkj_verl.eval.run", ["--generations", str(generations), "--out", str(out),
                                                          "--no-progress"]),
        "thinkj clip: ": ("thinkj_verl.offline.clip", ["--input", str(generations), "--out", str(out / "c.jsonl"),
                                                       "--field", "text"]),
    }


@pytest.mark.parametrize("prog", ["thinkj pairs: ", "thinkj select: ", "thinkj eval: error: ", "thinkj clip: "])
def test_out_under_a_file_is_one_line(pair_file, tmp_path, capsys, prog):
    import importlib

    module, argv = _commands(pair_file, pair_file / "out", tmp_path)[prog]
    code = importlib.import_module(module).main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(prog) and err.count("\n") == 1 and "Traceback" not in err, err
    assert str(pair_file) in err


@pytest.mark.parametrize("content", [b'{"messages": []}\n{not json\n', b"\xff\xfe\x00", b"[1, 2"])
def test_train_rows_that_are_not_json_are_a_named_error(tmp_path, content):
    from thinkj_verl.offline.train import load_rows

    path = tmp_path / "sft.jsonl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"train_files \[.*sft\.jsonl'\]: not readable as json rows") as error:
        load_rows(str(path), "sft")
    assert "\n" not in str(error.value)
