"""What a user types: ``python -m verl.trainer.main_ppo +recipe=thinkj_grpo --cfg job``, and an
offline recipe (``thinkj train dpo``), after each way of installing the project.

Both installs are made from a copy of this checkout, and each is run in a subprocess from an
unrelated working directory:

- a REGULAR install of the wheel ``examples/build_wheel.sh`` builds (what a Ray job ships),
  ``pip install --no-deps --target``: the recipes must come from the installed package
  ``thinkj_verl.recipes``, since that folder holds no source checkout;
- an EDITABLE install, ``pip install -e`` into a fresh virtual environment that sees the test
  environment's packages (verl, Hydra, ...) but not its own thinkj-verl: the recipes must come
  from the checkout's top-level ``recipes/`` folder, so an edited recipe counts at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the project is built from (pyproject.toml, setup.py: packages, package data, readme), as
# examples/build_wheel.sh copies it.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "thinkj_verl", "reward_fns", "recipes")
RECIPE_MARKERS = (
    "adv_estimator: grpo",
    "name: thinkj",
    "path: pkg://reward_fns.thinkj_strength",
    "strength_weight: 0.2",
    "name: JudgePairDataset",
    "tensor_model_parallel_size: 4",
    "total_epochs: 10",
)
# Where the recipes resolve, and the offline DPO recipe as `thinkj train dpo` loads it.
PROBE = """
from thinkj_verl.hydra_recipes import recipes_dir
from thinkj_verl.offline.train import load_recipe, resolve_recipe
print(recipes_dir())
print(load_recipe(resolve_recipe(None, "dpo")).method)
"""
PIP = ("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index")


def _run(python: str, args: list[str], cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([python, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output[-3000:]
    return output


def _pip(python: str, *args: str) -> None:
    result = subprocess.run([python, *PIP, *args], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def _copy_sources(source: Path) -> None:
    # Build from a copy so the checkout gets no build/ or egg-info from the test.
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif path.exists():
            shutil.copy2(path, source / name)


def _editable_venv(venv: Path, source: Path) -> str:
    """A venv with ``pip install -e source``; the test environment's packages reach it through a
    plain .pth line, which does not run that environment's own editable finder of thinkj-verl."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "test_environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _pip(python, "-e", str(source))
    return python


@pytest.fixture(scope="module")
def installs(tmp_path_factory):
    """{"regular" | "editable": (main_ppo --cfg job output, recipes folder, offline recipe method, root)}."""
    workdir = tmp_path_factory.mktemp("recipes_install")
    elsewhere = workdir / "cwd"
    elsewhere.mkdir()
    source = workdir / "src"
    _copy_sources(source)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)

    target = workdir / "site"
    wheel = subprocess.run(["bash", str(ROOT / "examples" / "build_wheel.sh"), str(workdir / "wheel")],
                           env={**env, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=180)
    assert wheel.returncode == 0, wheel.stderr[-3000:]
    _pip(sys.executable, "--target", str(target), wheel.stdout.strip())
    runs = {"regular": (sys.executable, {**env, "PYTHONPATH": str(target)}, target)}
    runs["editable"] = (_editable_venv(workdir / "venv", source), env, source / "recipes")
    cfg_jobs = {kind: _run(python, ["-m", "verl.trainer.main_ppo", "+recipe=thinkj_grpo", "--cfg", "job"],
                           elsewhere, run_env) for kind, (python, run_env, _) in runs.items()}
    try:
        found = {}
        for kind, (python, run_env, root) in runs.items():
            where, method = _finish(_run(python, ["-c", PROBE], elsewhere, run_env)).split()[-2:]
            found[kind] = (_finish(cfg_jobs[kind]), Path(where), method, root.resolve())
        return found
    finally:
        for process in cfg_jobs.values():
            if process.poll() is None:
                process.kill()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["regular", "editable"])
def test_main_ppo_composes_the_recipe_and_the_offline_recipe_loads(installs, kind):
    output, where, method, root = installs[kind]
    # regular: inside the install target; editable: the checkout's own recipes/ folder.
    assert where.resolve().is_relative_to(root), (where, root)
    assert (where / "recipe" / "thinkj_grpo.yaml").is_file()
    assert method == "dpo"
    for marker in RECIPE_MARKERS:
        assert marker in output, marker
