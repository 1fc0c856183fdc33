"""The CPU online-RL stand-in: verl's reward functions as trl reward functions, and real GRPO steps."""

from __future__ import annotations

import pytest

from reward_fns import thinkj_binary, thinkj_strength
from thinkj_verl.formats import get_format
from thinkj_verl.offline.grpo import load_compute_score, run_grpo, trl_reward, verl_rows_to_trl

RIGHT = "<think>(a) is right.</think> " + get_format("strength").render("a", 3)
WRONG = "<think>(b) is longer.</think> " + get_format("strength").render("b", 1)
GT = {"better": "a", "strength": 2, "scores": None}


@pytest.mark.parametrize("module, reply", [
    (thinkj_strength, RIGHT), (thinkj_strength, WRONG), (thinkj_strength, "no verdict"),
    (thinkj_binary, "<think>x</think> Therefore, Response (a) is better."),
])
def test_trl_reward_is_the_verl_function(module, reply):
    fn = trl_reward(f"pkg://{module.__name__}")
    expected = module.compute_score("demo", reply, GT, {"truncated": False})["score"]
    assert fn(prompts=[None], completions=[[{"role": "assistant", "content": reply}]], ground_truth=[GT],
              data_source=["demo"]) == [expected]


def test_reward_kwargs_reach_the_function_and_typos_fail():
    fn = trl_reward("pkg://reward_fns.thinkj_strength", strength_weight=0.0, format_weight=0.0)
    assert fn(prompts=[None], completions=[RIGHT], ground_truth=[GT]) == [1.0]
    with pytest.raises(TypeError, match="strenght_weight"):
        trl_reward("pkg://reward_fns.thinkj_strength", strenght_weight=0.0)(
            prompts=[None], completions=[RIGHT], ground_truth=[GT])


def test_a_completion_that_used_every_token_is_truncated():
    fn = trl_reward("pkg://reward_fns.thinkj_strength", max_completion_length=4, eos_token_id=9)
    full, ended = [1, 2, 3, 4], [1, 2, 3, 9]
    cut, done = fn(prompts=[None, None], completions=[RIGHT, RIGHT], ground_truth=[GT, GT],
                   completion_ids=[full, ended])
    assert cut == thinkj_strength.compute_score("x", RIGHT, GT, {"truncated": True})["score"]
    assert done == thinkj_strength.compute_score("x", RIGHT, GT, {"truncated": False})["score"]
    assert cut < done


def test_loading_a_missing_function_names_it(tmp_path):
    path = tmp_path / "reward.py"
    path.write_text("def other(**kw):\n    return 0.0\n")
    with pytest.raises(AttributeError, match="no function 'compute_score'"):
        load_compute_score(str(path))


@pytest.fixture(scope="module")
def verl_rows(tmp_path_factory):
    import datasets

    from thinkj_verl.data.pairs import Pair
    from thinkj_verl.data.rows import judge_row

    pairs = [Pair(f"p{i}", "local", [{"role": "user", "content": f"What is {i} + {i}?"}], f"{2 * i}",
                  f"{2 * i + 1}", "a", strength=1 + i % 3) for i in range(4)]
    rows = [judge_row(pair, "strength", order, index=k)
            for k, (pair, order) in enumerate((p, o) for p in pairs for o in ("ab", "ba"))]
    path = tmp_path_factory.mktemp("verl_rows") / "train.parquet"
    datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path, rows


def test_verl_rows_become_trl_rows(verl_rows):
    path, rows = verl_rows
    trl_rows = verl_rows_to_trl([path])
    assert sorted(trl_rows.column_names) == ["data_source", "ground_truth", "prompt"]
    assert trl_rows[1]["prompt"] == rows[1]["prompt"]
    assert trl_rows[1]["ground_truth"] == rows[1]["reward_model"]["ground_truth"]
    assert [r["ground_truth"]["better"] for r in trl_rows][:2] == ["a", "b"]  # order "ba" swaps the label


def test_grpo_runs_real_steps_and_saves(tiny_judge_path, verl_rows, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    # A random tiny judge never writes a verdict, so the Think-J reward is 0 for every sample and
    # GRPO's advantages vanish; a length reward makes the samples differ and the weights move.
    reward = tmp_path / "length_reward.py"
    reward.write_text("def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kw):\n"
                      "    return {'score': len(solution_str) / 100.0}\n")
    out = tmp_path / "grpo"
    result = run_grpo(tiny_judge_path, [verl_rows[0]], str(out), reward=str(reward), steps=2,
                      num_generations=4, prompts_per_step=1, max_completion_length=8, learning_rate=1e-2)
    assert result.steps == 2 and len(result.rewards) == 2
    assert all(r > 0 for r in result.rewards)
    before = AutoModelForCausalLM.from_pretrained(tiny_judge_path).state_dict()
    after = AutoModelForCausalLM.from_pretrained(out).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
