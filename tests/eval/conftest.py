"""Fixtures of the evaluation tests."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def noisy_judge_path(tiny_judge_path, tmp_path_factory) -> str:
    """The tiny judge with large random weights, so its greedy replies depend on the prompt.

    The plain tiny judge repeats the last prompt token (tied embeddings, small weights): every
    reply is the same, which would hide a padding bug.
    """
    import torch
    from transformers import AutoModelForCausalLM

    path = tmp_path_factory.mktemp("noisy_judge")
    shutil.copytree(tiny_judge_path, path, dirs_exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(path)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in model.parameters():
            if weight.dim() == 2:
                weight.normal_(0.0, 0.3, generator=generator)
    model.save_pretrained(path)
    return str(path)
