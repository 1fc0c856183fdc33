"""Two Ray nodes on this machine's loopback, the launch script, one real step across both.

``examples/rehearse_two_nodes.sh`` starts a head and a worker node (one logical GPU each),
runs ``thinkj preflight --ray-address`` against them and submits ``examples/submit_grpo.sh`` as
a Ray job with ``+platform=cpu trainer.nnodes=2 trainer.n_gpus_per_node=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cpu.conftest import RUN_TIMEOUT_S

pytestmark = pytest.mark.slow(seconds=165)  # in `make test`; conftest.py orders by it

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "rehearse_two_nodes.sh"


def test_one_step_across_two_nodes(tmp_path, judge_pairs, format_judge):
    out = tmp_path / "two_nodes"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHON": sys.executable, "MODEL_PATH": format_judge, "TRAIN_FILES": judge_pairs["train"],
           "VAL_FILES": judge_pairs["val"], "OUTPUT_DIR": str(out)}
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    # preflight saw both nodes
    assert "ray cluster GPUs" in log and "2 alive node(s) with 2 GPUs in total" in log
    # one FSDP2 worker per node: two ranks saved their shards
    actor = out / "checkpoints" / "global_step_1" / "actor"
    assert sorted(p.name for p in actor.glob("model_world_size_2_rank_*.pt")) == [
        "model_world_size_2_rank_0.pt", "model_world_size_2_rank_1.pt"]
    [step] = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert step["step"] == 1 and "actor/pg_loss" in step["data"]
    # nothing of the rehearsal's Ray is left running
    assert "tj2n." not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
