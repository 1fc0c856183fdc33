"""The docstring examples of the offline modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["clip", "select", "dpo_pairs", "train"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"thinkj_verl.offline.{module}"), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
