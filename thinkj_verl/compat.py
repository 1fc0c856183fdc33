"""One fix for verl 0.9.1 in an environment that also holds trl >= 1 (our ``offline`` extra).

verl asks ``verl.utils.import_utils.is_trl_available()`` ("can trl be found?") and then imports
``AutoModelForCausalLMWithValueHead`` from ``trl.experimental.ppo`` or ``trl``
(``verl/models/transformers/monkey_patch.py`` ~352, ``verl/utils/model.py`` ~654). trl 1.x
removed that class, so building any actor model raised ImportError. The question verl means
is "is trl's value-head class there?": `value_head_trl_available` asks exactly that, and
verl's answer is kept wherever the class exists (trl 0.x), so behaviour there is verl's own.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _value_head_class_importable() -> bool:
    for module in ("trl.experimental.ppo", "trl"):
        try:
            imported = __import__(module, fromlist=["AutoModelForCausalLMWithValueHead"])
        except ImportError:
            continue
        if hasattr(imported, "AutoModelForCausalLMWithValueHead"):
            return True
    return False


def install_trl_guard() -> None:
    """Point verl's ``is_trl_available`` at `value_head_trl_available` before verl's model code imports it."""
    from verl.utils import import_utils

    if getattr(import_utils.is_trl_available, "thinkj_guard", False):
        return
    original = import_utils.is_trl_available

    def value_head_trl_available() -> bool:
        return bool(original()) and _value_head_class_importable()

    value_head_trl_available.thinkj_guard = True
    value_head_trl_available.__wrapped__ = original
    import_utils.is_trl_available = value_head_trl_available
    # Modules that already bound the name keep verl's: rebind them too.
    import sys

    for name in ("verl.models.transformers.monkey_patch", "verl.utils.model"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "is_trl_available"):
            module.is_trl_available = value_head_trl_available
