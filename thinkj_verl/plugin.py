"""verl's entry point into thinkj-verl (``[project.entry-points."verl.plugins"]``).

``import verl`` loads this module in every process, Ray workers included. verl swallows an
exception raised here at DEBUG level, so a broken plugin would fail silently: this module
imports only what registration needs, prints any failure to stderr before re-raising, and
`tests/core/test_reward_manager.py` loads the entry point in a fresh interpreter and asserts it
worked.

Registered here: the Hydra recipes and platform overlays (``+recipe=NAME``, ``+platform=cpu``),
the ``thinkj`` reward manager, the ``thinkj`` v1 trainer (per-step judge diagnostics; imported
only once verl imports its trainer registry), the verl/trl value-head fix (`thinkj_verl.compat`), and, only
when ``VERL_PLATFORM=cpu``, the CPU platform and the ``thinkj_cpu`` rollout backend
(`thinkj_verl.cpu`).
"""

import importlib
import importlib.abc
import sys
import traceback

V1_TRAINERS = "verl.trainer.ppo.v1"


class _RegisterTrainerOnImport(importlib.abc.MetaPathFinder):
    """Registers ``trainer.v1.trainer_mode=thinkj`` (`thinkj_verl.trainer`) right after verl
    imports its v1 trainer registry, so processes that never train do not import the trainer."""

    def find_spec(self, name, path, target=None):
        if name != V1_TRAINERS:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            importlib.import_module("thinkj_verl.trainer")

        spec.loader.exec_module = exec_module
        return spec


def _register_trainer() -> None:
    if V1_TRAINERS in sys.modules:
        importlib.import_module("thinkj_verl.trainer")
    elif not any(isinstance(finder, _RegisterTrainerOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterTrainerOnImport())


try:
    from thinkj_verl import compat, cpu
    from thinkj_verl import hydra_recipes  # noqa: F401  (registers the recipes' Hydra search path: +recipe=NAME)
    from thinkj_verl import reward_manager  # noqa: F401  (registers the "thinkj" reward manager)

    compat.install_trl_guard()
    cpu.activate()
    _register_trainer()
except Exception:
    print("thinkj-verl: the verl plugin failed to load; verl would hide this:", file=sys.stderr)
    traceback.print_exc()
    raise
