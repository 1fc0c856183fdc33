"""The thinkj reward manager through verl's own loaders, config tree and DataProto (CPU)."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from verl import DataProto

S = "<think>fine</think>Therefore, Response ({v}) is better, and the strength is [[{s}]]."
LABEL_A2 = {"better": "a", "strength": 2, "scores": None}
PROMPT_LEN, RESPONSE_LEN = 8, 64


def test_entry_point_registers_the_manager_in_a_fresh_interpreter():
    code = (
        "import verl\n"
        "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls\n"
        "print(get_reward_manager_cls('thinkj').__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "thinkj_verl.reward_manager"


@pytest.mark.parametrize("first", ["thinkj_verl.reward_manager", "thinkj_verl.j1.reward_manager", "thinkj_verl.trainer"])
def test_importing_one_of_ours_first_registers_both_managers(first):
    # the plugin registers them when verl's registry is imported, which each of these does first
    code = (
        f"import {first}\n"
        "from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER\n"
        "print(REWARD_MANAGER['thinkj'].__name__, REWARD_MANAGER['thinkj_pair'].__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ThinkJRewardManager", "ThinkjPairRewardManager"]


def test_entry_point_module_imports_without_error():
    # verl hides a failing plugin at DEBUG level; load the entry point the way verl does and let it raise.
    from importlib.metadata import entry_points

    (entry_point,) = [ep for ep in entry_points(group="verl.plugins") if ep.name == "thinkj"]
    assert entry_point.value == "thinkj_verl.plugin"
    entry_point.load()


def _batch(tokenizer, rows):
    """A DataProto shaped like a rollout: left-padded prompts, right-padded responses."""
    prompts, responses, masks = [], [], []
    for row in rows:
        prompt = tokenizer("Judge (a) vs (b).")["input_ids"][-PROMPT_LEN:]
        prompt = [tokenizer.pad_token_id] * (PROMPT_LEN - len(prompt)) + prompt
        prompt_mask = [0 if t == tokenizer.pad_token_id else 1 for t in prompt]
        if row.get("fill"):
            response = (tokenizer(row["text"])["input_ids"] * RESPONSE_LEN)[:RESPONSE_LEN]
        else:
            response = tokenizer(row["text"])["input_ids"] + [tokenizer.eos_token_id]
        assert len(response) <= RESPONSE_LEN
        response_mask = [1] * len(response) + [0] * (RESPONSE_LEN - len(response))
        response = response + [tokenizer.pad_token_id] * (RESPONSE_LEN - len(response))
        prompts.append(prompt)
        responses.append(response)
        masks.append(prompt_mask + response_mask)
    prompts, responses = torch.tensor(prompts), torch.tensor(responses)
    return DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": responses,
            "input_ids": torch.cat([prompts, responses], dim=1),
            "attention_mask": torch.tensor(masks),
        },
        non_tensors={
            "data_source": np.array(["thinkj/helpsteer2"] * len(rows), dtype=object),
            "reward_model": np.array([{"style": "rule", "ground_truth": r["label"]} for r in rows], dtype=object),
            "extra_info": np.array([{"index": i, "pair_id": f"p{i}"} for i in range(len(rows))], dtype=object),
        },
    )


ROWS = [
    {"text": S.format(v="a", s=2), "label": LABEL_A2},  # right, exact strength
    {"text": S.format(v="b", s=2), "label": LABEL_A2},  # wrong side
    {"text": "I cannot decide.", "label": LABEL_A2},  # unparsable
    {"text": S.format(v="a", s=2), "label": LABEL_A2, "fill": True},  # cut at the length limit
    {"text": S.format(v="a", s=2), "label": {"better": "maybe"}},  # a label the function rejects
]
EXPECTED_SCORES = [2.2, 1.0, 0.0, 0.0, 0.0]


def _score_with_worker(config, data):
    """Score as verl's reward loop does: a RewardLoopWorker, one run_single per sample."""
    from verl.experimental.reward_loop import RewardLoopWorker

    worker = RewardLoopWorker(config)
    return worker.loop.run_until_complete(worker.compute_score_batch(data)), worker


@pytest.fixture(scope="module")
def thinkj_config(compose_ppo, tiny_judge_path):
    return compose_ppo(
        [f"actor_rollout_ref.model.path={tiny_judge_path}", "reward.reward_manager.name=thinkj", f"data.max_response_length={RESPONSE_LEN}"]
    )


def test_reward_loop_scores_right_wrong_unparsable_truncated_and_raising(thinkj_config, tiny_tokenizer, caplog):
    data = _batch(tiny_tokenizer, ROWS)
    with caplog.at_level("WARNING", logger="thinkj_verl.reward_manager"):
        outputs, worker = _score_with_worker(thinkj_config, data)
    from thinkj_verl.reward_manager import ThinkJRewardManager

    assert type(worker.reward_manager) is ThinkJRewardManager
    assert [o["reward_score"] for o in outputs] == pytest.approx(EXPECTED_SCORES)
    infos = [o["reward_extra_info"] for o in outputs]
    assert len({tuple(sorted(info)) for info in infos}) == 1  # verl stacks by the first row's keys
    assert [i["acc"] for i in infos] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert [i["format"] for i in infos] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert [i["verdict"] for i in infos] == [1.0, 2.0, 0.0, 0.0, 0.0]
    assert [i["strength_err"] for i in infos] == [0.0, -1.0, -1.0, -1.0, -1.0]
    assert [i["truncated"] for i in infos] == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert [i["reward_error"] for i in infos] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert worker.reward_manager.num_failures == 1
    assert "index=4 (pair p4)" in caplog.text and "'better' must be 'a' or 'b'" in caplog.text

    rm_scores = ThinkJRewardManager.assemble_rm_scores(data, [o["reward_score"] for o in outputs])
    last = data.batch["attention_mask"][:, PROMPT_LEN:].sum(dim=1) - 1
    for row, position in enumerate(last.tolist()):
        assert rm_scores[row, position].item() == pytest.approx(EXPECTED_SCORES[row])
        assert rm_scores[row].sum().item() == pytest.approx(EXPECTED_SCORES[row])


def test_reward_kwargs_reach_the_function_through_verl_config(compose_ppo, tiny_judge_path, tiny_tokenizer):
    config = compose_ppo([
        f"actor_rollout_ref.model.path={tiny_judge_path}",
        "reward.reward_manager.name=thinkj",
        "reward.custom_reward_function.path=pkg://reward_fns.thinkj_strength",
        "+reward.custom_reward_function.reward_kwargs.strength_weight=0.0",
        "+reward.custom_reward_function.reward_kwargs.format_weight=0.5",
    ])
    outputs, _ = _score_with_worker(config, _batch(tiny_tokenizer, ROWS[:2]))
    assert [o["reward_score"] for o in outputs] == pytest.approx([1.5, 0.5])


def test_default_function_takes_reward_kwargs_without_a_path(compose_ppo, tiny_judge_path, tiny_tokenizer):
    config = compose_ppo([
        f"actor_rollout_ref.model.path={tiny_judge_path}",
        "reward.reward_manager.name=thinkj",
        "+reward.custom_reward_function.reward_kwargs.strength_weight=1.0",
    ])
    outputs, _ = _score_with_worker(config, _batch(tiny_tokenizer, ROWS[:1]))
    assert outputs[0]["reward_score"] == pytest.approx(3.0)


def test_swapped_reward_function_is_used(compose_ppo, tiny_judge_path, tiny_tokenizer):
    config = compose_ppo([
        f"actor_rollout_ref.model.path={tiny_judge_path}",
        "reward.reward_manager.name=thinkj",
        "reward.custom_reward_function.path=pkg://reward_fns.answer_tag",
    ])
    rows = [{"text": "<answer>[[A]]</answer>", "label": LABEL_A2}, {"text": S.format(v="a", s=2), "label": LABEL_A2}]
    outputs, _ = _score_with_worker(config, _batch(tiny_tokenizer, rows))
    assert [o["reward_score"] for o in outputs] == [1.0, -1.0]


def test_typo_in_reward_kwargs_fails_when_the_manager_is_built(compose_ppo, tiny_judge_path, tiny_tokenizer):
    from verl.trainer.ppo.reward import load_reward_manager

    config = compose_ppo([
        "reward.reward_manager.name=thinkj",
        "reward.custom_reward_function.path=pkg://reward_fns.thinkj_strength",
        "+reward.custom_reward_function.reward_kwargs.strenght_weight=0.0",
    ])
    with pytest.raises(ValueError, match=r"reward_kwargs.*unknown keyword argument\(s\) \['strenght_weight'\]"):
        load_reward_manager(config, tiny_tokenizer)


def test_our_functions_run_inline_and_foreign_ones_in_a_thread(compose_ppo, tiny_judge_path, tiny_tokenizer, tmp_path):
    from verl.trainer.ppo.reward import load_reward_manager

    default = load_reward_manager(compose_ppo(["reward.reward_manager.name=thinkj"]), tiny_tokenizer)
    swapped = load_reward_manager(compose_ppo([
        "reward.reward_manager.name=thinkj",
        "reward.custom_reward_function.path=pkg://reward_fns.thinkj_binary",
        "+reward.custom_reward_function.reward_kwargs.format_weight=0.5",
    ]), tiny_tokenizer)
    assert default.is_pure and swapped.is_pure

    # A user's own function from a file: scored in a worker thread, a plain float is the score.
    foreign_file = tmp_path / "length_reward.py"
    foreign_file.write_text("def compute_score(data_source, solution_str, ground_truth, extra_info=None):\n"
                            "    return float(len(solution_str))\n")
    config = compose_ppo([
        f"actor_rollout_ref.model.path={tiny_judge_path}",
        "reward.reward_manager.name=thinkj",
        f"reward.custom_reward_function.path={foreign_file}",
    ])
    outputs, worker = _score_with_worker(config, _batch(tiny_tokenizer, [{"text": "abc", "label": LABEL_A2}]))
    assert not worker.reward_manager.is_pure
    assert outputs[0]["reward_score"] == 3.0
    assert outputs[0]["reward_extra_info"] == {"acc": 3.0, "truncated": 0.0, "reward_error": 0.0}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "abc", "null", "true"])
def test_bad_reward_weight_fails_when_the_manager_is_built(compose_ppo, tiny_judge_path, tiny_tokenizer, value):
    from verl.trainer.ppo.reward import load_reward_manager

    config = compose_ppo([
        "reward.reward_manager.name=thinkj",
        "reward.custom_reward_function.path=pkg://reward_fns.thinkj_strength",
        f"+reward.custom_reward_function.reward_kwargs.format_weight={value}",
    ])
    with pytest.raises(ValueError, match=r"^reward\.custom_reward_function\.reward_kwargs\.format_weight: .*not a finite number"):
        load_reward_manager(config, tiny_tokenizer)


def test_labels_int_would_refuse_are_reward_errors(thinkj_config, tiny_tokenizer, caplog):
    rows = [{"text": S.format(v="a", s=2), "label": label} for label in ("--2", "+-1", "\u00b2", "9" * 5000, "1.5")]
    with caplog.at_level("WARNING", logger="thinkj_verl.reward_manager"):
        outputs, worker = _score_with_worker(thinkj_config, _batch(tiny_tokenizer, rows))
    assert [o["reward_extra_info"]["reward_error"] for o in outputs] == [1.0] * len(rows)
    assert [o["reward_score"] for o in outputs] == [0.0] * len(rows)
    assert worker.reward_manager.num_failures == len(rows)
    assert "is not an integer label" in caplog.text and "Traceback" not in caplog.text
