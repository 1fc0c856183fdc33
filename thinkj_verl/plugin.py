"""verl's entry point into thinkj-verl (``[project.entry-points."verl.plugins"]``).

``import verl`` loads this module in every process, Ray workers included. verl swallows an
exception raised here at DEBUG level, so a broken plugin would fail silently: this module
imports only what registration needs, prints any failure to stderr before re-raising, and
`tests/core/test_reward_manager.py` loads the entry point in a fresh interpreter and asserts it
worked.

Registered here: the Hydra recipes and platform overlays (``+recipe=NAME``, ``+platform=cpu``),
the ``thinkj`` reward manager, the verl/trl value-head fix (`thinkj_verl.compat`), and, only
when ``VERL_PLATFORM=cpu``, the CPU platform and the ``thinkj_cpu`` rollout backend
(`thinkj_verl.cpu`).
"""

import sys
import traceback

try:
    from thinkj_verl import compat, cpu
    from thinkj_verl import hydra_recipes  # noqa: F401  (registers the recipes' Hydra search path: +recipe=NAME)
    from thinkj_verl import reward_manager  # noqa: F401  (registers the "thinkj" reward manager)

    compat.install_trl_guard()
    cpu.activate()
except Exception:
    print("thinkj-verl: the verl plugin failed to load; verl would hide this:", file=sys.stderr)
    traceback.print_exc()
    raise
