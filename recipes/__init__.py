"""The recipes as the package ``thinkj_verl.recipes`` (pyproject.toml maps it to this folder).

No code lives here: the package makes the YAML package data that ``importlib.resources`` finds
in any install; `thinkj_verl/hydra_recipes.py` does the finding.
"""
