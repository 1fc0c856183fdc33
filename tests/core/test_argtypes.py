"""Numeric options of every command: nan, inf, zero or negative counts are argparse errors."""

from __future__ import annotations

import importlib

import pytest

CASES = [
    ("thinkj_verl.data.prepare", ["--source", "local", "--input", "x.jsonl", "--out", "o"],
     [("--val-fraction", "nan"), ("--val-fraction", "-0.1"), ("--limit", "0"), ("--batch-size", "-1"),
      ("--max-prompt-length", "0")]),
    ("thinkj_verl.eval.run", ["--generations", "g.jsonl"],
     [("--temperature", "nan"), ("--temperature", "-1"), ("--max-new-tokens", "0"), ("--limit", "-2"),
      ("--batch-size", "0"), ("--tensor-parallel", "0")]),
    ("thinkj_verl.offline.dpo_pairs", ["--data", "p.jsonl", "--out", "o", "--method", "bt"],
     [("--n", "0"), ("--rounds", "0"), ("--temperature", "inf"), ("--critic-temperature", "nan")]),
    ("thinkj_verl.offline.select", ["--data", "p.jsonl", "--out", "o", "--no-difficulty"],
     [("--k", "0"), ("--sample", "0"), ("--threshold", "nan"), ("--threshold", "2"), ("--temperature", "-0.5")]),
    ("thinkj_verl.preflight", ["+recipe=thinkj_grpo"], [("--max-filtered", "inf"), ("--max-filtered", "1.5")]),
]


@pytest.mark.parametrize(
    "module, base, option, value",
    [(module, base, option, value) for module, base, bad in CASES for option, value in bad],
)
def test_bad_numeric_option_is_an_argparse_error(capsys, module, base, option, value):
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main([*base, option, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and option in err and "Traceback" not in err
