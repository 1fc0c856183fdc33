"""Every recipe composed once per session (a compose of verl's tree takes a few seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def composed(compose_ppo):
    """{recipe name: the config main_ppo composes for ``+recipe=NAME``}; treat as read-only."""
    from thinkj_verl.hydra_recipes import recipe_names

    return {name: compose_ppo([f"+recipe={name}"]) for name in recipe_names()}


@pytest.fixture()
def with_overrides(composed):
    """``with_overrides(recipe, {key: value})``: a copy of a composed recipe with plain values set.

    For value-only changes this equals composing with ``key=value`` overrides, in milliseconds.
    """
    from omegaconf import OmegaConf

    def _apply(recipe: str, values: dict):
        cfg = OmegaConf.create(OmegaConf.to_container(composed[recipe], resolve=False))
        for key, value in values.items():
            assert OmegaConf.select(cfg, key, default="<missing>") != "<missing>", f"{key} is not in the tree"
            OmegaConf.update(cfg, key, value, merge=False)
        return cfg

    return _apply
