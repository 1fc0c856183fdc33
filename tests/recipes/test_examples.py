"""The launch scripts in examples/: early, clear failures, and the Ray commands they really run.

A stand-in ``ray`` executable first on PATH records its arguments to a file instead of touching
a cluster, so the tests see exactly what a script would have run, or that it ran nothing; it also
keeps a copy of the job's ``working_dir`` (what Ray would upload), so the shipped wheel can be read.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CLUSTER_VARS = {
    "RAY_ADDRESS": "http://10.0.0.1:8265",
    "MODEL_PATH": "/shared/judge",
    "TRAIN_FILES": "/shared/pairs/train.jsonl",
    "VAL_FILES": "/shared/pairs/val.jsonl",
}
SUBMIT_VARS = {**CLUSTER_VARS, "OUTPUT_DIR": "/shared/ckpt/grpo"}
SWEEP_VARS = {**CLUSTER_VARS, "OUTPUT_ROOT": "/shared/ckpt"}
REQUIRED = {
    "ray_start_head.sh": {"HEAD_IP": "10.0.0.1"},
    "ray_start_worker.sh": {"HEAD_ADDRESS": "10.0.0.1:6379"},
    "submit_grpo.sh": SUBMIT_VARS,
    "sweep_table8.sh": SWEEP_VARS,
    "compare_table4.sh": SWEEP_VARS,
}
# The wheel of this checkout is built with the test's own interpreter, without an isolated build
# environment (setuptools is already there), so no package index is needed and a build takes seconds.
# (pip reads PIP_NO_BUILD_ISOLATION=0 as --no-build-isolation.)
BUILD_ENV = {"PYTHON": sys.executable, "PIP_NO_BUILD_ISOLATION": "0"}


@pytest.fixture()
def fake_ray(tmp_path):
    """(PATH with a recording ``ray`` first, the record file): one line of shell words per call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "ray_calls.txt"
    script = bin_dir / "ray"
    shipped = tmp_path / "shipped"
    # Record the call; copy the working_dir it names (if any) to shipped/<call number>/.
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'printf "%q " "$@" >> {shlex.quote(str(record))}\necho >> {shlex.quote(str(record))}\n'
        f'{shlex.quote(sys.executable)} - "$@" <<\'PY\'\n'
        "import json, shutil, sys\n"
        "args = sys.argv[1:]\n"
        "if '--runtime-env-json' in args:\n"
        "    env = json.loads(args[args.index('--runtime-env-json') + 1])\n"
        "    if 'working_dir' in env:\n"
        f"        calls = open({str(record)!r}).read().count(chr(10))\n"
        f"        shutil.copytree(env['working_dir'], {str(shipped)!r} + '/' + str(calls))\n"
        "PY\n"
    )
    script.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}", record


def run(script: str, env: dict, path: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    # A clean environment: only what the test sets, so a variable in the caller's shell cannot hide a failure.
    return subprocess.run(
        ["bash", str(EXAMPLES / script), *args],
        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **BUILD_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
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


def test_submit_ships_a_wheel_of_this_checkout_and_passes_overrides(fake_ray, compose_ppo, tmp_path):
    path, record = fake_ray
    result = run("submit_grpo.sh", SUBMIT_VARS, path, "trainer.total_epochs=1")
    assert result.returncode == 0, result.stderr
    (call,) = calls(record)
    assert call[call.index("--address") + 1] == "http://10.0.0.1:8265"
    runtime_env, overrides = _job(call)
    # The job's working_dir holds exactly one wheel, and every node pip-installs it from there.
    (wheel,) = (tmp_path / "shipped" / "1").iterdir()
    assert runtime_env["pip"] == ["${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/" + wheel.name]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
        shipped_parser = zf.read("thinkj_verl/parser.py")
    assert "reward_fns/thinkj_strength.py" in names
    assert "[verl.plugins]" in entry_points and "thinkj_verl.plugin" in entry_points
    assert shipped_parser == (EXAMPLES.parent / "thinkj_verl" / "parser.py").read_bytes()  # this checkout's code
    assert overrides[0] == "+recipe=thinkj_grpo" and overrides[-1] == "trainer.total_epochs=1"
    cfg = compose_ppo(overrides)  # what the job would compose on the cluster
    assert cfg.actor_rollout_ref.model.path == "/shared/judge"
    assert cfg.data.train_files == "/shared/pairs/train.jsonl"
    assert cfg.trainer.experiment_name == "thinkj_grpo"
    assert cfg.trainer.default_local_dir == "/shared/ckpt/grpo"
    assert cfg.trainer.total_epochs == 1


def test_submit_installs_a_pip_spec_as_given_without_globbing_it(fake_ray, tmp_path):
    """`thinkj-verl[gpu]` is a glob pattern to the shell: a file named `thinkj-verlg` in the working
    directory must not replace it (it did while the spec was expanded unquoted)."""
    path, record = fake_ray
    (tmp_path / "thinkj-verlg").write_text("")
    spec = {"THINKJ_PIP_SPEC": "thinkj-verl[gpu] /shared/wheels/extra.whl"}
    result = run("submit_grpo.sh", {**SUBMIT_VARS, **spec}, path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runtime_env, _ = _job(calls(record)[0])
    assert runtime_env == {"pip": ["thinkj-verl[gpu]", "/shared/wheels/extra.whl"]}


@pytest.mark.parametrize("script,var", [("submit_grpo.sh", "OUTPUT_DIR"), ("sweep_table8.sh", "OUTPUT_ROOT"),
                                        ("compare_table4.sh", "OUTPUT_ROOT")])
def test_a_relative_output_folder_is_refused_before_anything_runs(fake_ray, script, var):
    path, record = fake_ray
    result = run(script, {**REQUIRED[script], var: "checkpoints/run"}, path)
    assert result.returncode == 2
    assert f"{var} must be an absolute path on shared storage" in result.stderr and "'checkpoints/run'" in result.stderr
    assert calls(record) == []


def test_submit_ships_a_given_wheel_and_names_a_missing_one(fake_ray, tmp_path):
    path, record = fake_ray
    missing = run("submit_grpo.sh", {**SUBMIT_VARS, "THINKJ_WHEEL": str(tmp_path / "nope.whl")}, path)
    assert missing.returncode == 2 and "THINKJ_WHEEL" in missing.stderr and "nope.whl" in missing.stderr
    assert calls(record) == []
    wheel = tmp_path / "thinkj_verl-9.9.9-py3-none-any.whl"
    wheel.write_bytes(b"a prebuilt wheel")
    assert run("submit_grpo.sh", {**SUBMIT_VARS, "THINKJ_WHEEL": str(wheel)}, path).returncode == 0
    runtime_env, _ = _job(calls(record)[0])
    assert runtime_env["pip"] == ["${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/" + wheel.name]
    assert (tmp_path / "shipped" / "1" / wheel.name).read_bytes() == b"a prebuilt wheel"


def test_sweep_table8_runs_each_weight_setting_once_with_derived_names(fake_ray, compose_ppo, tmp_path):
    path, record = fake_ray
    result = run("sweep_table8.sh", SWEEP_VARS, path)
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
        assert out == f"/shared/ckpt/{name}"
    # One wheel, built once, shipped with every run.
    shipped = [next((tmp_path / "shipped" / str(i)).iterdir()).read_bytes() for i in range(1, 6)]
    assert all(wheel == shipped[0] for wheel in shipped)
    # The overrides are valid for main_ppo as they stand (one composed; the others differ in values only).
    weights = compose_ppo(_job(calls(record)[1])[1]).reward.custom_reward_function.reward_kwargs
    assert (weights.format_weight, weights.strength_weight) == (0.5, 0.2)


def test_compare_table4_submits_the_three_algorithms(fake_ray):
    path, record = fake_ray
    result = run("compare_table4.sh", {**SWEEP_VARS, "NODES": "1"}, path)
    assert result.returncode == 0, result.stderr
    recipes = [_job(call)[1][0] for call in calls(record)]
    assert recipes == ["+recipe=thinkj_grpo_1node", "+recipe=thinkj_ppo_1node", "+recipe=thinkj_reinforce_pp_1node"]
    ppo_overrides = _job(calls(record)[1])[1]
    assert "critic.model.path=/shared/judge" in ppo_overrides


def test_compare_table4_rejects_an_unknown_node_count(fake_ray):
    path, record = fake_ray
    result = run("compare_table4.sh", {**SWEEP_VARS, "NODES": "3"}, path)
    assert result.returncode == 2 and "NODES must be 2" in result.stderr
    assert calls(record) == []


def test_dry_run_prints_without_calling_ray(fake_ray):
    path, record = fake_ray
    result = run("submit_grpo.sh", {**SUBMIT_VARS, "DRY_RUN": "1", "RECIPE": "thinkj_reinforce_pp"}, path)
    assert result.returncode == 0
    assert "+recipe=thinkj_reinforce_pp" in result.stdout and "ray job submit" in result.stdout
    assert calls(record) == []
