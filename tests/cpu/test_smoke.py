"""``thinkj smoke``: a user's launch through the real main_ppo on CPU, and what a failure shows.

The launch rehearsed is PPO with a learned critic (``+recipe=thinkj_ppo``), so the one run also
shows that smoke swaps every model path for its small copy (actor and critic) and serves as the
real-trainer check of the PPO recipe: a step with a critic update.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cpu.conftest import RUN_TIMEOUT_S

pytestmark = pytest.mark.slow(seconds=190)  # in `make test`; conftest.py orders by it


def _smoke(args: list[str], out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "thinkj_verl.cli", "smoke", *args, "--out", str(out), "--timeout", "600"]
    return subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


@pytest.fixture(scope="module")
def smoke_ok(tmp_path_factory, judge_pairs, tiny_judge_path):
    out = tmp_path_factory.mktemp("smoke_ok")
    args = ["+recipe=thinkj_ppo", f"data.train_files={judge_pairs['train']}",
            f"data.val_files={judge_pairs['val']}", f"actor_rollout_ref.model.path={tiny_judge_path}",
            f"critic.model.path={tiny_judge_path}", "trainer.nnodes=2", "trainer.n_gpus_per_node=8", "--steps", "1"]
    return _smoke(args, out), out, args


def test_smoke_runs_the_launch_and_prints_the_table(smoke_ok, tiny_judge_path):
    result, out, args = smoke_ok
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    import re

    table = dict(
        re.split(r"\s{2,}", line.strip(), maxsplit=1)
        for line in result.stdout.splitlines()
        if line.startswith("  ") and re.search(r"\S\s{2,}\S", line)
    )
    assert table["steps run"] == "1"
    assert Path(table["checkpoint"]).is_dir()
    for row in ("reward mean per step", "validation acc rate", "validation format rate", "validation truncated rate"):
        assert row in table, sorted(table)
    # the next command is the user's own launch, cluster values included
    assert "python -m verl.trainer.main_ppo +recipe=thinkj_ppo" in result.stdout
    assert "trainer.nnodes=2" in result.stdout.split("run next:")[1]
    # the run used a small copy of the model's architecture, not the model itself
    from transformers import AutoConfig

    small = AutoConfig.from_pretrained(out / "small_model_0")
    assert small.model_type == AutoConfig.from_pretrained(tiny_judge_path).model_type
    assert small.num_hidden_layers == 2
    # Hydra's record of the launch: the last override of each model path (the one that wins) is
    # the small copy, one copy for the actor and the critic that name the same model
    overrides = (out / "hydra" / ".hydra" / "overrides.yaml").read_text().splitlines()
    for key in ("actor_rollout_ref.model.path", "critic.model.path"):
        paths = [line.split("=", 1)[1] for line in overrides if line.startswith(f"- {key}=")]
        assert paths[-1] == str(out / "small_model_0"), (key, paths)
    assert not (out / "small_model_1").exists()


def test_ppo_with_a_learned_critic_runs_a_step(smoke_ok):
    from thinkj_verl.smoke import read_metrics

    result, out, _ = smoke_ok
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    [step] = read_metrics(out / "metrics.jsonl")
    for key in ("critic/vf_loss", "critic/values/mean", "critic/grad_norm", "actor/pg_loss", "critic/score/mean"):
        assert key in step, (key, sorted(step))


def test_smoke_with_a_missing_data_file_stops_before_launching(tmp_path, judge_pairs, tiny_judge_path):
    missing = tmp_path / "no_such_pairs.parquet"
    result = _smoke(["+recipe=thinkj_grpo", f"data.train_files=[{judge_pairs['train']},{missing}]",
                     f"data.val_files={judge_pairs['val']}", f"actor_rollout_ref.model.path={tiny_judge_path}"],
                    tmp_path / "out")
    assert result.returncode == 2
    assert f"no such data file (data.train_files: {missing})" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "main_ppo.log").exists()  # stopped before main_ppo and Ray


def test_smoke_with_a_reward_kwarg_typo_fails_naming_it(tmp_path, judge_pairs, tiny_judge_path):
    result = _smoke(["+recipe=thinkj_grpo", f"data.train_files={judge_pairs['train']}",
                     f"data.val_files={judge_pairs['val']}", f"actor_rollout_ref.model.path={tiny_judge_path}",
                     "+reward.custom_reward_function.reward_kwargs.strenght_weight=0.5"], tmp_path / "out")
    assert result.returncode == 1
    assert "strenght_weight" in result.stderr


def test_smoke_refuses_a_model_it_cannot_read(tmp_path, judge_pairs):
    result = _smoke(["+recipe=thinkj_grpo", f"data.train_files={judge_pairs['train']}",
                     "actor_rollout_ref.model.path=nobody/no-such-model"], tmp_path / "out")
    assert result.returncode == 2
    assert "nobody/no-such-model" in result.stderr and "local model folder" in result.stderr
    assert "Traceback" not in result.stderr
