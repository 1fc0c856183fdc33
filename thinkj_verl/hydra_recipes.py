"""Where the recipes are, and how ``+recipe=NAME`` resolves in verl's own ``main_ppo``.

The repository's top-level ``recipes/`` folder ships as the package ``thinkj_verl.recipes``
(``[tool.setuptools.package-dir]`` in pyproject.toml, its YAML as package data), so the standard
library finds it the same way in a regular and in an editable install:
``importlib.resources.files("thinkj_verl.recipes")``. The online recipes (``recipe/``, the
``platform/`` overlays) and the offline trl recipes (``offline/``) are all found through
`recipes_dir`; an editable install resolves to the checkout, so an edited recipe counts at once.

verl's config tree has no ``recipe`` group. The search-path plugin below appends
``pkg://thinkj_verl.recipes`` to Hydra's search path, so ``python -m verl.trainer.main_ppo
+recipe=thinkj_grpo`` composes verl's ``ppo_trainer`` plus our recipe, from any directory.

Why it is registered by hand and not found as a ``hydra_plugins`` package: Hydra discovers
plugins by listing folders on ``sys.path``, and a default editable install of a flat layout
puts an import hook there instead of a folder, so Hydra would never see it. ``import verl``
loads our ``verl.plugins`` entry point (`thinkj_verl.plugin`) before ``@hydra.main`` composes;
that module imports this one, which registers the plugin with Hydra directly.

>>> (recipes_dir() / "recipe" / "thinkj_grpo.yaml").is_file()
True
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin

DISTRIBUTION = "thinkj-verl"
PACKAGE = "thinkj_verl.recipes"
RECIPE_GROUP = "recipe"
OFFLINE_GROUP = "offline"


class RecipesNotFoundError(FileNotFoundError):
    """The package ``thinkj_verl.recipes`` is not installed (nor is this a checkout installed with -e)."""


def recipes_dir() -> Path:
    """The folder holding ``recipe/``, ``platform/`` and ``offline/``: the package ``thinkj_verl.recipes``.

    >>> recipes_dir().name  # the checkout's top-level folder, or the installed package's
    'recipes'
    """
    try:
        root = importlib.resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise RecipesNotFoundError(
            f"no thinkj-verl recipes found: the package {PACKAGE} is not installed; install the project "
            "(`pip install thinkj-verl`, or `pip install -e .` in a checkout) rather than putting it on PYTHONPATH"
        ) from None
    # setuptools installs packages unzipped: the package's folder is a real directory.
    return Path(str(root))


def recipe_names() -> list[str]:
    """Every recipe ``+recipe=NAME`` accepts, sorted.

    >>> "thinkj_grpo" in recipe_names()
    True
    """
    return sorted(p.stem for p in (recipes_dir() / RECIPE_GROUP).glob("*.yaml"))


def recipe_summaries() -> list[tuple[str, str]]:
    """(name, first line of its header comment) for every recipe ``+recipe=NAME`` accepts.

    >>> dict(recipe_summaries())["thinkj_grpo"].startswith("Think-J online RL with GRPO")
    True
    """
    summaries = []
    for name in recipe_names():
        lines = (recipes_dir() / RECIPE_GROUP / f"{name}.yaml").read_text().splitlines()
        comments = [line.lstrip("# ").strip() for line in lines if line.startswith("#") and "@package" not in line]
        summaries.append((name, next((c for c in comments if c), "")))
    return summaries


def recipe_listing() -> str:
    """What ``thinkj preflight --list-recipes`` prints: the folder, then one line per recipe.

    >>> listing = recipe_listing().splitlines()
    >>> listing[0]  # doctest: +ELLIPSIS
    'recipes in .../recipes (use as +recipe=NAME):'
    >>> print(next(line for line in listing if line.split()[0] == "thinkj_grpo"))  # doctest: +NORMALIZE_WHITESPACE
    thinkj_grpo Think-J online RL with GRPO: paper Table 11 (GRPO column), 2 nodes x 8 GPUs.
    """
    summaries = recipe_summaries()
    width = max(len(name) for name, _ in summaries)
    lines = [f"recipes in {recipes_dir()} (use as +recipe=NAME):"]
    lines += [f"  {name:<{width}}  {summary}" for name, summary in summaries]
    return "\n".join(lines)


def offline_recipes_dir() -> Path:
    """The folder of the offline trl recipes (``thinkj train sft|dpo|bt``).

    >>> (offline_recipes_dir() / "dpo.yaml").is_file()
    True
    """
    return recipes_dir() / OFFLINE_GROUP


class ThinkjRecipesSearchPath(SearchPathPlugin):
    """Appends ``pkg://thinkj_verl.recipes`` to Hydra's search path (provider ``thinkj-verl``).

    Hydra reads a ``pkg://`` source through ``importlib.resources`` too; when the package is
    missing the source is simply unavailable, composing verl's own config keeps working, and
    ``+recipe=`` fails naming the group it cannot find.
    """

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider=DISTRIBUTION, path=f"pkg://{PACKAGE}")


def register() -> None:
    """Register the plugin with Hydra (idempotent; `thinkj_verl.plugin` calls it on ``import verl``)."""
    Plugins.instance().register(ThinkjRecipesSearchPath)


register()
