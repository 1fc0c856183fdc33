"""The CPU backend's parts: off unless asked for, the generation engine, the HTTP routes.

Serving a judge as verl's generative reward model (verl's RewardModelManager starting our
replica on its own pool, its router reaching our HTTP routes) is checked inside a real run, in
test_policy_judge.py: every judge call of two GRPO steps and a validation answered.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.slow(seconds=50)  # in `make test`; conftest.py orders by it

PROBE = """
import json, os, sys, torch
import verl
# what the plugin left out of `import verl`: registries are filled when verl imports them
heavy = ("verl.experimental.reward_loop", "verl.workers.config", "verl.workers.rollout", "verl.utils.model", "sklearn")
imported_with_verl = [m for m in heavy if m in sys.modules]
from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER
import transformers.utils
from verl.utils import model as verl_model
from verl.plugin.platform.platform_manager import PlatformRegistry
from verl.workers.rollout.replica import RolloutReplicaRegistry
from verl.workers.rollout import base
from torch.distributed import fsdp
cpu_modules = sorted(m for m in sys.modules if m.startswith("thinkj_verl.cpu."))
from thinkj_verl.cpu import patches  # imported after the count above: it only reads marks
print(json.dumps({
    "platforms": sorted(PlatformRegistry.registered_names()),
    "replicas": sorted(RolloutReplicaRegistry._registry),
    "adapters": sorted(name for name, _ in base._ROLLOUT_REGISTRY),
    "init_process_group": torch.distributed.init_process_group.__module__,
    "offload_policy": fsdp.CPUOffloadPolicy.__module__,
    "engine_device": os.environ.get("VERL_ENGINE_DEVICE"),
    "cpu_modules": cpu_modules,
    "applied": patches.applied(),
    "imported_with_verl": imported_with_verl,
    "reward_managers": sorted(REWARD_MANAGER),
    "is_sklearn_available": transformers.utils.is_sklearn_available.__module__,
    "load_valuehead_model": verl_model.load_valuehead_model.__module__,
}))
"""


def _probe(env_platform: str | None) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("VERL_PLATFORM", "VERL_ENGINE_DEVICE")}
    if env_platform is not None:
        env["VERL_PLATFORM"] = env_platform
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_nothing_is_registered_or_patched_without_verl_platform_cpu():
    seen = _probe(None)
    assert "cpu" not in seen["platforms"]
    assert "thinkj_cpu" not in seen["replicas"] and "thinkj_cpu" not in seen["adapters"]
    assert seen["init_process_group"] == "torch.distributed.distributed_c10d"
    assert seen["offload_policy"].startswith("torch.distributed")
    assert seen["engine_device"] is None
    assert seen["cpu_modules"] == []
    assert seen["applied"] and not any(seen["applied"].values()), seen["applied"]
    assert seen["is_sklearn_available"] == "transformers.utils.import_utils"
    assert seen["load_valuehead_model"] == "verl.utils.model"
    # our reward managers are there once verl's registry is imported, and only then
    assert {"thinkj", "thinkj_pair"} <= set(seen["reward_managers"])
    assert "verl.experimental.reward_loop" not in seen["imported_with_verl"]


def test_verl_platform_cpu_registers_the_backend_and_patches():
    seen = _probe("cpu")
    assert "cpu" in seen["platforms"]
    assert "thinkj_cpu" in seen["replicas"] and "thinkj_cpu" in seen["adapters"]
    assert seen["init_process_group"] == "thinkj_verl.cpu.patches"
    assert seen["offload_policy"] == "thinkj_verl.cpu.patches"
    assert seen["engine_device"] == "cuda"
    assert seen["is_sklearn_available"] == "thinkj_verl.cpu.patches"
    assert seen["load_valuehead_model"] == "thinkj_verl.cpu.patches"
    assert seen["applied"] and all(seen["applied"].values()), seen["applied"]
    assert {"thinkj", "thinkj_pair"} <= set(seen["reward_managers"])
    # every Ray worker imports verl: the plugin keeps its start-up to verl's own (registries,
    # rollout backend and the value-head patch wait for the module they go into)
    assert seen["imported_with_verl"] == []


def test_process_group_backend_dedupe():
    from thinkj_verl.cpu.patches import _dedupe_backend

    assert _dedupe_backend("cpu:gloo,cpu:gloo") == "cpu:gloo"
    assert _dedupe_backend("cpu:gloo,cuda:nccl") == "cpu:gloo,cuda:nccl"
    assert _dedupe_backend(None) is None


@pytest.fixture(scope="module")
def engine(tiny_judge_path):
    from thinkj_verl.cpu.engine import GenerationEngine

    return GenerationEngine.from_pretrained(tiny_judge_path)


def test_greedy_is_deterministic_and_log_probs_are_the_models(engine):
    from thinkj_verl.cpu.engine import SamplingParams

    prompt = engine.tokenizer("Please act as an impartial judge")["input_ids"]
    params = SamplingParams(max_tokens=8, temperature=0.0, logprobs=True)
    first, second = engine.generate([prompt, prompt], params)
    assert first.token_ids == second.token_ids
    # recompute each reply token's log-prob with one plain forward pass
    ids = torch.tensor([prompt + first.token_ids])
    with torch.no_grad():
        logits = engine.model(ids).logits[0, len(prompt) - 1 : -1]
    expected = torch.log_softmax(logits, -1).gather(-1, torch.tensor(first.token_ids)[:, None]).squeeze(-1)
    assert first.log_probs == pytest.approx(expected.tolist(), abs=1e-4)
    # greedy: every token is the arg-max
    assert first.token_ids == logits.argmax(-1).tolist()[: len(first.token_ids)]


def test_sampling_honours_seed_n_and_max_tokens(engine):
    from thinkj_verl.cpu.engine import SamplingParams

    prompt = engine.tokenizer("Response (a) answers the question")["input_ids"]
    params = SamplingParams(max_tokens=6, temperature=1.0, top_p=0.9, top_k=50, seed=7, n=3)
    first = engine.generate([prompt], params)
    again = engine.generate([prompt], params)
    assert len(first) == 3
    assert [c.token_ids for c in first] == [c.token_ids for c in again]
    assert all(len(c.token_ids) <= 6 for c in first)
    # top_k=1 is greedy whatever the temperature
    top1 = engine.generate([prompt], SamplingParams(max_tokens=6, temperature=1.5, top_k=1, seed=1))[0]
    greedy = engine.generate([prompt], SamplingParams(max_tokens=6, temperature=0.0))[0]
    assert top1.token_ids == greedy.token_ids


def test_stops_on_every_generation_config_stop_id_and_reports_why(engine):
    from thinkj_verl.cpu.engine import GenerationEngine, SamplingParams

    prompt = engine.tokenizer("The quick brown fox")["input_ids"]
    params = SamplingParams(max_tokens=12, temperature=0.0)
    [free] = engine.generate([prompt], params)
    assert free.finish_reason in ("stop", "length")
    # make the greedy reply's third token a stop id of the generation config
    stop = free.token_ids[2]
    model = engine.model
    model.generation_config.eos_token_id = [engine.tokenizer.eos_token_id, stop]
    try:
        stopping = GenerationEngine(model, engine.tokenizer)
        [cut] = stopping.generate([prompt], params)
    finally:
        model.generation_config.eos_token_id = engine.tokenizer.eos_token_id
    first_stop = free.token_ids.index(stop)
    assert cut.token_ids == free.token_ids[: first_stop + 1]
    assert cut.finish_reason == "stop"
    [short] = engine.generate([prompt], SamplingParams(max_tokens=2, temperature=0.0))
    if engine.tokenizer.eos_token_id not in short.token_ids:
        assert short.finish_reason == "length" and len(short.token_ids) == 2


def test_bad_sampling_params_are_named():
    from thinkj_verl.cpu.engine import SamplingParams, SamplingParamsError

    with pytest.raises(SamplingParamsError, match="max_tokens"):
        SamplingParams.from_request({"max_tokens": 0}, 16)
    with pytest.raises(SamplingParamsError, match="top_p"):
        SamplingParams.from_request({"top_p": 0}, 16)


def test_http_routes_of_a_server_on_the_loopback(tiny_judge_path):
    """The routes a judge serves to verl's reward router, on a real uvicorn on 127.0.0.1."""
    import asyncio

    import httpx

    from thinkj_verl.cpu.server import ThinkjCpuServer

    async def scenario():
        from verl.workers.rollout.utils import run_uvicorn

        server = ThinkjCpuServer(tiny_judge_path, prompt_length=256, response_length=16)
        port, task = await run_uvicorn(server._app(), None, "127.0.0.1")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            chat = await client.post("/v1/chat/completions", json={
                "model": "judge", "messages": [{"role": "user", "content": "Which is better?"}],
                "max_tokens": 5, "temperature": 0, "n": 2})
            sglang = await client.post("/generate", json={"text": "Which", "sampling_params": {"max_new_tokens": 3}})
            bad = await client.post("/v1/chat/completions", json={"messages": [], "max_tokens": 5})
            token = await server.generate([1, 2, 3], {"temperature": 0, "max_tokens": 4, "logprobs": True}, "r1")
            await server.update_weights([(n, p.detach() * 0) for n, p in server.engine.model.named_parameters()], 3)
            after = await server.generate([1, 2, 3], {"temperature": 0, "max_tokens": 4}, "r2")
        task.cancel()
        return chat, sglang, bad, token, after

    chat, sglang, bad, token, after = asyncio.run(scenario())
    assert chat.status_code == 200
    body = chat.json()
    assert len(body["choices"]) == 2 and body["choices"][0]["finish_reason"] in ("stop", "length")
    assert body["usage"]["completion_tokens"] <= 10
    assert sglang.status_code == 200 and len(sglang.json()["output_ids"]) <= 3
    assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]
    assert token.extra_fields["global_steps"] is None and len(token.log_probs) == len(token.token_ids)
    assert token.stop_reason in ("completed", "length")
    # the new weights and their version are what the next request sees
    assert after.extra_fields["global_steps"] == 3
