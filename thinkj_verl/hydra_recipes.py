"""Make ``+recipe=NAME`` resolve in verl's own ``main_ppo``: a Hydra search-path plugin.

verl's config tree has no ``recipe`` group. This plugin appends the folder that holds
``recipe/NAME.yaml`` to Hydra's search path, so ``python -m verl.trainer.main_ppo
+recipe=thinkj_grpo`` composes verl's ``ppo_trainer`` plus our recipe, from any directory.

Why it is registered by hand and not found as a ``hydra_plugins`` package: Hydra discovers
plugins by listing folders on ``sys.path``, and a default editable install of a flat layout
puts an import hook there instead of a folder, so Hydra would never see it. ``import verl``
loads our ``verl.plugins`` entry point (`thinkj_verl.plugin`) before ``@hydra.main`` composes;
that module imports this one, which registers the plugin with Hydra directly. Works the same
for ``pip install .`` and ``pip install -e .``.

Where the recipes are: a regular install carries a copy as package data files under
``<prefix>/share/thinkj-verl/recipes`` (``[tool.setuptools.data-files]`` in pyproject.toml);
an editable install has none, and the plugin uses the source checkout's top-level
``recipes/`` folder.

>>> (recipes_dir() / "recipe" / "thinkj_grpo.yaml").is_file()
True
"""

from __future__ import annotations

import site
import sys
import sysconfig
from functools import lru_cache
from importlib import metadata
from pathlib import Path, PurePosixPath

from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin

DISTRIBUTION = "thinkj-verl"
# Where a regular install puts the recipes, relative to the install prefix.
INSTALLED_SUBDIR = PurePosixPath("share/thinkj-verl/recipes")
RECIPE_GROUP = "recipe"


class RecipesNotFoundError(FileNotFoundError):
    """Neither an installed copy nor a source checkout of the recipes is present."""


def _installed_candidates() -> list[Path]:
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return []
    candidates = []
    marker = (INSTALLED_SUBDIR / RECIPE_GROUP).as_posix()
    for entry in dist.files or []:
        if PurePosixPath(entry.as_posix()).parent.as_posix().endswith(marker):
            # .../share/thinkj-verl/recipes/recipe/NAME.yaml -> .../share/thinkj-verl/recipes
            candidates.append(Path(entry.locate()).parent.parent)
            break
    # RECORD paths are off after `pip install --target` (pip moves the files after writing
    # them), so also look where each install scheme puts data files.
    site_dir = Path(dist.locate_file(""))
    candidates.append(site_dir / INSTALLED_SUBDIR)
    candidates += [Path(prefix) / INSTALLED_SUBDIR for prefix in (sysconfig.get_path("data"), sys.prefix, site.USER_BASE)]
    return candidates


def _installed_recipes() -> Path | None:
    for path in _installed_candidates():
        if (path / RECIPE_GROUP).is_dir():
            return path.resolve()
    return None


def _checkout_recipes() -> Path | None:
    path = Path(__file__).resolve().parent.parent / "recipes"
    return path if (path / RECIPE_GROUP).is_dir() else None


@lru_cache(maxsize=1)
def recipes_dir() -> Path:
    """The folder holding ``recipe/*.yaml``: the installed copy first, else the source checkout."""
    found = _installed_recipes() or _checkout_recipes()
    if found is None:
        raise RecipesNotFoundError(
            f"no thinkj-verl recipes found: expected an installed copy under <prefix>/{INSTALLED_SUBDIR} "
            "or a source checkout with a top-level recipes/ folder; reinstall with `pip install thinkj-verl`"
        )
    return found


def recipe_names() -> list[str]:
    """Every recipe ``+recipe=NAME`` accepts, sorted.

    >>> "thinkj_grpo" in recipe_names()
    True
    """
    return sorted(p.stem for p in (recipes_dir() / RECIPE_GROUP).glob("*.yaml"))


class ThinkjRecipesSearchPath(SearchPathPlugin):
    """Appends the recipes folder to Hydra's search path (provider ``thinkj-verl``)."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        try:
            path = recipes_dir()
        except RecipesNotFoundError:
            # Composing verl's own config must keep working; `+recipe=` then names what is missing.
            return
        search_path.append(provider=DISTRIBUTION, path=f"file://{path.as_posix()}")


def register() -> None:
    """Register the plugin with Hydra (idempotent; `thinkj_verl.plugin` calls it on ``import verl``)."""
    Plugins.instance().register(ThinkjRecipesSearchPath)


register()
