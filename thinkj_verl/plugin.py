"""verl's entry point into thinkj-verl (``[project.entry-points."verl.plugins"]``).

``import verl`` loads this module in every process, Ray workers included. verl swallows an
exception raised here at DEBUG level, so a broken plugin would fail silently: this module
imports only what registration needs, prints any failure to stderr before re-raising, and
`tests/core/test_reward_manager.py` loads the entry point in a fresh interpreter and asserts it
worked.

Registered here: the Hydra recipes and platform overlays (``+recipe=NAME``, ``+platform=cpu``),
the ``thinkj`` and ``thinkj_pair`` reward managers, the ``thinkj`` v1 trainer (per-step judge
diagnostics; imported only once verl imports its trainer registry), the ``thinkj_pair`` agent
loop (J1 sessions; imported only once verl imports its agent loops), the verl/trl value-head fix (`thinkj_verl.compat`), and, only
when ``VERL_PLATFORM=cpu``, the CPU platform and the ``thinkj_cpu`` rollout backend
(`thinkj_verl.cpu`).
"""

import importlib
import importlib.abc
import sys
import traceback

V1_TRAINERS = "verl.trainer.ppo.v1"
AGENT_LOOPS = "verl.experimental.agent_loop"
# verl module -> our module that registers into it, imported right after verl's (and only then,
# so processes that never train or roll out import neither).
REGISTER_ON_IMPORT = {
    V1_TRAINERS: "thinkj_verl.trainer",  # trainer.v1.trainer_mode=thinkj
    AGENT_LOOPS: "thinkj_verl.j1.agent_loop",  # actor_rollout_ref.rollout.agent.default_agent_loop=thinkj_pair
}


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Imports our registering module right after verl imports the module it registers into."""

    def __init__(self, target: str, ours: str):
        self.target, self.ours = target, ours

    def find_spec(self, name, path, target=None):
        if name != self.target:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module
        ours = self.ours

        def exec_module(module):
            execute(module)
            importlib.import_module(ours)

        spec.loader.exec_module = exec_module
        return spec


def _register_on_import() -> None:
    for target, ours in REGISTER_ON_IMPORT.items():
        if target in sys.modules:
            importlib.import_module(ours)
        elif not any(isinstance(f, _RegisterOnImport) and f.target == target for f in sys.meta_path):
            sys.meta_path.insert(0, _RegisterOnImport(target, ours))


try:
    from thinkj_verl import compat, cpu
    from thinkj_verl import hydra_recipes  # noqa: F401  (registers the recipes' Hydra search path: +recipe=NAME)
    from thinkj_verl import reward_manager  # noqa: F401  (registers the "thinkj" reward manager)
    from thinkj_verl.j1 import reward_manager as _j1  # noqa: F401  (registers the "thinkj_pair" reward manager)

    compat.install_trl_guard()
    cpu.activate()
    _register_on_import()
except Exception:
    print("thinkj-verl: the verl plugin failed to load; verl would hide this:", file=sys.stderr)
    traceback.print_exc()
    raise
