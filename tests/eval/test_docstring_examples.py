"""The examples in the evaluation modules' docstrings run and say what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "thinkj_verl.generation",
    "thinkj_verl.eval.store",
    "thinkj_verl.eval.scoring",
    "thinkj_verl.eval.metrics",
    "thinkj_verl.eval.judgebench",
    "thinkj_verl.eval.rewardbench2",
    "thinkj_verl.eval.report",
    "thinkj_verl.eval.compare",
    "thinkj_verl.eval.run",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0
