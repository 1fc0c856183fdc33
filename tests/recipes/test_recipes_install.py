"""What a user types: ``python -m verl.trainer.main_ppo +recipe=thinkj_grpo --cfg job``.

Run in a subprocess from an unrelated working directory, once with this checkout as installed
for the tests (editable), once from a REGULAR (non-editable) install of the project made with
``pip install --no-deps --target``: there the recipes must come from the installed copy, since
that folder holds no source checkout to fall back on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the project's wheel is built from (pyproject.toml: packages, data-files, readme).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "thinkj_verl", "reward_fns", "recipes")
RECIPE_MARKERS = (
    "adv_estimator: grpo",
    "name: thinkj",
    "path: pkg://reward_fns.thinkj_strength",
    "strength_weight: 0.2",
    "name: JudgePairDataset",
    "tensor_model_parallel_size: 4",
    "total_epochs: 10",
)


def _main_ppo_cfg_job(cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "verl.trainer.main_ppo", "+recipe=thinkj_grpo", "--cfg", "job"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output[-3000:]
    return output


def _regular_install(target: Path, workdir: Path) -> None:
    # Build from a copy so the checkout gets no build/ or egg-info from the test.
    source = workdir / "src"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif path.exists():
            shutil.copy2(path, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def cfg_job_outputs(tmp_path_factory):
    """(editable output, regular-install output, regular install dir); both runs overlap in time."""
    workdir = tmp_path_factory.mktemp("recipes_install")
    elsewhere = workdir / "cwd"
    elsewhere.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    editable = _main_ppo_cfg_job(elsewhere, env)
    try:
        target = workdir / "site"
        _regular_install(target, workdir)
        regular = _main_ppo_cfg_job(elsewhere, {**env, "PYTHONPATH": str(target)})
        where = subprocess.run(
            [sys.executable, "-c", "from thinkj_verl.hydra_recipes import recipes_dir; print(recipes_dir())"],
            cwd=elsewhere,
            env={**env, "PYTHONPATH": str(target)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return _finish(editable), _finish(regular), target, Path(where)
    finally:
        if editable.poll() is None:
            editable.kill()


@pytest.mark.slow
def test_main_ppo_cfg_job_prints_the_recipe(cfg_job_outputs):
    output = cfg_job_outputs[0]
    for marker in RECIPE_MARKERS:
        assert marker in output, marker


@pytest.mark.slow
def test_regular_install_resolves_recipes_from_its_installed_copy(cfg_job_outputs):
    _, output, target, where = cfg_job_outputs
    assert where.is_relative_to(target.resolve()), where
    assert (where / "recipe" / "thinkj_grpo.yaml").is_file()
    for marker in RECIPE_MARKERS:
        assert marker in output, marker
