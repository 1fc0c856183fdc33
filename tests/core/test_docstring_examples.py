"""The docstring examples of the label, reward, data-file and preflight modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "thinkj_verl.ground_truth",
    "thinkj_verl.argtypes",
    "thinkj_verl.files",
    "thinkj_verl.data.pairs",
    "thinkj_verl.data.prepare",
    "thinkj_verl.preflight",
    "reward_fns.thinkj_strength",
    "reward_fns.thinkj_binary",
    "reward_fns.thinkj_margin",
    "reward_fns.answer_tag",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0
