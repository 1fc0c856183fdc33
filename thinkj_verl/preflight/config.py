"""Preflight of the config itself: it composes as main_ppo composes it, resolves, passes verl's
``validate_config``; no legacy reward key is silently ignored; the logger has credentials."""

from __future__ import annotations

import os
import warnings

from thinkj_verl.preflight.report import Report, error_text, quiet


def uses_critic(config) -> bool:
    from verl.trainer.ppo.utils import need_critic

    with warnings.catch_warnings():  # verl warns on every call that a non-GAE run has no critic
        warnings.simplefilter("ignore")
        return need_critic(config)



def compose_config(overrides: list[str]):
    """The config ``main_ppo`` composes for these overrides (verl's module, ``ppo_trainer``).

    >>> compose_config(["+recipe=thinkj_grpo"]).algorithm.adv_estimator
    'grpo'
    """
    import verl  # noqa: F401  (loads our verl.plugins entry point: recipes and reward manager, as main_ppo does)
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    # Compose on a fresh Hydra and give a caller's own Hydra back afterwards (tests, notebooks).
    global_hydra = GlobalHydra.instance()
    saved = global_hydra.hydra
    global_hydra.clear()
    try:
        with initialize_config_module(config_module="verl.trainer.config", version_base=None):
            return compose(config_name="ppo_trainer", overrides=list(overrides))
    finally:
        global_hydra = GlobalHydra.instance()
        global_hydra.clear()
        if saved is not None:
            global_hydra.initialize(saved)


def _recipe_hint(overrides: list[str]) -> str:
    """Why ``+recipe=`` cannot resolve at all (Hydra itself lists the recipes when some exist)."""
    if not any(o.lstrip("+").startswith("recipe=") for o in overrides):
        return ""
    from thinkj_verl.hydra_recipes import RecipesNotFoundError, recipes_dir

    try:
        recipes_dir()
    except RecipesNotFoundError as exc:
        return f"; {exc}"
    return ""


def check_config(report: Report, overrides: list[str]):
    try:
        config = compose_config(overrides)
    except Exception as exc:  # Hydra's own message names the bad override
        report.fail("config composes", f"{error_text(exc)}; fix the override (main_ppo would stop here too)"
                    + _recipe_hint(overrides))
        return None
    from omegaconf import OmegaConf

    try:
        # The task runner resolves every interpolation on the cluster; do it here first.
        OmegaConf.resolve(OmegaConf.create(OmegaConf.to_container(config, resolve=False)))
    except Exception as exc:
        report.fail("config composes", f"composed, but an interpolation does not resolve: {error_text(exc)}")
        return None
    recipe = next((o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith("recipe=")), None)
    report.ok("config composes", f"recipe {recipe or '(none)'}, {len(overrides)} override(s)")
    return config


def check_verl_validation(report: Report, config) -> None:
    from verl.trainer.ppo.utils import need_reference_policy
    from verl.utils.config import validate_config

    try:
        with quiet():
            validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=uses_critic(config))
    except Exception as exc:
        report.fail("verl validate_config", f"{error_text(exc)} (main_ppo's first check)")
        return
    report.ok("verl validate_config", "passed")


# Where main_ppo reads what verl's legacy reward tree (``legacy_reward_impl.yaml``) used to say;
# only verl's fully-async trainer migrates these keys, main_ppo composes them and reads none.
LEGACY_REPLACEMENTS = {
    "reward_model.reward_manager": "reward.reward_manager.name",
    "reward_model.reward_kwargs": "reward.custom_reward_function.reward_kwargs",
    "reward_model.num_workers": "reward.num_workers",
    "reward_model.reward_loop_source": "reward.reward_manager.source",
    "reward_model.reward_loop_module_path": "reward.reward_manager.module.path",
    "reward_model.reward_loop_class_name": "reward.reward_manager.module.name",
    "reward_model.model.path": "reward.reward_model.model_path",
    "reward_model.enable": "reward.reward_model.enable",
    "reward_model.enable_resource_pool": "reward.reward_model.enable_resource_pool",
    "reward_model.n_gpus_per_node": "reward.reward_model.n_gpus_per_node",
    "reward_model.nnodes": "reward.reward_model.nnodes",
    "reward_model.rollout": "reward.reward_model.rollout",
    "custom_reward_function": "reward.custom_reward_function",
    "sandbox_fusion": "reward.sandbox_fusion",
}


def _leaves(node, prefix: str) -> dict:
    """{dotted key: value} of every leaf under ``prefix`` (an empty dict or list counts as a leaf)."""
    if isinstance(node, dict) and node:
        out = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}.{key}"))
        return out
    return {prefix: node}


def legacy_replacement(key: str) -> str | None:
    """The key main_ppo reads instead of legacy ``key``; None when there is none.

    >>> legacy_replacement("reward_model.reward_kwargs.format_weight")
    'reward.custom_reward_function.reward_kwargs.format_weight'
    >>> legacy_replacement("custom_reward_function.path")
    'reward.custom_reward_function.path'
    """
    for old in sorted(LEGACY_REPLACEMENTS, key=len, reverse=True):
        if key == old or key.startswith(old + "."):
            return LEGACY_REPLACEMENTS[old] + key[len(old):]
    return None


def legacy_key_problems(config, default) -> list[str]:
    """Legacy reward keys whose value differs from verl's composed default, each with its replacement."""
    from omegaconf import OmegaConf

    problems = []
    for root in ("reward_model", "custom_reward_function", "sandbox_fusion"):
        ours = _leaves(OmegaConf.to_container(config, resolve=False).get(root) or {}, root)
        theirs = _leaves(OmegaConf.to_container(default, resolve=False).get(root) or {}, root)
        for key, value in ours.items():
            if key in theirs and value == theirs[key]:
                continue
            if key not in theirs and value in (None, {}, []):
                continue
            new = legacy_replacement(key)
            fix = f"set {new}={value} instead" if new else "no key of main_ppo reads it; remove it"
            problems.append(f"{key}={value} is ignored by main_ppo: {fix}")
    return problems


def check_legacy_keys(report: Report, config) -> None:
    try:
        default = compose_config([])
    except Exception as exc:  # pragma: no cover - verl's own tree always composes
        report.skip("legacy reward keys", f"verl's default config does not compose: {error_text(exc)}")
        return
    problems = legacy_key_problems(config, default)
    if problems:
        report.fail("legacy reward keys", "; ".join(problems))
    else:
        report.ok("legacy reward keys", "reward_model.*, custom_reward_function.* at verl's defaults (main_ppo reads reward.*)")


def wandb_credentials(env=None, home: str | None = None) -> str | None:
    """Where wandb would find credentials (or that it needs none); None when it has none.

    >>> wandb_credentials({"WANDB_MODE": "offline"}, home="/nonexistent")
    'WANDB_MODE=offline'
    """
    import netrc

    env = os.environ if env is None else env
    if env.get("WANDB_MODE", "").strip().lower() in ("offline", "disabled", "dryrun"):
        return f"WANDB_MODE={env['WANDB_MODE']}"
    if env.get("WANDB_API_KEY"):
        return "WANDB_API_KEY"
    path = os.path.join(home if home is not None else os.path.expanduser("~"), ".netrc")
    if env.get("NETRC"):
        path = env["NETRC"]
    try:
        if netrc.netrc(path).authenticators("api.wandb.ai"):
            return f"{path} (api.wandb.ai)"
    except (OSError, netrc.NetrcParseError):
        pass
    return None


def check_logger(report: Report, config, env=None, home: str | None = None) -> None:
    logger = config.trainer.get("logger")
    loggers = [logger] if isinstance(logger, str) else list(logger or [])
    if "wandb" not in loggers:
        report.ok("trainer.logger", f"{loggers}: no credentials needed")
        return
    found = wandb_credentials(env, home)
    if found:
        report.ok("trainer.logger", f"{loggers}: wandb credentials from {found}")
    else:
        report.warn("trainer.logger", f"{loggers} but no wandb credentials (WANDB_API_KEY unset, no api.wandb.ai "
                                      "entry in ~/.netrc): the run fails when it starts logging; set "
                                      "trainer.logger=[console], or WANDB_MODE=offline, or `wandb login`")
