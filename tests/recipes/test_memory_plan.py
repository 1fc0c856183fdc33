"""The per-GPU memory plan (thinkj_verl/memory_plan.py) against numbers worked by hand.

Published dimensions (the models' config.json on the Hugging Face hub):

    Qwen2.5-7B:  28 layers, hidden 3584, intermediate 18944, 28 heads, 4 KV heads, vocab 152064
    Qwen2.5-32B: 64 layers, hidden 5120, intermediate 27648, 40 heads, 8 KV heads, vocab 152064
    both: head_dim = hidden / heads = 128, q/k/v biases, untied input and output embeddings.

Parameters, 7B, per layer:
    q 3584*3584 + 3584 = 12,848,640; k and v 3584*512 + 512 = 1,835,520 each; o 3584*3584 = 12,845,056
    MLP 3 * 3584 * 18944 = 203,685,888; two norms 2 * 3584 = 7,168        -> 233,057,792 per layer
    28 layers 6,525,618,176 + embeddings and lm_head 2 * 152064 * 3584 = 1,089,994,752 + final norm 3,584
    = 7,615,616,512 (the published "7.61B").
Parameters, 32B, per layer:
    q 5120*5120 + 5120 = 26,219,520; k and v 5120*1024 + 1024 = 5,243,904 each; o 26,214,400
    MLP 3 * 5120 * 27648 = 424,673,280; norms 10,240                       -> 487,605,248 per layer
    64 layers 31,206,735,872 + 2 * 152064 * 5120 = 1,557,135,360 + 5,120 = 32,763,876,352 ("32.8B").
KV cache per token (bf16, keys and values, all layers): 2 * layers * kv_heads * 128 * 2 bytes
    7B: 2 * 28 * 4 * 128 * 2 = 57,344 B;  32B: 2 * 64 * 8 * 128 * 2 = 262,144 B.

thinkj_grpo on 2 x 8 GPUs with a 32B judge (GiB = 2**30 bytes):
    rollout: vLLM 0.8 * 80 = 64.0; actor weights and Adam state offloaded (0); reference offloaded (0);
             runtime 2.0                                                                 -> 66.0
    actor update: fp32 weights 4 * P / 16 = 8,190,969,088 B = 7.628; fp32 gradients 7.628;
             Adam 8 * P / 16 = 15.257; token budget T = 16384:
             checkpointed hidden states T * 5120 * 2 B * 64 = 10,737,418,240 B = 10.000,
             one layer recomputed with gradients T * (4*5120 + 3*27648) * 2 B * 2 = 6.3125,
             logits T * 152064 * 6 B = 14,948,499,456 B = 13.922; runtime 2.0           -> 62.75
    vLLM at TP 4: weights 2 * P / 4 = 15.257; KV 64 - 15.257 - 2 = 46.743 GiB; one sequence of
             4096 tokens 4096 * 262,144 / 4 = 0.25 GiB -> 186 sequences at once.
"""

from __future__ import annotations

import json

import pytest

from thinkj_verl import memory_plan, preflight
from thinkj_verl.memory_plan import GIB, ModelShape, Setup, Trained, plan, problems

QWEN25_7B = {"model_type": "qwen2", "num_hidden_layers": 28, "hidden_size": 3584, "intermediate_size": 18944,
             "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064, "tie_word_embeddings": False,
             "architectures": ["Qwen2ForCausalLM"]}
QWEN25_32B = {"model_type": "qwen2", "num_hidden_layers": 64, "hidden_size": 5120, "intermediate_size": 27648,
              "num_attention_heads": 40, "num_key_value_heads": 8, "vocab_size": 152064, "tie_word_embeddings": False,
              "architectures": ["Qwen2ForCausalLM"]}
P7, P32 = 7_615_616_512, 32_763_876_352


def test_parameter_counts_and_kv_cache_match_the_published_models():
    s7, s32 = ModelShape.from_config(QWEN25_7B), ModelShape.from_config(QWEN25_32B)
    assert (s7.params(), s32.params()) == (P7, P32)
    assert (s7.kv_bytes_per_token(), s32.kv_bytes_per_token()) == (57_344, 262_144)
    # A critic swaps the vocabulary head for a one-output value head.
    assert s32.params(lm_head=False) == P32 - 152064 * 5120 + 5120


def test_an_explicit_head_dim_is_used():
    # Qwen3-32B: 64 heads of 128 (8192 wide) on a 5120 hidden size, no q/k/v bias; published "32.8B".
    qwen3 = {"model_type": "qwen3", "num_hidden_layers": 64, "hidden_size": 5120, "intermediate_size": 25600,
             "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
             "tie_word_embeddings": False, "attention_bias": False}
    shape = ModelShape.from_config(qwen3)
    assert shape.head_dim == 128 and round(shape.params() / 1e9, 1) == 32.8
    assert shape.kv_bytes_per_token() == 2 * 64 * 8 * 128 * 2


def _phase(phases, name):
    return next(p for p in phases if p.name == name)


def test_grpo_recipe_with_a_32b_judge_matches_the_hand_worked_plan(composed):
    setup = memory_plan.setup_from_config(composed["thinkj_grpo"], QWEN25_32B, 80)
    assert (setup.gpus, setup.seq_len, setup.train_tokens, setup.tp) == (16, 4096, 16384, 4)
    phases, engine = plan(setup)
    rollout, update = _phase(phases, "rollout"), _phase(phases, "actor update")
    assert rollout.total == pytest.approx(66.0)
    parts = dict(update.parts)
    assert parts["actor weights"] == parts["actor gradients"] == pytest.approx(8_190_969_088 / GIB)
    assert parts["actor optimizer"] == pytest.approx(2 * 8_190_969_088 / GIB)
    assert parts["activations"] == pytest.approx(10.0 + 6.3125)
    assert parts["logits"] == pytest.approx(14_948_499_456 / GIB)
    assert update.total == pytest.approx(62.75, abs=0.01)
    assert engine["weights_gib"] == pytest.approx(2 * P32 / 4 / GIB)
    assert engine["kv_per_sequence_gib"] == pytest.approx(0.25)
    assert engine["sequences_in_cache"] == 186
    assert engine["sequences_per_replica"] == 1024 * 8 // 4  # 4 vLLM replicas of TP 4 on 16 GPUs
    assert problems(setup) == []


@pytest.mark.parametrize("recipe", ["thinkj_grpo", "thinkj_ppo", "thinkj_reinforce_pp", "thinkj_grpo_1node",
                                    "thinkj_ppo_1node", "thinkj_reinforce_pp_1node"])
@pytest.mark.parametrize("model", [QWEN25_7B, QWEN25_32B], ids=["7B", "32B"])
def test_every_recipe_fits_the_papers_judge_sizes_on_80_gib(composed, recipe, model):
    setup = memory_plan.setup_from_config(composed[recipe], model, 80, model)
    assert problems(setup) == []


def test_verl_defaults_do_not_fit_a_32b_judge_and_the_fail_names_the_offload(with_overrides):
    """The issue's reading: fp32 weights + Adam state stay on the GPU while vLLM takes 0.8 of it."""
    cfg = with_overrides("thinkj_grpo", {"actor_rollout_ref.actor.fsdp_config.param_offload": False,
                                         "actor_rollout_ref.actor.fsdp_config.optimizer_offload": False})
    found = dict(problems(memory_plan.setup_from_config(cfg, QWEN25_32B, 80)))
    # 64 + 7.628 weights + 15.257 Adam + 2 = 88.9 GiB
    assert "88.9 GiB per GPU > 80 GiB" in found["memory: rollout"]
    assert "param_offload=true and optimizer_offload=true" in found["memory: rollout"]
    # At 7B the same settings fit: 64 + 1.77 + 3.55 + 2 = 71.3
    assert problems(memory_plan.setup_from_config(cfg, QWEN25_7B, 80)) == []


def test_fixed_micro_batches_of_table_11_overflow_and_the_fail_names_the_budget(with_overrides):
    # 16 x 4096 tokens per micro batch: logits alone 65536 * 152064 * 6 B = 55.7 GiB.
    cfg = with_overrides("thinkj_grpo", {"actor_rollout_ref.actor.use_dynamic_bsz": False})
    setup = memory_plan.setup_from_config(cfg, QWEN25_7B, 80)
    assert setup.train_tokens == 16 * 4096
    assert dict(_phase(plan(setup)[0], "actor update").parts)["logits"] == pytest.approx(65536 * 152064 * 6 / GIB)
    found = dict(problems(setup))
    assert "ppo_max_token_len_per_gpu" in found["memory: actor update"]


def test_one_node_with_the_two_node_budget_fails_for_32b(with_overrides):
    cfg = with_overrides("thinkj_grpo_1node", {"actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 16384})
    found = dict(problems(memory_plan.setup_from_config(cfg, QWEN25_32B, 80)))
    # 61.0 states + 16.3 activations + 13.9 logits + 2 = 93.3 GiB on 8 GPUs
    assert "93.3 GiB per GPU" in found["memory: actor update"]


def test_a_token_budget_below_one_sequence_and_an_empty_kv_cache_are_named():
    s32 = ModelShape.from_config(QWEN25_32B)
    setup = Setup(gpus=16, gpu_gib=80, actor=Trained(s32, param_offload=True, optimizer_offload=True), seq_len=4096,
                  train_tokens=2048, logprob_tokens=4096, tp=1, gpu_memory_utilization=0.8, sequences_per_replica=512)
    found = dict(problems(setup))
    assert "cannot hold one sequence of 4096" in found["memory: token budget"]
    # TP 1: 61.0 GiB of bf16 weights in vLLM's 64 leave 1.0 after the 2 GiB engine overhead, < 1 GiB per sequence
    assert "tensor_model_parallel_size" in found["memory: KV cache"]


def test_critic_budget_is_what_verls_v1_critic_runs_on(with_overrides):
    ppo = memory_plan.setup_from_config(with_overrides("thinkj_ppo", {}), QWEN25_7B, 80, QWEN25_7B)
    assert ppo.critic_tokens == 32768  # verl's default critic.ppo_infer_max_token_len_per_gpu
    assert memory_plan.setup_from_config(with_overrides("thinkj_ppo_1node", {}), QWEN25_7B, 80).critic_tokens == 16384


def test_preflight_reads_only_config_json(composed, tmp_path, with_overrides):
    (tmp_path / "config.json").write_text(json.dumps(QWEN25_32B))  # no weights, no tokenizer
    cfg = with_overrides("thinkj_grpo", {"actor_rollout_ref.model.path": str(tmp_path)})
    rows = memory_plan.preflight_rows(cfg, 80)
    assert rows[0][:2] == ("memory plan", "OK") and "actor update 62.7 GiB" in rows[0][2]
    small = memory_plan.preflight_rows(cfg, 40)  # rollout 0.8 x 40 + 2 = 34 fits; the update's 62.7 does not
    assert small[0][1] == "FAIL" and [(name, status) for name, status, _ in small[1:]] == [("memory: actor update", "FAIL")]


def test_preflight_runs_the_plan_and_refuses_a_bad_gpu_memory(tiny_judge_path, capsys):
    base = ["+recipe=thinkj_grpo", f"actor_rollout_ref.model.path={tiny_judge_path}",
            "data.train_files=/no/such/train.jsonl", "data.val_files=/no/such/val.jsonl"]
    rows = {c.name: c for c in preflight.run_checks(base, sample_rows=1, score_rows=0).checks}
    assert rows["memory plan"].status == preflight.OK
    rows = {c.name: c for c in preflight.run_checks(base, sample_rows=1, score_rows=0, gpu_memory=8).checks}
    assert rows["memory: rollout"].status == preflight.FAIL  # vLLM's 0.8 x 8 + 2 GiB runtime > 8
    for bad in ("nan", "0", "-1", "inf"):
        assert preflight.main([*base, "--gpu-memory", bad]) == 2
        assert "--gpu-memory must be a positive number" in capsys.readouterr().err
