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
