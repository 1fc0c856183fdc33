"""Run our registration right after verl imports the module it registers into.

A verl registry (reward managers, rollout backends, v1 trainers, agent loops) lives in a module
that imports much of verl, transformers' model classes included: seconds of CPU in every Ray
worker that imports it. Registering from the plugin would make every process pay that, even
the transfer queue's; registering on import makes only the processes that use the registry pay,
and they were importing it anyway.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys


def _run(ours: str) -> None:
    """Import ``module``, or import it and call ``module:function``."""
    module_name, _, function = ours.partition(":")
    module = importlib.import_module(module_name)
    if function:
        getattr(module, function)()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the target's loader so ``ours`` runs once it has executed."""

    def __init__(self, target: str, ours: str):
        self.target, self.ours = target, ours

    def find_spec(self, name, path, target=None):
        if name != self.target:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute, ours = spec.loader.exec_module, self.ours

        def exec_module(module):
            execute(module)
            _run(ours)

        spec.loader.exec_module = exec_module
        return spec


def after_import(target: str, ours: str) -> None:
    """Run ``ours`` (``"module"`` or ``"module:function"``) once ``target`` is imported: now if it
    already is, else right after its import; once per process either way."""
    if target in sys.modules:
        _run(ours)
    elif not any(isinstance(f, _AfterImport) and f.target == target for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(target, ours))
