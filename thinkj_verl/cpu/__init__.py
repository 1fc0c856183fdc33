"""verl's real trainer on a CPU: the ``cpu`` platform and the ``thinkj_cpu`` rollout backend.

Off unless asked for: `activate` runs from our ``verl.plugins`` entry point only when
``VERL_PLATFORM=cpu``; without it nothing here is imported and verl behaves as shipped.
It registers the platform (`thinkj_verl.cpu.platform`), the rollout backend
(`thinkj_verl.cpu.rollout`, selected with ``actor_rollout_ref.rollout.name=thinkj_cpu``) and
applies the few patches verl needs on a CPU (`thinkj_verl.cpu.patches`). The Hydra overlay
``+platform=cpu`` sets the matching config (one logical GPU, fsdp2, sdpa, small sizes).
"""

from __future__ import annotations

import os

PLATFORM = "cpu"
ROLLOUT_PACKAGE = "verl.workers.rollout"


def requested() -> bool:
    return os.environ.get("VERL_PLATFORM", "").strip().lower() == PLATFORM


def activate() -> bool:
    """Register the CPU platform and rollout backend and apply the patches; True when done."""
    if not requested():
        return False
    from verl.plugin.platform.platform_manager import PlatformRegistry

    from thinkj_verl import import_hooks
    from thinkj_verl.cpu import patches
    from thinkj_verl.cpu.platform import PlatformCPU

    PlatformRegistry.register(platform=PLATFORM)(PlatformCPU)
    # verl's rollout package imports its worker configs (seconds): register when a process uses it
    import_hooks.after_import(ROLLOUT_PACKAGE, "thinkj_verl.cpu.rollout:register")
    patches.apply_all()
    return True
