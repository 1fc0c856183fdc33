"""verl 0.9.1 + trl >= 1.13 in one environment (our `offline` extra): verl's model building works.

verl imports trl's ``AutoModelForCausalLMWithValueHead`` whenever trl is importable
(``verl/models/transformers/monkey_patch.py`` ~352); trl 1.13+ has no such class. The actor's
model is built through ``apply_monkey_patch`` in every trainer process, GPU or CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

from packaging.version import Version

BUILD = """
import verl
from thinkj_verl.tiny import build_tiny_model, build_tiny_tokenizer
from verl.models.transformers.monkey_patch import apply_monkey_patch
apply_monkey_patch(build_tiny_model(build_tiny_tokenizer(256)))
print("built")
"""


def _build(plugins: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": plugins}
    env.pop("VERL_PLATFORM", None)
    return subprocess.run([sys.executable, "-c", BUILD], capture_output=True, text=True, env=env, timeout=300)


def test_the_environment_holds_a_trl_without_the_value_head_class():
    assert Version(metadata.version("trl")) >= Version("1.13")


def test_verl_builds_the_actor_model_with_our_plugin():
    result = _build("auto")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("built")


def test_without_our_plugin_verl_fails_in_this_environment():
    # the fault the plugin fixes is real here: the test above would fail without it
    result = _build("none")
    assert result.returncode != 0
    assert "AutoModelForCausalLMWithValueHead" in result.stderr
