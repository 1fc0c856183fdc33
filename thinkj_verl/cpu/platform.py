"""verl's ``cpu`` platform: device "cpu", collectives over gloo, Ray's logical "GPU" resource.

verl asks its platform for a device name, a ``torch.<device>`` namespace, a communication
backend and a Ray resource name; without one registered for this machine it falls back to
cuda/nccl (``verl/plugin/platform/platform_manager.py``). Chosen with ``VERL_PLATFORM=cpu``.

Each training process owns one logical GPU of Ray's, so verl's placement arithmetic
(``trainer.nnodes x trainer.n_gpus_per_node`` GPUs) holds unchanged: start Ray with
``num_gpus`` logical GPUs (``+ray_kwargs.ray_init.num_gpus=1``, which ``+platform=cpu`` sets).

>>> platform = PlatformCPU()
>>> platform.device_name, platform.communication_backend_name(), platform.ray_resource_name()
('cpu', 'gloo', 'GPU')
>>> platform.device_module.device_count()
1
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from types import SimpleNamespace

import torch
from verl.plugin.platform.platform_base import PlatformBase

# What one process may report as free memory: verl only logs it.
_REPORTED_MEMORY = 8 * 1024**3


def _no_op(*args, **kwargs) -> None:
    return None


def _device_module() -> SimpleNamespace:
    """The ``torch.cuda`` calls verl makes, answered for a CPU (one device, nothing to sync)."""
    return SimpleNamespace(
        is_available=lambda: True,
        device_count=lambda: 1,
        current_device=lambda: 0,
        set_device=_no_op,
        synchronize=_no_op,
        empty_cache=_no_op,
        manual_seed=torch.manual_seed,
        manual_seed_all=torch.manual_seed,
        mem_get_info=lambda *args: (_REPORTED_MEMORY, _REPORTED_MEMORY),
        memory_allocated=lambda *args: 0,
        memory_reserved=lambda *args: 0,
        max_memory_allocated=lambda *args: 0,
        max_memory_reserved=lambda *args: 0,
        reset_peak_memory_stats=_no_op,
        get_device_name=lambda *args: "cpu",
        get_rng_state=lambda *args: torch.get_rng_state(),
        set_rng_state=lambda state, *args: torch.set_rng_state(state),
        is_bf16_supported=lambda *args: True,
        Stream=None,
        Event=None,
    )


class PlatformCPU(PlatformBase):
    """verl on CPU processes only: for tests, smoke runs and the demo, never for real training."""

    _module = _device_module()

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self):
        return self._module

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check=False) -> bool:
        # Never auto-detected: only an explicit VERL_PLATFORM=cpu selects it.
        return os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu"

    def current_device(self) -> str:
        # verl moves tensors with `.to(get_device_id())`: the name keeps them on the CPU.
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index) -> None:
        return None

    def synchronize(self, device_index=None) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        return None

    def empty_cache(self) -> None:
        return None

    def get_device_capability(self, device_index: int = 0):
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        # Ray sets it for actors holding logical GPUs; nothing on a CPU reads it.
        return "CUDA_VISIBLE_DEVICES"

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        return None

    def profiler_stop(self) -> None:
        return None

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return ["RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES"]

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self):
        return None
