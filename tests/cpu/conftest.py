"""Fixtures for runs of verl's real ``main_ppo`` on the CPU backend.

Each run takes a minute or two on 2 cores, so a run is a module- or session-scoped fixture and
several tests read its exit code, log, per-step metrics (verl's own ``file`` logger) and
checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from thinkj_verl.smoke import run_process_group

DEMO_DATA = Path(__file__).resolve().parents[2] / "thinkj_verl" / "demo_data"
RUN_TIMEOUT_S = 900


@dataclass
class Run:
    returncode: int
    log: str
    steps: list[dict]
    out: Path

    def metric(self, step: int, key: str):
        return self.steps[step - 1][key]

    def val(self, component: str) -> float:
        """The last step's validation mean of a reward component (``val-*/<source>/<component>/mean@1``)."""
        values = [v for k, v in self.steps[-1].items() if k.startswith("val-") and k.split("/")[-2] == component]
        assert values, f"no validation metric for {component!r}: {sorted(self.steps[-1])}"
        return values[0]


def cpu_env(out: Path) -> dict:
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    env.update(
        VERL_PLATFORM="cpu",
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
        RAY_AUTH_MODE="disabled",
        VERL_FILE_LOGGER_PATH=str(out / "metrics.jsonl"),
    )
    return env


def read_steps(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [{"step": r["step"], **r["data"]} for r in map(json.loads, path.read_text().splitlines()) if r]


def run_main_ppo(out: Path, overrides: list[str], env: dict | None = None) -> Run:
    """``python -m verl.trainer.main_ppo OVERRIDES`` on the CPU backend, logging to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "verl.trainer.main_ppo", *overrides,
        "trainer.logger=[console,file]", f"trainer.default_local_dir={out / 'checkpoints'}",
        f"hydra.run.dir={out / 'hydra'}",
    ]
    with open(out / "main_ppo.log", "w") as log_file:
        returncode = run_process_group(command, {**cpu_env(out), **(env or {})}, log_file, RUN_TIMEOUT_S)
    log = (out / "main_ppo.log").read_text(errors="replace")
    assert returncode is not None, f"main_ppo hung for {RUN_TIMEOUT_S} s and was stopped; log tail:\n{log[-3000:]}"
    return Run(returncode, log, read_steps(out / "metrics.jsonl"), out)


@pytest.fixture(scope="session")
def judge_pairs(tmp_path_factory) -> dict[str, str]:
    """The shipped HelpSteer2-Preference sample through ``thinkj prepare``: canonical pair files."""
    from thinkj_verl.data.prepare import main as prepare

    out = tmp_path_factory.mktemp("pairs")
    code = prepare(["--source", "helpsteer2", "--input", str(DEMO_DATA / "helpsteer2_preference_sample.jsonl"),
                    "--out", str(out), "--val-fraction", "0.25", "--seed", "0"])
    assert code == 0
    return {"train": str(out / "pairs_train.parquet"), "val": str(out / "pairs_val.parquet")}


def built_once(tmp_path_factory, name: str, build) -> Path:
    """``build(folder)`` once for the whole test run. Under pytest-xdist the first worker to ask
    builds into the run's shared temporary folder, under a file lock, and the other waits and
    reads that copy: a build is CPU time the two workers would otherwise both spend."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.mktemp(name)
        build(path)
        return path
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent
    path = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (path / ".built").is_file():
            shutil.rmtree(path, ignore_errors=True)  # left half-built by a worker whose build failed
            path.mkdir()
            build(path)
            (path / ".built").touch()
    return path


@pytest.fixture(scope="session")
def format_judge(tmp_path_factory, judge_pairs) -> str:
    """A tiny judge taught (seconds of plain next-token training) to end its reply with the
    strength format's final sentence, picking (a) or (b) at random: so GRPO groups get both
    right and wrong verdicts, their advantages are not all zero, and the weights move. Built
    once per test run (``built_once``).

    It trains until the reply is learnt (every one of the last 20 losses under 0.035 nats per
    token; the coin-flip verdict alone costs ln 2 / 25 = 0.028), not for a fixed number of steps:
    60 fixed steps left a loss near 0.1, and on another CPU the judge sampled no parsable reply
    at all in a training step. The fixture checks what the tests rely on: sampled replies parse."""
    return str(built_once(tmp_path_factory, "format_judge", lambda path: _teach_format_judge(path, judge_pairs["train"])))


def _teach_format_judge(path: Path, pairs_file: str) -> None:
    import torch

    from thinkj_verl.data.pairs import read_pairs
    from thinkj_verl.formats import get_format
    from thinkj_verl.parser import parse_judgment
    from thinkj_verl.prompts import judge_messages
    from thinkj_verl.tiny import build_tiny_model, build_tiny_tokenizer

    pairs = read_pairs(pairs_file)
    prompts = [judge_messages(pair, "strength", order)[0]["content"] for pair in pairs for order in ("ab", "ba")]
    tokenizer = build_tiny_tokenizer(vocab_size=1024, extra_text=prompts)
    model = build_tiny_model(tokenizer, seed=0)
    replies = [f"<think>ok</think>{get_format('strength').render(verdict=v, strength=2)}" for v in "ab"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    torch.manual_seed(0)
    losses: list[float] = []
    for step in range(800):
        chat = [{"role": "user", "content": prompts[step % len(prompts)]}]
        prompt = tokenizer(tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False))["input_ids"]
        reply = tokenizer(replies[step % 2])["input_ids"] + [tokenizer.eos_token_id]
        loss = model(input_ids=torch.tensor([prompt + reply]), labels=torch.tensor([[-100] * len(prompt) + reply])).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses = (losses + [loss.item()])[-20:]
        if len(losses) == 20 and max(losses) < 0.035:
            break
    assert max(losses) < 0.035, f"the format judge did not learn its reply in {step + 1} steps: last losses {losses}"
    model.eval()
    torch.manual_seed(1)
    verdicts = []
    for prompt_text in prompts[:16]:
        chat = [{"role": "user", "content": prompt_text}]
        ids = tokenizer(tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False),
                        return_tensors="pt")
        sample = model.generate(**ids, do_sample=True, temperature=1.0, max_new_tokens=64,
                                pad_token_id=tokenizer.eos_token_id)
        reply_text = tokenizer.decode(sample[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        verdicts.append(parse_judgment(reply_text, "strength").verdict)
    # temperature-1 sampling from a tiny model still strays now and then (13 of 16 parse here)
    assert verdicts.count("a") + verdicts.count("b") >= 10 and {"a", "b"} <= set(verdicts), (
        f"the format judge's sampled verdicts {verdicts} (after {step + 1} steps, last loss {losses[-1]:.3f})"
    )
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
