"""Session-wide fixtures: a tiny judge built offline, and verl's real config tree.

Both are built once per test session (building is cheap; importing verl and composing its
config is not) and shared by every test directory.
"""

from __future__ import annotations

import os

import pytest

# No test may reach a model hub: everything is built locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_judge_path(tmp_path_factory) -> str:
    """A saved tiny tokenizer + Qwen2 causal LM (about 100k parameters), as a directory path."""
    from thinkj_verl.tiny import build_tiny_judge

    return build_tiny_judge(tmp_path_factory.mktemp("tiny_judge"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_judge_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_judge_path)


@pytest.fixture(scope="session")
def compose_ppo():
    """``compose_ppo(overrides) -> DictConfig``: verl's ``ppo_trainer`` config, as main_ppo sees it.

    Hydra is initialized on verl's own config module once for the whole session.
    """
    import verl  # noqa: F401  (loads our verl.plugins entry point, as main_ppo does)
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    context = initialize_config_module(config_module="verl.trainer.config", version_base=None)
    context.__enter__()

    def _compose(overrides: list[str] | tuple[str, ...] = ()):
        return compose(config_name="ppo_trainer", overrides=list(overrides))

    yield _compose
    context.__exit__(None, None, None)
