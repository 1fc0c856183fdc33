"""The launch scripts in examples/: early, clear failures, and the Ray commands they really run.

A stand-in ``ray`` executable first on PATH records its arguments to a file instead of touching
a cluster, so the tests see exactly what a script would have run, or that it ran nothing.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SUBMIT_VARS = {
    "RAY_ADDRESS": "http://10.0.0.1:8265",
    "MODEL_PATH": "/shared/judge",
    "TRAIN_FILES": "/shared/pairs/train.jsonl",
    "VAL_FILES": "/shared/pairs/val.jsonl",
}
REQUIRED = {
    "ray_start_head.sh": {"HEAD_IP": "10.0.0.1"},
    "ray_start_worker.sh": {"HEAD_ADDRESS": "10.0.0.1:6379"},
    "submit_grpo.sh": SUBMIT_VARS,
    "sweep_table8.sh": SUBMIT_VARS,
    "compare_table4.sh": SUBMIT_VARS,
}


@pytest.fixture()
def fake_ray(tmp_path):
    """(PATH with a recording ``ray`` first, the record file): one line of shell words per call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "ray_calls.txt"
    script = bin_dir / "ray"
    script.write_text(f'#!/usr/bin/env bash\nprintf "%q " "$@" >> {shlex.quote(str(record))}\necho >> {shlex.quote(str(record))}\n')
    script.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}", record


def run(script: str, env: dict, path: str, *args: str) -> subprocess.CompletedProcess:
    # A clean environment: only what the test sets, so a variable in the caller's shell cannot hide a failure.
    return subprocess.run(
        ["bash", str(EXAMPLES / script), *args],
        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def calls(record: Path) -> list[list[str]]:
    return [shlex.split(line) for line in record.read_text().splitlines()] if record.exists() else []


MISSING_CASES = [(script, name) for script, required in REQUIRED.items() for name in required]


@pytest.mark.parametrize("script,missing", MISSING_CASES, ids=[f"{s}-{m}" for s, m in MISSING_CASES])
def test_missing_variable_fails_early_and_names_it(fake_ray, script, missing):
    path, record = fake_ray
    env = {k: v for k, v in REQUIRED[script].items() if k != missing}
    result = run(script, env, path)
    assert result.returncode != 0
    assert f"{missing}: set {missing} to" in result.stderr
    assert calls(record) == []  # Ray was never started or called


def test_head_and_worker_start_ray_with_the_given_addresses(fake_ray):
    path, record = fake_ray
    assert run("ray_start_head.sh", {"HEAD_IP": "10.0.0.1"}, path).returncode == 0
    assert run("ray_start_worker.sh", {"HEAD_ADDRESS": "10.0.0.1:6379"}, path).returncode == 0
    head, worker = calls(record)
    assert head[:2] == ["start", "--head"] and "--node-ip-address=10.0.0.1" in head and "--num-gpus=8" in head
    assert worker[:1] == ["start"] and "--address=10.0.0.1:6379" in worker


def _job(call: list[str]) -> tuple[dict, list[str]]:
    """(runtime env, main_ppo overrides) of one recorded ``ray job submit`` call."""
    assert call[:2] == ["job", "submit"]
    runtime_env = json.loads(call[call.index("--runtime-env-json") + 1])
    command = call[call.index("--") + 1 :]
    assert command[:3] == ["python3", "-m", "verl.trainer.main_ppo"]
    return runtime_env, command[3:]


def test_submit_installs_the_package_on_every_node_and_passes_overrides(fake_ray, compose_ppo):
    path, record = fake_ray
    result = run("submit_grpo.sh", SUBMIT_VARS, path, "trainer.total_epochs=1")
    assert result.returncode == 0, result.stderr
    (call,) = calls(record)
    assert call[call.index("--address") + 1] == "http://10.0.0.1:8265"
    runtime_env, overrides = _job(call)
    assert runtime_env == {"pip": ["thinkj-verl"]}
    assert overrides[0] == "+recipe=thinkj_grpo" and overrides[-1] == "trainer.total_epochs=1"
    cfg = compose_ppo(overrides)  # what the job would compose on the cluster
    assert cfg.actor_rollout_ref.model.path == "/shared/judge"
    assert cfg.data.train_files == "/shared/pairs/train.jsonl"
    assert cfg.trainer.experiment_name == "thinkj_grpo"
    assert cfg.trainer.default_local_dir == "checkpoints/thinkj/thinkj_grpo"
    assert cfg.trainer.total_epochs == 1


def test_sweep_table8_runs_each_weight_setting_once_with_derived_names(fake_ray, compose_ppo):
    path, record = fake_ray
    result = run("sweep_table8.sh", SUBMIT_VARS, path)
    assert result.returncode == 0, result.stderr
    runs = {}
    for call in calls(record):
        values = dict(override.split("=", 1) for override in _job(call)[1])
        weights = (
            float(values["reward.custom_reward_function.reward_kwargs.format_weight"]),
            float(values["reward.custom_reward_function.reward_kwargs.strength_weight"]),
        )
        runs[values["trainer.experiment_name"]] = (*weights, values["trainer.default_local_dir"])
    expected = {(1.0, 0.2), (0.5, 0.2), (0.0, 0.2), (1.0, 0.5), (1.0, 0.0)}  # Table 8, 1.0/0.2 once
    assert {(f, s) for f, s, _ in runs.values()} == expected and len(runs) == 5
    for name, (f, s, out) in runs.items():
        assert name == f"thinkj_grpo-fw{f}-sw{s}"
        assert out == f"checkpoints/thinkj_table8/{name}"
    # The overrides are valid for main_ppo as they stand (one composed; the others differ in values only).
    weights = compose_ppo(_job(calls(record)[1])[1]).reward.custom_reward_function.reward_kwargs
    assert (weights.format_weight, weights.strength_weight) == (0.5, 0.2)


def test_compare_table4_submits_the_three_algorithms(fake_ray):
    path, record = fake_ray
    result = run("compare_table4.sh", {**SUBMIT_VARS, "NODES": "1"}, path)
    assert result.returncode == 0, result.stderr
    recipes = [_job(call)[1][0] for call in calls(record)]
    assert recipes == ["+recipe=thinkj_grpo_1node", "+recipe=thinkj_ppo_1node", "+recipe=thinkj_reinforce_pp_1node"]
    ppo_overrides = _job(calls(record)[1])[1]
    assert "critic.model.path=/shared/judge" in ppo_overrides


def test_compare_table4_rejects_an_unknown_node_count(fake_ray):
    path, record = fake_ray
    result = run("compare_table4.sh", {**SUBMIT_VARS, "NODES": "3"}, path)
    assert result.returncode == 2 and "NODES must be 2" in result.stderr
    assert calls(record) == []


def test_dry_run_prints_without_calling_ray(fake_ray):
    path, record = fake_ray
    result = run("submit_grpo.sh", {**SUBMIT_VARS, "DRY_RUN": "1", "RECIPE": "thinkj_reinforce_pp"}, path)
    assert result.returncode == 0
    assert "+recipe=thinkj_reinforce_pp" in result.stdout and "ray job submit" in result.stdout
    assert calls(record) == []
