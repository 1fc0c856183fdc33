"""verl's entry point into thinkj-verl (``[project.entry-points."verl.plugins"]``).

``import verl`` loads this module in every process, Ray workers included. verl swallows an
exception raised here at DEBUG level, so a broken plugin would fail silently: this module
therefore imports only what registration needs, and `tests/core/test_reward_manager.py` loads the entry
point in a fresh interpreter and asserts it worked.
"""

from thinkj_verl import hydra_recipes  # noqa: F401  (registers the recipes' Hydra search path: +recipe=NAME)
from thinkj_verl import reward_manager  # noqa: F401  (registers the "thinkj" reward manager)
