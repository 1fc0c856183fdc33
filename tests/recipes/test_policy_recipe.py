"""``+recipe=policy_grpo_judge`` (and its 1-node variant): the judge on its own pool, sized for 2x8 / 1x8 GPUs."""

from __future__ import annotations

import inspect

import pytest
from omegaconf import OmegaConf

GPUS = {"policy_grpo_judge": (8, 8), "policy_grpo_judge_1node": (4, 4)}


@pytest.mark.parametrize("recipe", GPUS)
def test_pools_and_judge_wiring(composed, recipe):
    cfg = composed[recipe]
    policy_gpus, judge_gpus = GPUS[recipe]
    assert cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node == policy_gpus
    reward_model = cfg.reward.reward_model
    assert reward_model.enable and reward_model.enable_resource_pool
    assert reward_model.nnodes * reward_model.n_gpus_per_node == judge_gpus
    # whole judge replicas fit the judge's pool
    assert judge_gpus % reward_model.rollout.tensor_model_parallel_size == 0
    # the v1 streaming reward path never wakes a sleeping reward model
    assert reward_model.rollout.free_cache_engine is False
    # the judge prompt holds the policy prompt, the reply and a reference as long as the reply
    assert reward_model.rollout.prompt_length >= cfg.data.max_prompt_length + 2 * cfg.data.max_response_length
    assert cfg.reward.reward_manager.name == "naive"  # the manager that passes the router address
    assert cfg.algorithm.adv_estimator == "grpo" and cfg.actor_rollout_ref.rollout.n > 1
    assert cfg.trainer.v1.trainer_mode == "thinkj"


def test_one_node_variant_differs_only_in_gpus_and_token_budget(composed):
    two = OmegaConf.to_container(composed["policy_grpo_judge"], resolve=False)
    one = OmegaConf.to_container(composed["policy_grpo_judge_1node"], resolve=False)
    assert (one["trainer"].pop("n_gpus_per_node"), two["trainer"].pop("n_gpus_per_node")) == (4, 8)
    assert (one["reward"]["reward_model"].pop("n_gpus_per_node"), two["reward"]["reward_model"].pop("n_gpus_per_node")) == (4, 8)
    assert (one["actor_rollout_ref"]["actor"].pop("ppo_max_token_len_per_gpu"),
            two["actor_rollout_ref"]["actor"].pop("ppo_max_token_len_per_gpu")) == (8192, 16384)
    assert one == two


def test_reward_function_loads_through_verls_loader_as_async(with_overrides):
    from verl.trainer.ppo.reward import get_custom_reward_fn

    cfg = with_overrides("policy_grpo_judge", {"reward.reward_model.model_path": "judge"})
    function = get_custom_reward_fn(cfg)
    # verl awaits an async function and hands it the router's address and the judge's tokenizer
    assert inspect.iscoroutinefunction(function.args[0])
    kwargs = dict(cfg.reward.custom_reward_function.reward_kwargs)
    signature = inspect.signature(function.args[0])
    assert set(kwargs) <= set(signature.parameters), set(kwargs) - set(signature.parameters)
    assert {"reward_router_address", "reward_model_tokenizer"} <= set(signature.parameters)
