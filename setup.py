"""The packages setuptools builds; everything else is in pyproject.toml.

Every package under thinkj_verl/ and reward_fns/, plus ``thinkj_verl.recipes``: the top-level
recipes/ folder, mapped in pyproject.toml's ``[tool.setuptools.package-dir]``, with its folders of
YAML (``thinkj_verl.recipes.recipe``, ...). pyproject.toml alone cannot add a mapped package to
the ones ``packages.find`` discovers, hence this file.
"""

from setuptools import find_namespace_packages, setup

RECIPES = "thinkj_verl.recipes"

setup(
    packages=[
        # As pyproject.toml's packages.find did: namespace folders too (thinkj_verl/demo_data).
        *find_namespace_packages(include=["thinkj_verl*", "reward_fns*"]),
        RECIPES,
        *(f"{RECIPES}.{folder}" for folder in find_namespace_packages(where="recipes")),
    ]
)
