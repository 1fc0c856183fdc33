"""verl's entry point into thinkj-verl (``[project.entry-points."verl.plugins"]``).

``import verl`` loads this module in every process, Ray workers included. verl swallows an
exception raised here at DEBUG level, so a broken plugin would fail silently: this module
imports only what registration needs, prints any failure to stderr before re-raising, and
`tests/core/test_reward_manager.py` loads the entry point in a fresh interpreter and asserts it
worked.

Registered here: the Hydra recipes and platform overlays (``+recipe=NAME``, ``+platform=cpu``),
the verl/trl value-head fix (`thinkj_verl.compat`), and, only when ``VERL_PLATFORM=cpu``, the CPU
platform and the ``thinkj_cpu`` rollout backend (`thinkj_verl.cpu`). Registered once verl imports
the registry they go into (`REGISTER_ON_IMPORT`): the ``thinkj`` and ``thinkj_pair`` reward
managers, the ``thinkj`` v1 trainer (per-step judge diagnostics) and the ``thinkj_pair`` agent
loop (J1 sessions). Importing the reward managers' registry pulls in verl's worker configs and
transformers' model classes, about 4 s of CPU: a Ray worker that never scores (the transfer
queue, the load balancer) should not pay it on every start.
"""

import sys
import traceback

V1_TRAINERS = "verl.trainer.ppo.v1"
AGENT_LOOPS = "verl.experimental.agent_loop"
# The package, not its `registry` submodule: every import of the registry goes through the
# package's __init__, and ours imports `register` from the package, complete only at its end.
REWARD_MANAGERS = "verl.experimental.reward_loop.reward_manager"
# verl module -> our module that registers into it, imported right after verl's (`import_hooks`;
# only then, so processes that never score, train or roll out import none of them).
REGISTER_ON_IMPORT = {
    REWARD_MANAGERS: "thinkj_verl.reward_manager",  # reward.reward_manager.name=thinkj and thinkj_pair
    V1_TRAINERS: "thinkj_verl.trainer",  # trainer.v1.trainer_mode=thinkj
    AGENT_LOOPS: "thinkj_verl.j1.agent_loop",  # actor_rollout_ref.rollout.agent.default_agent_loop=thinkj_pair
}

try:
    from thinkj_verl import compat, cpu, import_hooks
    from thinkj_verl import hydra_recipes  # noqa: F401  (registers the recipes' Hydra search path: +recipe=NAME)

    compat.install_trl_guard()
    cpu.activate()
    for target, ours in REGISTER_ON_IMPORT.items():
        import_hooks.after_import(target, ours)
except Exception:
    print("thinkj-verl: the verl plugin failed to load; verl would hide this:", file=sys.stderr)
    traceback.print_exc()
    raise
