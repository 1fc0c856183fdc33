"""The few places where verl 0.9.1 cannot run on a CPU through a registry, patched here.

Each patch names the verl file and line it works around. `thinkj_verl.cpu.activate` applies
them only when ``VERL_PLATFORM=cpu``; a GPU process never reaches this module.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys

import torch.distributed

PATCHED_MARK = "_thinkj_cpu_patch"


def _dedupe_backend(backend):
    """``"cpu:gloo,cpu:gloo"`` -> ``"cpu:gloo"``: one backend per device type, first one kept.

    >>> _dedupe_backend("cpu:gloo,cpu:gloo")
    'cpu:gloo'
    >>> _dedupe_backend("gloo")
    'gloo'
    """
    if not isinstance(backend, str) or "," not in backend:
        return backend
    kept: dict[str, str] = {}
    for part in backend.split(","):
        device = part.split(":", 1)[0]
        kept.setdefault(device, part)
    return ",".join(kept.values())


def patch_process_group_backend() -> None:
    """verl/utils/distributed.py (~63, ~89) asks for ``f"cpu:gloo,{device}:{backend}"``, which on
    this platform names the cpu device twice; torch rejects the duplicate."""
    original = torch.distributed.init_process_group
    if getattr(original, PATCHED_MARK, False):
        return

    def init_process_group(*args, backend=None, **kwargs):
        return original(*args, backend=_dedupe_backend(backend), **kwargs)

    setattr(init_process_group, PATCHED_MARK, True)
    init_process_group.__wrapped__ = original
    torch.distributed.init_process_group = init_process_group


def patch_pinned_offload() -> None:
    """verl/workers/engine/fsdp/transformer_impl.py (~462) offloads FSDP2 modules (the reference
    model) with ``CPUOffloadPolicy(pin_memory=True)``; pinning needs an accelerator."""
    from torch.distributed import fsdp

    original = fsdp.CPUOffloadPolicy
    if getattr(original, PATCHED_MARK, False):
        return

    @dataclasses.dataclass
    class UnpinnedCPUOffloadPolicy(original):
        def __post_init__(self):
            self.pin_memory = False

    setattr(UnpinnedCPUOffloadPolicy, PATCHED_MARK, True)
    UnpinnedCPUOffloadPolicy.__name__ = UnpinnedCPUOffloadPolicy.__qualname__ = "CPUOffloadPolicy"
    fsdp.CPUOffloadPolicy = UnpinnedCPUOffloadPolicy
    # Modules that imported the name before us keep the original: point them at ours too.
    for name in ("verl.utils.fsdp_utils", "verl.workers.engine.fsdp.transformer_impl"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "CPUOffloadPolicy"):
            module.CPUOffloadPolicy = UnpinnedCPUOffloadPolicy


def patch_value_head_attention() -> None:
    """verl/utils/model.py (~645) loads the critic's value-head model with a hard-coded
    ``attn_implementation="flash_attention_2"``, which needs flash-attn (a CUDA package); on a CPU
    the critic loads the same token-classification model with sdpa."""
    verl_model = importlib.import_module("verl.utils.model")

    original = verl_model.load_valuehead_model
    if getattr(original, PATCHED_MARK, False):
        return

    def load_valuehead_model(local_path, torch_dtype, model_config, trust_remote_code):
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification.from_pretrained(
            pretrained_model_name_or_path=local_path,
            torch_dtype=torch_dtype,
            config=model_config,
            attn_implementation="sdpa",
            trust_remote_code=trust_remote_code,
        )

    setattr(load_valuehead_model, PATCHED_MARK, True)
    load_valuehead_model.__wrapped__ = original
    verl_model.load_valuehead_model = load_valuehead_model


def skip_sklearn_in_transformers() -> None:
    """transformers/generation/candidate_generator.py (~30) imports scikit-learn, for the ROC
    curve of assisted decoding's dynamic confidence threshold, in every process that imports a
    model class: 1.6 s of CPU per Ray worker here, nine workers a run. Nothing decodes with an
    assistant model on the CPU backend; without scikit-learn transformers keeps that threshold
    fixed. (scikit-learn comes in with the offline extra's sentence-transformers.)"""
    if "transformers.generation.candidate_generator" in sys.modules:
        return
    import transformers.utils

    original = transformers.utils.is_sklearn_available
    if getattr(original, PATCHED_MARK, False):
        return

    def is_sklearn_available() -> bool:
        return False

    setattr(is_sklearn_available, PATCHED_MARK, True)
    is_sklearn_available.__wrapped__ = original
    transformers.utils.is_sklearn_available = is_sklearn_available


def select_fsdp_engine() -> None:
    """verl/workers/engine/base.py (~426) finds FSDP engines registered for cuda/npu only; the
    engine code itself runs on CPU tensors once the platform says "cpu"."""
    os.environ.setdefault("VERL_ENGINE_DEVICE", "cuda")


def apply_all() -> None:
    from thinkj_verl.import_hooks import after_import

    patch_process_group_backend()
    patch_pinned_offload()
    skip_sklearn_in_transformers()
    # verl.utils.model imports transformers' model classes (seconds): patch it where it is imported
    after_import("verl.utils.model", f"{__name__}:patch_value_head_attention")
    select_fsdp_engine()


def _value_head_patched() -> bool:
    module = sys.modules.get("verl.utils.model")
    return module is not None and bool(getattr(module.load_valuehead_model, PATCHED_MARK, False))


def applied() -> dict[str, bool]:
    """Which patches are in place in this process (tests assert none without VERL_PLATFORM=cpu)."""
    from torch.distributed import fsdp

    transformers_utils = sys.modules.get("transformers.utils")
    return {
        "process_group_backend": bool(getattr(torch.distributed.init_process_group, PATCHED_MARK, False)),
        "pinned_offload": bool(getattr(fsdp.CPUOffloadPolicy, PATCHED_MARK, False)),
        "value_head_attention": _value_head_patched(),
        "sklearn_skipped": bool(getattr(getattr(transformers_utils, "is_sklearn_available", None), PATCHED_MARK, False)),
        "engine_device": os.environ.get("VERL_ENGINE_DEVICE") == "cuda",
    }
