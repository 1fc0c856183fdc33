"""``thinkj preflight``: check a whole launch on a CPU machine before a cluster is booked.

    thinkj preflight +recipe=thinkj_grpo data.train_files=... actor_rollout_ref.model.path=... \\
        [any other main_ppo overrides] [--ray-address HEAD_IP:6379]

It composes exactly the config ``python -m verl.trainer.main_ppo`` would see (verl's config
module ``verl.trainer.config``, config ``ppo_trainer``, the same overrides), then checks what
would otherwise fail only after the cluster is up:

- the config composes and resolves, and passes verl's own ``validate_config``;
- batch arithmetic for ``trainer.nnodes`` x ``trainer.n_gpus_per_node``, as verl's workers
  split the batch (mini-batches over data-parallel ranks, micro batches per GPU, log-prob micro
  batches, rollout tensor parallel inside a node);
- the model config and tokenizer load (and the critic's, when there is one);
- a per-GPU memory plan from the model's config.json (``--gpu-memory GIB``, default 80; see
  ``thinkj_verl/memory_plan.py``) fits each phase of a step, else names the setting to change;
- data files exist, have the columns the dataset needs and valid labels; sampled prompts,
  rendered with the model's chat template, fit ``data.max_prompt_length`` (how many would be
  filtered);
- the reward manager and function load through verl's ``load_reward_manager`` and score rows of
  the training data with known labels: a reply with the right verdict scores through the
  manager as the function scores it directly, the flipped verdict lower;
- with ``--ray-address``: the cluster has the nodes and GPUs the config asks for, alive.

- keys of verl's legacy reward tree (``reward_model.reward_manager``, ``reward_model.reward_kwargs``,
  top-level ``custom_reward_function.*``, ...) left at verl's defaults: main_ppo composes them
  but never reads them, so a value there (as in the released Think-J scripts) is silently lost;
- ``trainer.logger`` with wandb has credentials (else a WARN row with the fix).

One table is printed (check, OK / WARN / FAIL / SKIP, detail or fix); the exit status is 1 when
any check fails, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import warnings
from dataclasses import dataclass

from thinkj_verl import memory_plan

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
DEFAULT_SAMPLE_ROWS = 64
DEFAULT_SCORE_ROWS = 4
DEFAULT_MAX_FILTERED = 0.10


@dataclass
class Check:
    """One row of the report."""

    name: str
    status: str
    detail: str


class Report:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, name: str, status: str, detail: str) -> Check:
        check = Check(name, status, detail)
        self.checks.append(check)
        return check

    def ok(self, name: str, detail: str) -> Check:
        return self.add(name, OK, detail)

    def fail(self, name: str, detail: str) -> Check:
        return self.add(name, FAIL, detail)

    def warn(self, name: str, detail: str) -> Check:
        """A launch that runs but may not do what was meant (the exit status stays 0)."""
        return self.add(name, WARN, detail)

    def skip(self, name: str, detail: str) -> Check:
        return self.add(name, SKIP, detail)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def table(self) -> str:
        width = max([len("check"), *(len(c.name) for c in self.checks)])
        lines = [f"{'check':<{width}}  {'status':<6}  detail / fix", f"{'-' * width}  ------  {'-' * 40}"]
        for c in self.checks:
            detail = c.detail.replace("\n", " ")
            lines.append(f"{c.name:<{width}}  {c.status:<6}  {detail}")
        verdict = f"{len(self.failed)} check(s) FAILED" if self.failed else "all checks passed"
        warnings_ = sum(c.status == WARN for c in self.checks)
        if warnings_:
            verdict += f", {warnings_} warning(s)"
        lines.append(f"\n{verdict} ({len(self.checks)} run)")
        return "\n".join(lines)


def _quiet():
    """Silence verl's and the dataset's progress prints inside a check (the table is the output)."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack


def _uses_critic(config) -> bool:
    from verl.trainer.ppo.utils import need_critic

    with warnings.catch_warnings():  # verl warns on every call that a non-GAE run has no critic
        warnings.simplefilter("ignore")
        return need_critic(config)


def _error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, (AssertionError, ValueError)) else text


# ---------------------------------------------------------------------------------------------
# Config


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
        report.fail("config composes", f"{_error(exc)}; fix the override (main_ppo would stop here too)"
                    + _recipe_hint(overrides))
        return None
    from omegaconf import OmegaConf

    try:
        # The task runner resolves every interpolation on the cluster; do it here first.
        OmegaConf.resolve(OmegaConf.create(OmegaConf.to_container(config, resolve=False)))
    except Exception as exc:
        report.fail("config composes", f"composed, but an interpolation does not resolve: {_error(exc)}")
        return None
    recipe = next((o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith("recipe=")), None)
    report.ok("config composes", f"recipe {recipe or '(none)'}, {len(overrides)} override(s)")
    return config


def check_verl_validation(report: Report, config) -> None:
    from verl.trainer.ppo.utils import need_reference_policy
    from verl.utils.config import validate_config

    try:
        with _quiet():
            validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=_uses_critic(config))
    except Exception as exc:
        report.fail("verl validate_config", f"{_error(exc)} (main_ppo's first check)")
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
        report.skip("legacy reward keys", f"verl's default config does not compose: {_error(exc)}")
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


# ---------------------------------------------------------------------------------------------
# Batch arithmetic


def batch_problems(config) -> list[tuple[str, str]]:
    """(check name, problem) for every batch split verl's workers would reject on the cluster.

    Mirrors the installed verl 0.9.1: the trainer pads a step's ``train_batch_size * rollout.n``
    samples to a multiple of lcm(dp, global mini-batch); each data-parallel rank gets
    ``mini_batch * n / dp`` samples per update and splits them into micro batches of
    ``*_micro_batch_size_per_gpu`` (``prepare_micro_batches`` asserts divisibility); the
    rollout world (tensor x data x pipeline parallel) must tile the GPUs and a tensor-parallel
    group must fit in one node. With dynamic batch sizes only the rollout layout applies.
    """
    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import need_reference_policy

    problems: list[tuple[str, str]] = []
    trainer, arr = config.trainer, config.actor_rollout_ref
    nnodes, per_node = int(trainer.nnodes), int(trainer.n_gpus_per_node)
    n_gpus = nnodes * per_node
    n = int(arr.rollout.n)
    train_batch = int(config.data.train_batch_size)

    rollout = arr.rollout
    tp = int(rollout.tensor_model_parallel_size)
    rollout_world = tp * int(rollout.get("data_parallel_size", 1) or 1) * int(rollout.get("pipeline_model_parallel_size", 1) or 1)
    if tp > per_node or per_node % tp:
        problems.append((
            "batch: rollout tensor parallel",
            f"actor_rollout_ref.rollout.tensor_model_parallel_size={tp} must divide "
            f"trainer.n_gpus_per_node={per_node} (a tensor-parallel group stays inside one node)",
        ))
    elif n_gpus % rollout_world:
        problems.append((
            "batch: rollout tensor parallel",
            f"rollout world tp x dp x pp = {rollout_world} must divide the {n_gpus} GPUs "
            f"({nnodes} x {per_node})",
        ))

    if arr.actor.use_dynamic_bsz:
        return problems

    def split(role: str, mini: int, micro, sp: int, micro_key: str) -> None:
        if n_gpus % sp:
            problems.append((f"batch: {role} mini-batch", f"{n_gpus} GPUs are not divisible by sequence parallel {sp}"))
            return
        dp = n_gpus // sp
        global_mini = mini * n
        if global_mini % dp:
            problems.append((
                f"batch: {role} mini-batch",
                f"{role} ppo_mini_batch_size x rollout.n = {mini} x {n} = {global_mini} samples per update "
                f"is not divisible by {dp} data-parallel ranks ({nnodes} x {per_node} GPUs / sp {sp})",
            ))
            return
        if micro is None:
            problems.append((f"batch: {role} micro batch", f"set {micro_key} (verl needs it without dynamic batch size)"))
            return
        per_gpu = global_mini // dp
        if per_gpu % int(micro):
            problems.append((
                f"batch: {role} micro batch",
                f"{per_gpu} samples per GPU per update ({global_mini} / {dp}) are not divisible by "
                f"{micro_key}={micro}",
            ))

    actor = arr.actor
    actor_sp = int(actor.get("ulysses_sequence_parallel_size", 1) or 1)
    split("actor", int(actor.ppo_mini_batch_size), actor.ppo_micro_batch_size_per_gpu, actor_sp,
          "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu")
    lcm_parts = [n_gpus // actor_sp if n_gpus % actor_sp == 0 else 1, int(actor.ppo_mini_batch_size) * n]

    if _uses_critic(config):
        critic = config.critic
        critic_sp = int(critic.get("ulysses_sequence_parallel_size", 1) or 1)
        split("critic", int(critic.ppo_mini_batch_size), critic.ppo_micro_batch_size_per_gpu, critic_sp,
              "critic.ppo_micro_batch_size_per_gpu")
        lcm_parts.append(int(critic.ppo_mini_batch_size) * n)

    # Log-prob passes (old policy, reference) see the whole padded step batch per rank.
    multiple = math.lcm(*lcm_parts)
    padded = math.ceil(train_batch * n / multiple) * multiple
    dp = lcm_parts[0]
    per_rank = padded // dp
    keys = ["actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu"]
    if need_reference_policy(config):
        keys.append("actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu")
    for key in keys:
        micro = OmegaConf.select(config, key)
        if micro is not None and per_rank % int(micro):
            problems.append((
                "batch: log-prob micro batch",
                f"{per_rank} samples per GPU per step ({padded} / {dp} ranks) are not divisible by {key}={micro}",
            ))
    return problems


def check_batches(report: Report, config) -> None:
    try:
        problems = batch_problems(config)
    except Exception as exc:
        report.fail("batch arithmetic", f"could not read the batch settings: {_error(exc)}")
        return
    for name, problem in problems:
        report.fail(name, problem)
    if not problems:
        t, a = config.trainer, config.actor_rollout_ref
        n_gpus = int(t.nnodes) * int(t.n_gpus_per_node)
        per_gpu = int(a.actor.ppo_mini_batch_size) * int(a.rollout.n) // n_gpus
        report.ok(
            "batch arithmetic",
            f"{t.nnodes} x {t.n_gpus_per_node} GPUs: {config.data.train_batch_size} prompts x n={a.rollout.n} per step; "
            f"update of {a.actor.ppo_mini_batch_size} x {a.rollout.n} samples = {per_gpu} per GPU in micro batches of "
            f"{a.actor.ppo_micro_batch_size_per_gpu}; rollout TP {a.rollout.tensor_model_parallel_size}",
        )


# ---------------------------------------------------------------------------------------------
# Model and tokenizer


def _load_model_files(path: str, trust_remote_code: bool, tokenizer_path: str | None = None):
    from transformers import AutoConfig
    from verl.utils import hf_tokenizer
    from verl.utils.fs import copy_to_local

    local = copy_to_local(path)
    model_config = AutoConfig.from_pretrained(local, trust_remote_code=trust_remote_code)
    tokenizer = hf_tokenizer(copy_to_local(tokenizer_path or path), trust_remote_code=trust_remote_code)
    return model_config, tokenizer


def check_model(report: Report, config):
    model = config.actor_rollout_ref.model
    path = model.path
    trust = bool(model.get("trust_remote_code", False))
    try:
        with _quiet():
            model_config, tokenizer = _load_model_files(path, trust, model.get("tokenizer_path"))
    except Exception as exc:
        report.fail(
            "model + tokenizer",
            f"actor_rollout_ref.model.path={path}: {_error(exc)}; set it to a Hugging Face model "
            "directory (config.json and tokenizer files) or a hub id reachable from here",
        )
        return None
    report.ok("model + tokenizer", f"{path}: {model_config.model_type}, vocabulary {len(tokenizer)}")

    if _uses_critic(config):
        critic_path = config.critic.model.path
        try:
            with _quiet():
                _load_model_files(critic_path, bool(config.critic.model.get("trust_remote_code", False)),
                                  config.critic.model.get("tokenizer_path"))
        except Exception as exc:
            report.fail("critic model", f"critic.model.path={critic_path}: {_error(exc)}; set critic.model.path")
        else:
            report.ok("critic model", str(critic_path))
    return tokenizer


# ---------------------------------------------------------------------------------------------
# Data


def _as_list(files) -> list[str]:
    if files is None:
        return []
    if isinstance(files, str):
        return [files]
    return [str(f) for f in files]


def _is_remote(path: str) -> bool:
    return "://" in path


def check_data_files(report: Report, config) -> bool:
    """Every train / val file exists (remote URLs are left to verl's copy_to_local).

    Returns whether the training files are there (the later data checks read them).
    """
    train_ok = True
    for key in ("train_files", "val_files"):
        files = _as_list(config.data.get(key))
        missing = [f for f in files if not _is_remote(f) and not os.path.isfile(os.path.expanduser(f))]
        if not files:
            report.fail(f"data.{key}", f"data.{key} is empty; point it at the training data (thinkj prepare)")
        elif missing:
            report.fail(f"data.{key}", f"missing: {', '.join(missing)}; fix data.{key} or run `thinkj prepare`")
        else:
            report.ok(f"data.{key}", ", ".join(files))
            continue
        train_ok = train_ok and key != "train_files"
    return train_ok


def _reward_format(config) -> tuple[str, str]:
    """(output format, where it came from): the reward function's FORMAT, else data.thinkj.format."""
    import importlib

    from thinkj_verl.rewards import DEFAULT_REWARD_PATH

    path = config.reward.custom_reward_function.get("path") or DEFAULT_REWARD_PATH
    if path.startswith("pkg://"):
        try:
            module = importlib.import_module(path[len("pkg://"):])
            if getattr(module, "FORMAT", None):
                return module.FORMAT, path
        except Exception:
            pass
    thinkj = config.data.get("thinkj") or {}
    return thinkj.get("format", "strength"), "data.thinkj.format"


def check_format_match(report: Report, config) -> None:
    """Our dataset asks the judge for data.thinkj.format; the reward function must parse that format."""
    fmt, source = _reward_format(config)
    thinkj = config.data.get("thinkj") or {}
    try:
        ours = _reads_pairs(_dataset_class(config))
    except Exception:
        return  # check_labels reports a dataset class that does not load
    if not ours or source == "data.thinkj.format":
        return
    asked = thinkj.get("format", "strength")
    if asked != fmt:
        report.fail("judge format vs reward", f"{source} parses the {fmt!r} format but data.thinkj.format={asked!r} "
                                              f"asks the judge for another: add data.thinkj.format={fmt}")
    else:
        report.ok("judge format vs reward", f"prompts ask for the {fmt!r} format the reward function parses")


def _reads_pairs(dataset_cls) -> bool:
    """Our JudgePairDataset (canonical pairs, judge prompt from data.thinkj), not prepared rows."""
    import importlib

    return hasattr(importlib.import_module(dataset_cls.__module__), "validate_pair_file")


def _dataset_class(config):
    from verl.utils.dataset.rl_dataset import get_dataset_class

    with _quiet():
        return get_dataset_class(config.data)


def _row_file_problems(path: str, config, fmt: str) -> list[str]:
    """Problems of one prepared RLHFDataset file: columns and every row's label."""
    import datasets

    from thinkj_verl.ground_truth import GroundTruthError, parse_ground_truth

    kind = "parquet" if path.endswith(".parquet") else "json"
    with _quiet():
        table = datasets.load_dataset(kind, data_files=os.path.expanduser(path))["train"]
    needed = [config.data.get("prompt_key", "prompt"), config.data.get("reward_fn_key", "data_source"), "reward_model"]
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        return [f"{path}: missing column(s) {missing} (has {table.column_names}); write it with `thinkj prepare`"]
    problems = []
    for row, value in enumerate(table["reward_model"]):
        try:
            if not isinstance(value, dict) or "ground_truth" not in value:
                raise GroundTruthError("reward_model has no 'ground_truth'")
            parse_ground_truth(value["ground_truth"], fmt)
        except GroundTruthError as exc:
            problems.append(f"{path} row {row}: reward_model.ground_truth: {exc}")
    return problems


def check_labels(report: Report, config) -> None:
    """Columns and labels of every train file, read the way the configured dataset class reads them."""
    fmt, _ = _reward_format(config)
    try:
        dataset_cls = _dataset_class(config)
    except Exception as exc:
        report.fail("dataset class", f"data.custom_cls: {_error(exc)}")
        return
    import importlib

    from verl.utils.dataset.rl_dataset import RLHFDataset

    module = importlib.import_module(dataset_cls.__module__)
    ours = _reads_pairs(dataset_cls)
    problems: list[str] = []
    for path in _as_list(config.data.train_files):
        if _is_remote(path) or not os.path.isfile(os.path.expanduser(path)):
            continue
        try:
            if ours:
                # The dataset module's own validator: the columns it needs, every pair valid.
                problems += module.validate_pair_file(os.path.expanduser(path))
            elif dataset_cls is RLHFDataset:
                problems += _row_file_problems(path, config, fmt)
            else:
                report.skip("data columns + labels", f"custom dataset class {dataset_cls.__name__}: checked on samples only")
                return
        except Exception as exc:
            problems.append(f"{path}: {_error(exc)}")
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        report.fail("data columns + labels", "; ".join(problems[:3]) + more)
    else:
        what = "every pair valid" if ours else f"every label valid for format {fmt!r}"
        report.ok("data columns + labels", f"{dataset_cls.__name__}: columns present, {what}")


def load_sample(config, tokenizer, rows: int):
    """Up to ``rows`` training items from the configured dataset class, no length filter."""
    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import create_rl_dataset

    data_config = OmegaConf.create(OmegaConf.to_container(config.data, resolve=True))
    # Sample without filtering so the overlong prompts can be counted; one worker (a laptop).
    data_config.filter_overlong_prompts = False
    data_config.filter_overlong_prompts_workers = 1
    data_config.shuffle = True
    if data_config.get("seed") is None:
        data_config.seed = 0
    with _quiet():
        dataset = create_rl_dataset(_as_list(config.data.train_files), data_config, tokenizer, None,
                                    is_train=True, max_samples=rows)
        return [dataset[i] for i in range(min(rows, len(dataset)))]


def prompt_length(tokenizer, messages, template_kwargs) -> int:
    """Tokens of the chat-templated prompt, counted as verl's length filter counts them."""
    ids = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True, **template_kwargs)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def check_prompt_lengths(report: Report, config, tokenizer, items, max_filtered: float) -> None:
    limit = int(config.data.max_prompt_length)
    kwargs = dict(config.data.get("apply_chat_template_kwargs") or {})
    lengths = [prompt_length(tokenizer, item["raw_prompt"], kwargs) for item in items]
    over = [n for n in lengths if n > limit]
    share = len(over) / len(lengths)
    summary = (
        f"{len(over)} of {len(lengths)} sampled prompts exceed data.max_prompt_length={limit} "
        f"(longest {max(lengths)} tokens, about {share:.0%} of the data)"
    )
    filtering = bool(config.data.get("filter_overlong_prompts", False))
    if over and not filtering and config.data.get("truncation", "error") == "error":
        report.fail("prompt lengths", f"{summary}; with truncation=error the job stops on the first one: "
                                      "raise data.max_prompt_length or set data.filter_overlong_prompts=true")
    elif share > max_filtered:
        report.fail("prompt lengths", f"{summary} would be filtered; raise data.max_prompt_length "
                                      f"(more than {max_filtered:.0%} of the data would be lost)")
    else:
        action = "would be filtered" if filtering else f"would be truncated ({config.data.get('truncation')})"
        report.ok("prompt lengths", summary + (f", {action}" if over else ""))


# ---------------------------------------------------------------------------------------------
# Reward


def _render_reply(fmt_name: str, verdict: str, strength) -> str:
    from thinkj_verl.formats import get_format

    fmt = get_format(fmt_name)
    score_a, score_b = (80, 20) if verdict == "a" else (20, 80)
    ending = fmt.render(verdict=verdict, strength=strength or 2, score_a=score_a, score_b=score_b)
    return f"<think>Checking both responses against the question.</think>\n\n{ending}"


def _one_sample_batch(tokenizer, item, reply: str):
    """A one-row DataProto shaped like the agent loop's output: prompt, reply + end of sequence."""
    import numpy as np
    import torch
    from verl import DataProto

    prompt_ids = tokenizer.apply_chat_template(list(item["raw_prompt"]), add_generation_prompt=True, tokenize=True)
    if hasattr(prompt_ids, "keys"):
        prompt_ids = prompt_ids["input_ids"]
    reply_ids = tokenizer.encode(reply, add_special_tokens=False) + [tokenizer.eos_token_id]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    response_length = len(reply_ids) + 4
    responses = torch.tensor([reply_ids + [pad] * 4])
    prompts = torch.tensor([list(prompt_ids)])
    mask = torch.tensor([[1] * len(prompt_ids) + [1] * len(reply_ids) + [0] * (response_length - len(reply_ids))])
    return DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": responses,
            "input_ids": torch.cat([prompts, responses], dim=1),
            "attention_mask": mask,
        },
        non_tensors={
            "data_source": np.array([item["data_source"]], dtype=object),
            "reward_model": np.array([item["reward_model"]], dtype=object),
            "extra_info": np.array([dict(item.get("extra_info") or {})], dtype=object),
        },
    )


def check_reward(report: Report, config, tokenizer, items) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn, load_reward_manager

    from thinkj_verl.ground_truth import GroundTruthError, parse_ground_truth

    try:
        with _quiet():
            manager = load_reward_manager(config, tokenizer)
            function = get_custom_reward_fn(config)
    except Exception as exc:
        report.fail("reward manager + function", f"{_error(exc)}; check reward.reward_manager.* and reward.custom_reward_function.*")
        return
    fmt, source = _reward_format(config)
    report.ok("reward manager + function",
              f"{type(manager).__name__} ({config.reward.reward_manager.name}), "
              f"{config.reward.custom_reward_function.get('path') or 'default'}, format {fmt!r} from {source}")
    score = function or manager.compute_score

    def run(item, reply):
        result = manager.loop.run_until_complete(manager.run_single(_one_sample_batch(tokenizer, item, reply)))
        return result["reward_score"], result["reward_extra_info"]

    problems, scored = [], 0
    for index, item in enumerate(items):
        try:
            label = parse_ground_truth(item["reward_model"]["ground_truth"], fmt)
        except (GroundTruthError, KeyError, TypeError) as exc:
            problems.append(f"sampled row {index}: bad label: {exc}")
            continue
        right_text = _render_reply(fmt, label.better, label.strength)
        wrong_text = _render_reply(fmt, "b" if label.better == "a" else "a", label.strength)
        try:
            right, right_info = run(item, right_text)
            wrong, _ = run(item, wrong_text)
            expected = score(data_source=item["data_source"], solution_str=right_text,
                             ground_truth=item["reward_model"]["ground_truth"], extra_info={})
        except Exception as exc:
            problems.append(f"sampled row {index}: {_error(exc)}")
            continue
        expected = float(expected["score"] if isinstance(expected, dict) else expected)
        scored += 1
        if right_info.get("reward_error"):
            problems.append(f"sampled row {index}: the reward function raised inside the manager")
        elif not math.isclose(right, expected, rel_tol=1e-6, abs_tol=1e-9):
            problems.append(
                f"sampled row {index}: the right verdict scored {right} through the manager but {expected} "
                "directly (is the reply mangled by the tokenizer round trip?)"
            )
        elif not right > wrong:
            problems.append(f"sampled row {index}: the right verdict scored {right}, the flipped one {wrong}: "
                            "not lower; does the reward function read this label?")
    if problems:
        report.fail("reward scores known labels", "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""))
    elif scored:
        report.ok("reward scores known labels", f"{scored} row(s): the right verdict scores through the manager as the function scores it directly, the flipped verdict lower")
    else:
        report.skip("reward scores known labels", "no training rows to score")


# ---------------------------------------------------------------------------------------------
# Cluster


def cluster_gpu_problem(nodes: list[dict], nnodes: int, per_node: int) -> tuple[bool, str]:
    """(enough?, detail) for ``ray.nodes()`` entries: ``nnodes`` alive nodes with ``per_node`` GPUs each.

    >>> cluster_gpu_problem([{"Alive": True, "Resources": {"GPU": 8.0}, "NodeManagerAddress": "10.0.0.1"}], 2, 8)
    (False, '1 alive node(s) with 8 GPUs in total (10.0.0.1: 8); the config needs 2 x 8 = 16: start ray on the missing node(s) (examples/ray_start_worker.sh) and check every GPU is visible')
    """
    alive = [n for n in nodes if n.get("Alive")]
    gpus = [(n.get("NodeManagerAddress", "?"), int(n.get("Resources", {}).get("GPU", 0))) for n in alive]
    total = sum(g for _, g in gpus)
    full_nodes = sum(1 for _, g in gpus if g >= per_node)
    detail = (f"{len(alive)} alive node(s) with {total} GPUs in total "
              f"({', '.join(f'{address}: {g}' for address, g in gpus)})")
    need = nnodes * per_node
    if total >= need and full_nodes >= nnodes:
        return True, f"{detail}; the config needs {nnodes} x {per_node} = {need}"
    return False, (f"{detail}; the config needs {nnodes} x {per_node} = {need}: start ray on the missing "
                   "node(s) (examples/ray_start_worker.sh) and check every GPU is visible")


def check_cluster(report: Report, config, address: str) -> None:
    """Thin: connect, read the node table, disconnect (needs a running cluster)."""
    try:
        import ray

        with _quiet():
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            try:
                nodes = ray.nodes()
            finally:
                ray.shutdown()
    except Exception as exc:
        report.fail("ray cluster", f"{address}: {_error(exc)}; start the head (examples/ray_start_head.sh) and pass its ip:port")
        return
    enough, detail = cluster_gpu_problem(nodes, int(config.trainer.nnodes), int(config.trainer.n_gpus_per_node))
    (report.ok if enough else report.fail)("ray cluster GPUs", detail)


# ---------------------------------------------------------------------------------------------


def run_checks(overrides: list[str], ray_address: str | None = None, sample_rows: int = DEFAULT_SAMPLE_ROWS,
               score_rows: int = DEFAULT_SCORE_ROWS, max_filtered: float = DEFAULT_MAX_FILTERED,
               gpu_memory: float = memory_plan.DEFAULT_GPU_GIB) -> Report:
    """Every check, in order; later checks that need an earlier result are skipped with the reason."""
    report = Report()
    config = check_config(report, overrides)
    if config is None:
        return report
    check_verl_validation(report, config)
    check_legacy_keys(report, config)
    check_logger(report, config)
    check_batches(report, config)
    tokenizer = check_model(report, config)
    if tokenizer is not None:  # the per-GPU memory plan, from config.json (thinkj_verl/memory_plan.py)
        for row in memory_plan.preflight_rows(config, gpu_memory):
            report.add(*row)
    files_ok = check_data_files(report, config)
    if files_ok:
        check_labels(report, config)
    check_format_match(report, config)
    items = None
    if tokenizer is None or not files_ok:
        reason = "needs the tokenizer (see model + tokenizer)" if tokenizer is None else "needs the data files"
        report.skip("prompt lengths", reason)
        report.skip("reward scores known labels", reason)
    else:
        try:
            items = load_sample(config, tokenizer, sample_rows)
        except Exception as exc:
            report.fail("dataset loads", f"{_error(exc)}; the dataset class could not read data.train_files")
        if items == []:
            report.fail("dataset loads", "data.train_files hold no rows")
        elif items:
            check_prompt_lengths(report, config, tokenizer, items, max_filtered)
            check_reward(report, config, tokenizer, items[:score_rows])
    if ray_address:
        check_cluster(report, config, ray_address)
    return report


def build_parser() -> argparse.ArgumentParser:
    from thinkj_verl import argtypes

    parser = argparse.ArgumentParser(
        prog="thinkj preflight",
        description="Check a main_ppo launch on CPU: config, batch arithmetic, model, data, reward, cluster.",
    )
    parser.add_argument("overrides", nargs="*", help="main_ppo overrides, e.g. +recipe=thinkj_grpo data.train_files=...")
    parser.add_argument("--list-recipes", action="store_true", help="list the recipes +recipe= accepts, and exit")
    parser.add_argument("--ray-address", help="ip:port of a running Ray head: check its alive nodes and GPUs")
    parser.add_argument("--sample-rows", type=int, default=DEFAULT_SAMPLE_ROWS,
                        help=f"training rows sampled for prompt lengths (default {DEFAULT_SAMPLE_ROWS})")
    parser.add_argument("--score-rows", type=int, default=DEFAULT_SCORE_ROWS,
                        help=f"of those, rows scored through the reward manager (default {DEFAULT_SCORE_ROWS})")
    parser.add_argument("--max-filtered", type=argtypes.fraction, default=DEFAULT_MAX_FILTERED,
                        help="fail when more than this share of prompts would be filtered as too long "
                             f"(default {DEFAULT_MAX_FILTERED})")
    parser.add_argument("--gpu-memory", type=float, default=memory_plan.DEFAULT_GPU_GIB, metavar="GIB",
                        help=f"memory of one GPU in GiB for the memory plan (default {memory_plan.DEFAULT_GPU_GIB:g})")
    return parser


def recipe_summaries() -> list[tuple[str, str]]:
    """(name, first line of its header comment) for every recipe, from the one recipes folder.

    >>> dict(recipe_summaries())["thinkj_grpo"].startswith("Think-J online RL with GRPO")
    True
    """
    from thinkj_verl.hydra_recipes import RECIPE_GROUP, recipe_names, recipes_dir

    summaries = []
    for name in recipe_names():
        lines = (recipes_dir() / RECIPE_GROUP / f"{name}.yaml").read_text().splitlines()
        comments = [line.lstrip("# ").strip() for line in lines if line.startswith("#") and "@package" not in line]
        summaries.append((name, next((c for c in comments if c), "")))
    return summaries


def main(argv: list[str]) -> int:
    # Options may sit anywhere among the overrides, as on a main_ppo command line.
    args = build_parser().parse_intermixed_args(argv)
    if args.list_recipes:
        from thinkj_verl.hydra_recipes import recipes_dir

        summaries = recipe_summaries()
        width = max(len(name) for name, _ in summaries)
        print(f"recipes in {recipes_dir()} (use as +recipe=NAME):")
        for name, summary in summaries:
            print(f"  {name:<{width}}  {summary}")
        return 0
    if args.sample_rows < 1 or args.score_rows < 0:
        print("thinkj preflight: --sample-rows must be >= 1 and --score-rows >= 0", file=sys.stderr)
        return 2
    if not (math.isfinite(args.gpu_memory) and args.gpu_memory > 0):
        print(f"thinkj preflight: --gpu-memory must be a positive number of GiB, got {args.gpu_memory}", file=sys.stderr)
        return 2
    report = run_checks(args.overrides, args.ray_address, args.sample_rows, args.score_rows, args.max_filtered,
                        args.gpu_memory)
    print(report.table())
    return 1 if report.failed else 0
