"""The modules whose public functions are documented by runnable examples keep them.

pytest runs the examples themselves (``--doctest-modules`` over thinkj_verl/ and reward_fns/,
see the root conftest.py); this test guards against a module losing all of its examples, which
would pass silently there.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    # labels, rewards, data files
    "thinkj_verl.ground_truth",
    "thinkj_verl.rewards",
    "reward_fns._common",
    "thinkj_verl.argtypes",
    "thinkj_verl.files",
    "thinkj_verl.data.pairs",
    "thinkj_verl.data.rows",
    "thinkj_verl.prompts",
    "thinkj_verl.data.prepare",
    "thinkj_verl.parser",
    "thinkj_verl.diagnostics",
    "thinkj_verl.j1.session",
    "thinkj_verl.eval.pointwise",
    "reward_fns.thinkj_strength",
    "reward_fns.thinkj_binary",
    "reward_fns.thinkj_margin",
    "reward_fns.answer_tag",
    # recipes and preflight
    "thinkj_verl.hydra_recipes",
    "thinkj_verl.preflight.report",
    "thinkj_verl.preflight.config",
    "thinkj_verl.preflight.cluster",
    # generation and evaluation
    "thinkj_verl.generation",
    "thinkj_verl.eval.store",
    "thinkj_verl.eval.scoring",
    "thinkj_verl.eval.metrics",
    "thinkj_verl.eval.judgebench",
    "thinkj_verl.eval.rewardbench2",
    "thinkj_verl.eval.report",
    "thinkj_verl.eval.compare",
    "thinkj_verl.eval.run",
    # offline training
    "thinkj_verl.offline.clip",
    "thinkj_verl.offline.select",
    "thinkj_verl.offline.dpo_pairs",
    "thinkj_verl.offline.train",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_has_docstring_examples(name):
    tests = doctest.DocTestFinder().find(importlib.import_module(name))
    assert sum(len(t.examples) for t in tests) > 0, f"{name} has no docstring example"
