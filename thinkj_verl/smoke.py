"""``thinkj smoke``: the user's own ``main_ppo`` launch, rehearsed for a few steps on this CPU.

    thinkj smoke +recipe=thinkj_grpo data.train_files=T data.val_files=V \\
        actor_rollout_ref.model.path=MODEL [--steps 2] [--out DIR] [any override]

It runs verl's real ``python -m verl.trainer.main_ppo`` with the same overrides, on the CPU
backend (``VERL_PLATFORM=cpu`` and ``+platform=cpu``), with a small randomly initialised model
built from MODEL's own config: same architecture, same tokenizer and chat template, two layers
of small width. So the user's tokenizer, data files, prompt lengths, dataset class and reward
path all run before a cluster hour is spent. MODEL must be a local folder (or in the local
cache): nothing is downloaded.

It prints one table (steps, step time, reward, acc/format/truncation, the reward components,
the checkpoint folder) and the GPU command to run next, and exits 1 with the trainer's own
error when the run fails. What it cannot tell: GPU memory, vLLM, speed at scale.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from omegaconf import OmegaConf

DEFAULT_STEPS = 2
DEFAULT_TIMEOUT_S = 1800
# The model paths a launch may name; each is replaced by a small copy of its own architecture.
MODEL_KEYS = ("actor_rollout_ref.model.path", "critic.model.path", "reward.reward_model.model_path")
SMALL = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
         "num_key_value_heads": 2}


class SmokeError(RuntimeError):
    """A problem with the smoke command's own input (not the trainer's)."""


def _override_value(overrides: list[str], key: str) -> str | None:
    value = None
    for item in overrides:
        name, sep, rest = item.lstrip("+~").partition("=")
        if sep and name == key:
            value = rest
    return value


DATA_KEYS = ("data.train_files", "data.val_files")


def missing_data_files(overrides: list[str]) -> list[str]:
    """``KEY: PATH`` for each local data file the launch names that does not exist (a URL such as
    ``hdfs://...`` is left to verl), so smoke stops in a second instead of after Ray's start.

    >>> missing_data_files(["data.train_files=[/no/a.parquet,/no/b.parquet]", "data.val_files=hdfs://x/v"])
    ['data.train_files: /no/a.parquet', 'data.train_files: /no/b.parquet']
    """
    missing = []
    for key in DATA_KEYS:
        value = _override_value(overrides, key)
        if value in (None, "", "null"):
            continue
        paths = [p.strip().strip("'\"") for p in value.strip().strip("[]").split(",")]
        missing += [f"{key}: {path}" for path in paths if path and "://" not in path and not Path(path).exists()]
    return missing


def small_model(source: str, target: Path) -> Path:
    """Save a 2-layer random copy of ``source``'s architecture, with its tokenizer, to ``target``."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    if not Path(source).is_dir():
        os.environ["HF_HUB_OFFLINE"] = "1"  # a hub id only works when already in the local cache
    try:
        config = AutoConfig.from_pretrained(source)
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise SmokeError(
            f"model {source!r}: cannot read its config.json and tokenizer ({error}); "
            "give a local model folder (nothing is downloaded)"
        ) from error
    for key, value in SMALL.items():
        if hasattr(config, key):
            setattr(config, key, value)
    if hasattr(config, "head_dim"):
        config.head_dim = SMALL["hidden_size"] // SMALL["num_attention_heads"]
    if getattr(config, "layer_types", None):
        config.layer_types = list(config.layer_types)[: SMALL["num_hidden_layers"]]
    if hasattr(config, "max_window_layers"):
        config.max_window_layers = SMALL["num_hidden_layers"]
    config.vocab_size = max(int(getattr(config, "vocab_size", 0) or 0), len(tokenizer))
    model = AutoModelForCausalLM.from_config(config)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    try:
        GenerationConfig.from_pretrained(source).save_pretrained(target)
    except OSError:
        pass  # no generation_config.json: the model's defaults stand
    return target


def platform_overrides() -> list[str]:
    """The ``+platform=cpu`` values as explicit overrides, to win over the user's cluster values.

    The command also loads ``+platform=cpu`` itself, so every key here exists in the tree.
    """
    from thinkj_verl.hydra_recipes import recipes_dir

    overlay = OmegaConf.load(recipes_dir() / "platform" / "cpu.yaml")
    flat = []

    def walk(node, prefix):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, f"{path}.")
            else:
                flat.append(f"{path}={json.dumps(value) if isinstance(value, list) else value}")

    walk(OmegaConf.to_container(overlay), "")
    return flat


def build_command(overrides: list[str], small: dict[str, str], steps: int, out: Path) -> list[str]:
    forced = [item for item in platform_overrides() if not item.startswith("trainer.logger=")]
    forced += [f"{key}={path}" for key, path in small.items()]
    forced += [
        f"trainer.total_training_steps={steps}",
        f"trainer.save_freq={steps}",
        f"trainer.test_freq={steps}",
        f"trainer.default_local_dir={out / 'checkpoints'}",
        "trainer.logger=[console,file]",
        f"hydra.run.dir={out / 'hydra'}",
    ]
    return [sys.executable, "-m", "verl.trainer.main_ppo", *overrides, "+platform=cpu", *forced]


def child_environment(out: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)  # a private Ray on this machine, never the user's cluster
    env.update(
        VERL_PLATFORM="cpu",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"),
        VERL_FILE_LOGGER_PATH=str(out / "metrics.jsonl"),
    )
    return env


def read_metrics(path: Path) -> list[dict]:
    """verl's ``file`` logger lines: ``{"step": N, "data": {...}}`` -> one dict per step."""
    if not path.is_file():
        return []
    steps = []
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            steps.append({"step": record["step"], **record["data"]})
    return steps


def _first(record: dict, suffix: str, prefix: str = "val-"):
    for key, value in record.items():
        if key.startswith(prefix) and key.split("/")[-2:-1] == [suffix]:
            return value
    return None


def summary_rows(steps: list[dict], checkpoint_dir: Path) -> list[tuple[str, str]]:
    """The table's rows from the per-step metrics (the last step's validation for the components)."""
    rows = [("steps run", str(len(steps)))]
    if not steps:
        return rows
    last = steps[-1]
    step_times = [s["timing_s/step"] for s in steps if "timing_s/step" in s]
    if step_times:
        rows.append(("step time (s), first / last", f"{step_times[0]:.1f} / {step_times[-1]:.1f}"))
    rewards = [f"{s['critic/score/mean']:.3f}" for s in steps if "critic/score/mean" in s]
    rows.append(("reward mean per step", " ".join(rewards) or "-"))
    diagnostics = sorted(key for key in last if key.startswith("judge/"))
    for key in diagnostics:
        rows.append((key, f"{last[key]:.3f}"))
    validation = {}
    for key, value in last.items():
        if key.startswith("val-") and "/mean@" in key:
            component = key.split("/")[-2]
            validation.setdefault(component, value)
    for component in ("acc", "format", "truncated", "reward_error"):
        if component in validation:
            rows.append((f"validation {component} rate", f"{validation.pop(component):.3f}"))
    for component, value in sorted(validation.items()):
        rows.append((f"validation {component}", f"{value:.3f}"))
    saved = sorted(checkpoint_dir.glob("global_step_*")) if checkpoint_dir.is_dir() else []
    rows.append(("checkpoint", str(saved[-1]) if saved else "none written"))
    return rows


def format_table(rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ACTOR_PREFIX = re.compile(r"^\((?:[\w:.]+) pid=\d+[^)]*\)\s*")
_ERROR_LINE = re.compile(r"^[\w.]*(?:Error|Exception)\w*(?:\([\w.]+\))?: \S")


def trainer_error(log: str, causes: int = 4) -> str:
    """The trainer's own error out of its log: the distinct exception lines raised anywhere (a
    Ray actor's error is often the cause, the driver's the consequence), first seen first, then
    the driver's final error.

    >>> print(trainer_error("(RewardLoopWorker pid=7) ValueError: bad weight\\nRuntimeError: replay failed"))
    ValueError: bad weight
    RuntimeError: replay failed
    """
    found: list[str] = []
    for raw in log.splitlines():
        line = _ACTOR_PREFIX.sub("", _ANSI.sub("", raw)).strip()
        if _ERROR_LINE.match(line) and not line.startswith("ray.exceptions.") and line not in found:
            found.append(line)
    if not found:
        return "\n".join(log.splitlines()[-20:])
    return "\n".join([*found[:causes], *([found[-1]] if len(found) > causes else [])])


def run_process_group(command: list[str], env: dict, log, timeout: float | None) -> int | None:
    """Run ``command`` in its own process group; the exit code, or None when it timed out.

    On a timeout or an interrupt the whole group is stopped: main_ppo and the Ray it started.
    """
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        return None
    except BaseException:
        _stop_group(process)
        raise


def _stop_group(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thinkj smoke",
        description="Run a main_ppo launch for a few real steps on this CPU, on a small copy of the model.",
        epilog="Every other argument is a Hydra override of main_ppo, exactly as on the cluster.",
    )
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="training steps to run (default 2)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the small model, log, metrics, checkpoint")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds before the run is stopped as hung (default {DEFAULT_TIMEOUT_S})")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args, overrides = parser.parse_known_args(argv)
    unknown = [item for item in overrides if item.startswith("--")]
    if unknown:
        parser.error(f"unknown option(s) {unknown}; overrides look like key=value or +key=value")
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if _override_value(overrides, "actor_rollout_ref.model.path") is None:
        parser.error("name the model: actor_rollout_ref.model.path=MODEL (a local folder)")
    missing = missing_data_files(overrides)
    if missing:
        print(f"thinkj smoke: no such data file ({'; '.join(missing)}); give local parquet files "
              "(`thinkj prepare` writes pairs_train.parquet and pairs_val.parquet)", file=sys.stderr)
        return 2
    out = (args.out or Path(tempfile.mkdtemp(prefix="thinkj-smoke-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        small = {}
        built: dict[str, str] = {}
        for key in MODEL_KEYS:
            source = _override_value(overrides, key)
            if source in (None, "", "null"):
                continue
            if source not in built:
                built[source] = str(small_model(source, out / f"small_model_{len(built)}"))
            small[key] = built[source]
    except SmokeError as error:
        print(f"thinkj smoke: {error}", file=sys.stderr)
        return 2
    command = build_command(overrides, small, args.steps, out)
    log_path = out / "main_ppo.log"
    print(f"thinkj smoke: {args.steps} step(s) of verl's main_ppo on this CPU; log: {log_path}", flush=True)
    with open(log_path, "w") as log:
        returncode = run_process_group(command, child_environment(out), log, args.timeout)
    steps = read_metrics(out / "metrics.jsonl")
    if returncode != 0 or len(steps) < args.steps:
        how = f"timed out after {args.timeout:.0f} s" if returncode is None else f"exit {returncode}"
        print(f"thinkj smoke: main_ppo FAILED ({how}) after {len(steps)} step(s). Its error:", file=sys.stderr)
        print(trainer_error(log_path.read_text(errors="replace")), file=sys.stderr)
        print(f"full log: {log_path}", file=sys.stderr)
        return 1
    print(format_table(summary_rows(steps, out / "checkpoints")))
    print("\nOn the GPU cluster, run next:")
    print("  python -m verl.trainer.main_ppo " + " ".join(shlex.quote(item) for item in overrides))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
