"""When is a judge reply "cut at the limit"? Through verl's real reward paths, on CPU.

verl's v1 trainer scores replies while they stream (``AgentLoopWorker._compute_score``), with
UNPADDED responses: every reply fills its own tensor. A reply is cut only when it reached
``actor_rollout_ref.rollout.response_length`` without a stop id, or when the rollout says
``finish_reason == "length"``. Checked through verl's ``RewardLoopManager`` (its
``RewardLoopWorker`` Ray actors), the agent loop's own ``_compute_score`` and the padded
``compute_rm_score`` path.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

LIMIT = 32
FINISHED = "<think>ok</think>Therefore, Response (a) is better, and the strength is [[2]]."
LABEL = {"better": "a", "strength": 2, "scores": None}


@pytest.fixture(scope="module")
def other_stop_judge(tmp_path_factory):
    """The tiny judge, with an extra stop id in its generation config (not the tokenizer's EOS)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from thinkj_verl.tiny import build_tiny_judge

    path = build_tiny_judge(tmp_path_factory.mktemp("other_stop"))
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    other_stop = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert other_stop != tokenizer.eos_token_id
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, other_stop]
    model.save_pretrained(path)
    return path, tokenizer, other_stop


@pytest.fixture(scope="module")
def reward_loop(compose_ppo, other_stop_judge):
    import ray
    from verl.experimental.reward_loop import RewardLoopManager

    path, _, _ = other_stop_judge
    config = compose_ppo(
        [
            f"actor_rollout_ref.model.path={path}",
            f"data.max_response_length={LIMIT}",
            "reward.reward_manager.name=thinkj",
            "reward.num_workers=1",
        ]
    )
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    yield RewardLoopManager(config), config
    ray.shutdown()


def _agent_output(tokenizer, response_ids, extra_fields=None):
    from verl.experimental.agent_loop.agent_loop import AgentLoopMetrics, AgentLoopOutput

    prompt = tokenizer("Judge (a) vs (b).")["input_ids"]
    return AgentLoopOutput(
        prompt_ids=prompt,
        response_ids=response_ids,
        response_mask=[1] * len(response_ids),
        num_turns=2,
        metrics=AgentLoopMetrics(),
        extra_fields=dict(extra_fields or {}),
    )


def _stream_score(manager, output) -> dict:
    """verl's own AgentLoopWorker._compute_score, on a worker holding only what that step reads."""
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker

    worker = AgentLoopWorker.__new__(AgentLoopWorker)
    worker.reward_loop_worker_handles = manager.reward_loop_worker_handles
    worker.processor = None
    worker.mm_processor_kwargs = None
    kwargs = {
        "data_source": "thinkj/test",
        "reward_model": {"style": "rule", "ground_truth": LABEL},
        "extra_info": {"index": 0, "pair_id": "p0"},
    }
    asyncio.run(worker._compute_score([output], kwargs))
    return {"score": output.reward_score, **output.extra_fields["reward_extra_info"]}


def test_streamed_reply_ending_on_another_stop_id_is_finished(reward_loop, other_stop_judge):
    manager, _ = reward_loop
    _, tokenizer, other_stop = other_stop_judge
    ids = tokenizer(FINISHED)["input_ids"] + [other_stop]
    assert len(ids) < LIMIT
    row = _stream_score(manager, _agent_output(tokenizer, ids))
    assert row["truncated"] == 0.0 and row["acc"] == 1.0 and row["score"] > 1.0


def test_streamed_reply_without_any_stop_id_below_the_limit_is_finished(reward_loop, other_stop_judge):
    # vLLM reports no finish reason: a short reply is finished whatever its last token.
    manager, _ = reward_loop
    _, tokenizer, _ = other_stop_judge
    row = _stream_score(manager, _agent_output(tokenizer, tokenizer(FINISHED)["input_ids"]))
    assert row["truncated"] == 0.0 and row["acc"] == 1.0


def test_streamed_reply_filling_the_limit_is_cut(reward_loop, other_stop_judge):
    manager, _ = reward_loop
    _, tokenizer, _ = other_stop_judge
    ids = (tokenizer(FINISHED)["input_ids"] * LIMIT)[:LIMIT]
    row = _stream_score(manager, _agent_output(tokenizer, ids))
    assert row["truncated"] == 1.0 and row["score"] == 0.0


def test_rollout_finish_reason_decides_when_given(reward_loop, other_stop_judge):
    manager, _ = reward_loop
    _, tokenizer, _ = other_stop_judge
    short = tokenizer(FINISHED)["input_ids"]
    assert _stream_score(manager, _agent_output(tokenizer, short, {"finish_reason": "length"}))["truncated"] == 1.0
    full = (short * LIMIT)[:LIMIT]
    assert _stream_score(manager, _agent_output(tokenizer, full, {"finish_reason": "stop"}))["truncated"] == 0.0


def test_padded_compute_rm_score_path(reward_loop, other_stop_judge):
    """The legacy trainer's path: right-padded responses of width LIMIT, scored in one call."""
    from verl import DataProto

    manager, _ = reward_loop
    _, tokenizer, other_stop = other_stop_judge
    prompt = tokenizer("Judge (a) vs (b).")["input_ids"]
    replies = [
        tokenizer(FINISHED)["input_ids"] + [other_stop],  # finished on another stop id
        (tokenizer(FINISHED)["input_ids"] * LIMIT)[:LIMIT],  # fills the limit: cut
        (tokenizer(FINISHED)["input_ids"] * LIMIT)[: LIMIT - 1] + [other_stop],  # ends on a stop id at the limit
    ]
    pad = tokenizer.pad_token_id
    responses = torch.tensor([r + [pad] * (LIMIT - len(r)) for r in replies])
    masks = torch.tensor([[1] * len(prompt) + [1] * len(r) + [0] * (LIMIT - len(r)) for r in replies])
    prompts = torch.tensor([prompt] * len(replies))
    data = DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": masks,
                 "input_ids": torch.cat([prompts, responses], dim=1)},
        non_tensors={
            "data_source": np.array(["thinkj/test"] * 3, dtype=object),
            "reward_model": np.array([{"style": "rule", "ground_truth": LABEL}] * 3, dtype=object),
            "extra_info": np.array([{"index": i} for i in range(3)], dtype=object),
        },
    )
    output = manager.compute_rm_score(data)
    assert output.non_tensor_batch["truncated"].tolist() == [0.0, 1.0, 0.0]
    assert output.batch["rm_scores"].sum(dim=1)[1].item() == 0.0


def test_colocated_reward_model_is_refused_with_the_setting_to_use(compose_ppo, tiny_judge_path, tiny_tokenizer):
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    from thinkj_verl.reward_manager import MissingLabelsError

    config = compose_ppo(
        [
            f"actor_rollout_ref.model.path={tiny_judge_path}",
            "reward.reward_manager.name=thinkj",
            "reward.reward_model.enable=true",
            f"reward.reward_model.model_path={tiny_judge_path}",
        ]
    )
    with pytest.raises(MissingLabelsError, match="reward.reward_model.enable_resource_pool=true"):
        get_reward_manager_cls("thinkj")(config, tiny_tokenizer, None)
