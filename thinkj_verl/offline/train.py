"""``thinkj train sft|dpo|bt``: offline judge training with trl, from a recipe.

A recipe (``recipes/offline/<name>.yaml``) names the method, the model, the data and the
output directory, the global batch, and under ``trl:`` the keyword arguments of trl's config
class that the paper sets (Table 10); everything else stays trl's default. ``key=value``
arguments after the recipe override it, OmegaConf dot-list style, as with the online recipes:

    thinkj train dpo --config recipes/offline/dpo.yaml model=out/sft train_files=out/pairs/dpo.jsonl \\
        output_dir=out/dpo trl.num_train_epochs=1

- ``sft``: trl ``SFTTrainer`` on ``messages`` rows, loss on the assistant turns only (thinking
  initialization of the judge, and of the critic on critic-formatted rows).
- ``dpo``: trl ``DPOTrainer`` with ``loss_type=["sigmoid", "sft"]``: DPO plus the NLL of the
  chosen judgment (the paper's critic-guided offline learning).
- ``bt``: trl ``RewardTrainer``, the Bradley-Terry classifier baseline.

The global batch is kept on any number of devices: gradient accumulation = ``batch.global_size``
/ (``batch.per_device`` x processes), the process count read from the launcher (``WORLD_SIZE``).
On a CPU add `CPU_OVERRIDES` (fp32 weights; bf16, gradient checkpointing and flash attention off).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

# The offline recipes are found as every recipe is: the package thinkj_verl.recipes.
from thinkj_verl.hydra_recipes import offline_recipes_dir as recipes_dir

METHODS = ("sft", "dpo", "bt")

# What each method's rows must carry (trl's conversational formats).
REQUIRED_COLUMNS = {
    "sft": ("messages",),
    "dpo": ("prompt", "chosen", "rejected"),
    "bt": ("chosen", "rejected"),
}

# A CPU has no bf16 matmuls worth the name, no flash attention, and nothing to gain from
# recomputing activations of a small model: the tests and `make demo` run with these.
CPU_OVERRIDES = (
    "trl.bf16=false",
    "trl.model_init_kwargs.dtype=float32",
    "trl.gradient_checkpointing=false",
    "trl.model_init_kwargs.attn_implementation=sdpa",
    "trl.report_to=none",
)


def resolve_recipe(config: str | None, method: str) -> Path:
    """A recipe path from ``--config``: a file path, or a name under `recipes_dir()`.

    >>> resolve_recipe(None, "dpo").name
    'dpo.yaml'
    """
    if config is None:
        config = method
    path = Path(config)
    if path.is_file():
        return path
    named = recipes_dir() / (config if config.endswith(".yaml") else f"{config}.yaml")
    if named.is_file():
        return named
    known = sorted(p.stem for p in recipes_dir().glob("*.yaml")) if recipes_dir().is_dir() else []
    raise FileNotFoundError(
        f"recipe {config!r} is neither a file nor one of the offline recipes {known}; "
        "pass --config PATH/TO/RECIPE.yaml"
    )


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()):
    """The recipe at ``path`` with ``key=value`` overrides merged in (OmegaConf dot-list).

    >>> cfg = load_recipe(resolve_recipe("sft", "sft"), ["trl.learning_rate=1e-5"])
    >>> (cfg.method, cfg.trl.learning_rate, cfg.batch.global_size)
    ('sft', 1e-05, 64)
    """
    from omegaconf import OmegaConf

    recipe = OmegaConf.load(path)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not key=value (e.g. trl.learning_rate=1e-5)")
    if overrides:
        recipe = OmegaConf.merge(recipe, OmegaConf.from_dotlist(list(overrides)))
    return recipe


def gradient_accumulation(global_size: int, per_device: int, world_size: int) -> int:
    """Accumulation steps that keep ``global_size`` examples per optimizer step.

    >>> gradient_accumulation(64, 8, 8), gradient_accumulation(64, 4, 2)
    (1, 8)
    """
    per_step = per_device * world_size
    if global_size % per_step:
        raise ValueError(
            f"batch.global_size={global_size} is not a multiple of batch.per_device={per_device} x "
            f"{world_size} processes; change batch.per_device or the number of processes"
        )
    return global_size // per_step


@dataclass
class TrainResult:
    """What a run did: where the model went and the training losses it logged."""

    method: str
    output_dir: str
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    log_history: list[dict] = field(default_factory=list)


def load_rows(files, method: str):
    """The training rows as a `datasets.Dataset`, checked for the columns ``method`` needs."""
    from datasets import load_dataset

    paths = [str(files)] if isinstance(files, (str, Path)) else [str(f) for f in files]
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"train_files: {path} does not exist")
    suffixes = {Path(p).suffix for p in paths}
    if len(suffixes) != 1 or suffixes - {".jsonl", ".json", ".parquet"}:
        raise ValueError(f"train_files {paths}: use .jsonl, .json or .parquet files, all of one kind")
    builder = "parquet" if suffixes == {".parquet"} else "json"
    try:
        rows = load_dataset(builder, data_files=paths, split="train")
    except Exception as error:  # datasets' errors name neither the file nor the line
        cause = error.__cause__ or error.__context__ or error
        raise ValueError(f"train_files {paths}: not readable as {builder} rows ({type(cause).__name__}: "
                         f"{str(cause).splitlines()[0] if str(cause) else ''}); fix or regenerate the file") from None
    missing = [c for c in REQUIRED_COLUMNS[method] if c not in rows.column_names]
    if missing:
        raise ValueError(
            f"train_files {paths}: {method} needs columns {list(REQUIRED_COLUMNS[method])}, "
            f"missing {missing} (have {rows.column_names}); `thinkj clip`/`thinkj select` write "
            "sft rows, `thinkj pairs` writes dpo and bt rows"
        )
    if len(rows) == 0:
        raise ValueError(f"train_files {paths}: no rows")
    return rows.select_columns([c for c in _keep_columns(method) if c in rows.column_names])


def _keep_columns(method: str) -> tuple[str, ...]:
    # Extra columns (ids, provenance) would reach trl's collators; keep what each trainer reads.
    return REQUIRED_COLUMNS[method] + (("prompt",) if method == "bt" else ())


def _trl_config(method: str, recipe, world_size: int):
    from omegaconf import OmegaConf

    import trl

    config_cls = {"sft": trl.SFTConfig, "dpo": trl.DPOConfig, "bt": trl.RewardConfig}[method]
    kwargs = OmegaConf.to_container(recipe.trl, resolve=True) if "trl" in recipe else {}
    kwargs["per_device_train_batch_size"] = int(recipe.batch.per_device)
    kwargs["gradient_accumulation_steps"] = gradient_accumulation(
        int(recipe.batch.global_size), int(recipe.batch.per_device), world_size
    )
    kwargs["output_dir"] = str(recipe.output_dir)
    try:
        return config_cls(**kwargs)
    except TypeError as error:
        raise ValueError(f"recipe key under trl: is not a {config_cls.__name__} argument: {error}") from None


def train(recipe) -> TrainResult:
    """Run the recipe (an OmegaConf node from `load_recipe`) and save the model to its output_dir.

    >>> # train(load_recipe(resolve_recipe("dpo", "dpo"), ["model=judge", "train_files=dpo.jsonl",
    >>> #       "output_dir=out", *CPU_OVERRIDES]))
    """
    from omegaconf import OmegaConf

    method = recipe.get("method")
    if method not in METHODS:
        raise ValueError(f"recipe method {method!r} is not one of {METHODS}")
    missing = [k for k in ("model", "train_files", "output_dir") if OmegaConf.is_missing(recipe, k)]
    if missing:
        raise ValueError(f"recipe needs {', '.join(missing)}: add {' '.join(k + '=...' for k in missing)}")
    from transformers import AutoTokenizer

    import trl

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    args = _trl_config(method, recipe, world_size)
    rows = load_rows(OmegaConf.to_container(recipe, resolve=True)["train_files"], method)
    model_path = str(recipe.model)
    if not Path(model_path).exists() and os.environ.get("HF_HUB_OFFLINE") == "1":
        raise FileNotFoundError(f"model: {model_path} is not a local directory and HF_HUB_OFFLINE=1")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    trainer_cls = {"sft": trl.SFTTrainer, "dpo": trl.DPOTrainer, "bt": trl.RewardTrainer}[method]
    trainer = trainer_cls(model=model_path, args=args, train_dataset=rows, processing_class=tokenizer)
    trainer.train()
    trainer.save_model(args.output_dir)
    tokenizer.save_pretrained(args.output_dir)
    history = list(trainer.state.log_history)
    losses = [entry["loss"] for entry in history if "loss" in entry]
    return TrainResult(method, args.output_dir, losses, trainer.state.global_step, history)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="thinkj train",
        description="Offline judge training with trl (SFT, DPO + SFT, Bradley-Terry) from a recipe.",
    )
    parser.add_argument("method", choices=METHODS)
    parser.add_argument(
        "--config", help="recipe file or name under recipes/offline (default: the method's recipe)"
    )
    parser.add_argument("--cpu", action="store_true", help="add the CPU overrides: " + " ".join(CPU_OVERRIDES))
    parser.add_argument("overrides", nargs="*", help="key=value recipe overrides, e.g. trl.learning_rate=1e-5")
    options = parser.parse_intermixed_args(argv)
    try:
        recipe = load_recipe(
            resolve_recipe(options.config, options.method),
            [*(CPU_OVERRIDES if options.cpu else ()), *options.overrides],
        )
        if recipe.get("method") != options.method:
            raise ValueError(f"recipe {options.config} is for {recipe.get('method')!r}, not {options.method!r}")
        result = train(recipe)
    except (FileNotFoundError, ValueError) as error:
        print(f"thinkj train: {error}", file=sys.stderr)
        return 2
    first = f"{result.losses[0]:.4f}" if result.losses else "n/a"
    last = f"{result.losses[-1]:.4f}" if result.losses else "n/a"
    print(f"{result.method}: {result.steps} steps, loss {first} -> {last}; model saved to {result.output_dir}")
    return 0
