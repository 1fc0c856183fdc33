"""Doctests: ``pytest`` runs every docstring example under thinkj_verl/ and reward_fns/ itself.

pyproject.toml's ``[tool.pytest.ini_options]`` adds both folders to ``testpaths`` and passes
``--doctest-modules``, so ``make test`` imports every module there and runs its examples
(``tests/core/test_docstring_examples.py`` asserts which modules must have some).

Every module under thinkj_verl/ and reward_fns/ imports on a CPU machine with the ``test`` and
``offline`` extras (GPU-only backends such as vLLM are imported inside the functions that use
them), so none is left out. A module that one day cannot be imported without a GPU package goes
in ``collect_ignore`` below, with the reason.
"""

collect_ignore = [
    "setup.py",  # running it would build the project, not test it (only collected by `pytest .`)
]


def pytest_collection_modifyitems(config, items):
    """Long modules first. ``make test`` hands whole modules to two pytest-xdist workers in
    collection order (``--dist loadscope --no-loadscope-reorder``); the modules that run verl's
    trainer take minutes each, so they start first, longest first, and the quick modules fill in
    around them, instead of one worker running a long module alone at the end while the other
    waits. A module's weight is the largest ``slow(seconds=N)`` mark among its tests (0 for none);
    modules of equal weight keep their order."""

    def module(item) -> str:
        return item.nodeid.split("::", 1)[0]

    weight: dict[str, float] = {}
    for item in items:
        seconds = max((mark.kwargs.get("seconds", 0) for mark in item.iter_markers("slow")), default=0)
        weight[module(item)] = max(weight.get(module(item), 0), seconds)
    items.sort(key=lambda item: -weight[module(item)])
