"""The ``thinkj_pair`` reward manager through verl's real reward path, on CPU.

A J1 session's outputs go through verl's own ``AgentLoopWorker._compute_score`` (the step the v1
trainer runs when a session ends) to a ``RewardLoopWorker`` Ray actor holding our manager: one
reward for the session, given by verl to every output. Checked: what each weight does, as the
manager's docstring says, by override of ``reward.custom_reward_function.reward_kwargs``; the
pointwise session; bad kwargs stop the launch naming the key.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from thinkj_verl.data.pairs import Pair
from thinkj_verl.data.rows import pair_row
from thinkj_verl.formats import get_format
from thinkj_verl.ground_truth import GroundTruth

pytestmark = pytest.mark.slow(seconds=75)  # in `make test`; conftest.py orders by it

PAIR = Pair("p:7", "local", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a", strength=2))
BINARY = "pkg://reward_fns.thinkj_binary"


def _reply(verdict: str) -> str:
    return f"<think>ok</think>{get_format('binary').render(verdict=verdict)}"


def _point(score: int) -> str:
    return f"<think>ok</think>{get_format('pointwise').render(score=score)}"


SETTINGS = {
    "default": (),
    "no_consistency": ("reward.custom_reward_function.reward_kwargs.consistency_weight=0.0",),
    "consistency_only": ("reward.custom_reward_function.reward_kwargs.order_weight=0.0",),
    "no_format": ("reward.custom_reward_function.reward_kwargs.format_weight=0.0",),
    "pointwise": ("data.thinkj.format=pointwise", "reward.custom_reward_function.reward_kwargs.format_weight=0.5"),
}


@pytest.fixture(scope="module")
def managers(compose_ppo, tiny_judge_path):
    """verl's RewardLoopManager for a reward setting of SETTINGS, one at a time in one Ray session
    (its workers have fixed actor names, so the previous setting's are stopped first)."""
    import ray
    from verl.experimental.reward_loop import RewardLoopManager

    current = {}

    def get(name):
        if name not in current:
            for manager in current.values():
                for handle in manager.reward_loop_worker_handles:
                    ray.kill(handle)
            current.clear()
            config = compose_ppo([
                "+recipe=j1_pairwise_grpo", f"actor_rollout_ref.model.path={tiny_judge_path}",
                "reward.num_workers=1", "data.max_response_length=64", *SETTINGS[name],
            ])
            current[name] = RewardLoopManager(config)
        return current[name]

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    yield get
    ray.shutdown()


def _session(manager, tokenizer, replies: dict[str, str], fmt: str = "binary") -> list[dict]:
    """verl's own AgentLoopWorker._compute_score on one session's outputs; each output's
    (reward, reward_extra_info) as verl leaves them after its v1 post-processing copies the
    session's reward to every output (`AgentLoopWorkerTQ._agent_loop_postprocess`)."""
    from verl.experimental.agent_loop.agent_loop import AgentLoopMetrics, AgentLoopOutput, AgentLoopWorker

    row = pair_row(PAIR, fmt, index=0)
    outputs = []
    for view, text in replies.items():
        prompt = tokenizer(f"Judge view {view}.")["input_ids"]
        response = tokenizer(text)["input_ids"] + [tokenizer.eos_token_id]
        outputs.append(AgentLoopOutput(prompt_ids=prompt, response_ids=response, response_mask=[1] * len(response),
                                       num_turns=2, metrics=AgentLoopMetrics(), extra_fields={"thinkj_view": view}))
    worker = AgentLoopWorker.__new__(AgentLoopWorker)
    worker.reward_loop_worker_handles = manager.reward_loop_worker_handles
    worker.processor = None
    worker.mm_processor_kwargs = None
    kwargs = {key: row[key] for key in ("data_source", "reward_model", "extra_info")}
    asyncio.run(worker._compute_score(outputs, kwargs))
    final = outputs[-1]
    # the copy verl's v1 worker makes (agent_loop_tq.py): every output gets the session's reward
    return [{"score": final.reward_score, **final.extra_fields["reward_extra_info"]} for _ in outputs]


RIGHT_BOTH = {"ab": _reply("a"), "ba": _reply("b")}  # canonical (a) is better: right in both orders
ALWAYS_A = {"ab": _reply("a"), "ba": _reply("a")}  # right in ab, wrong in ba
# Session reward, as documented: consistency_weight * [right in both] + order_weight * mean(per-order),
# per order (binary function) accuracy_weight * acc + format_weight * format.
EXPECTED = {  # setting: (right in both orders, always "(a)")
    "default": (1.0 * 1 + 1.0 * 2.0, 1.0 * 0 + 1.0 * (2.0 + 1.0) / 2),
    "no_consistency": (2.0, 1.5),
    "consistency_only": (1.0, 0.0),
    "no_format": (1.0 + 1.0, 0.0 + (1.0 + 0.0) / 2),
}


@pytest.mark.parametrize("setting", list(EXPECTED))
def test_session_reward_by_weight_override(managers, tiny_tokenizer, setting):
    both = _session(managers(setting), tiny_tokenizer, RIGHT_BOTH)
    one = _session(managers(setting), tiny_tokenizer, ALWAYS_A)
    assert (both[0]["score"], one[0]["score"]) == pytest.approx(EXPECTED[setting])
    assert both[0] == both[1] and one[0] == one[1]  # every output of a session receives the same
    assert (both[0]["pair_acc"], both[0]["consistent"], both[0]["acc_ab"], both[0]["acc_ba"]) == (1.0, 1.0, 1.0, 1.0)
    assert (one[0]["acc_ab"], one[0]["acc_ba"], one[0]["pair_acc"], one[0]["consistent"]) == (1.0, 0.0, 0.0, 0.0)
    assert (one[0]["verdict_ab"], one[0]["verdict_ba"]) == (1.0, 1.0)  # "(a)" as shown, in both orders


def test_pointwise_session_compares_the_two_scores(managers, tiny_tokenizer):
    manager = managers("pointwise")
    right = _session(manager, tiny_tokenizer, {"a": _point(8), "b": _point(3)}, "pointwise")[0]
    assert right["score"] == pytest.approx(1.0 + 0.5 * 1.0)
    assert (right["acc"], right["tie"], right["score_gap"], right["score_a"], right["score_b"]) == (1.0, 0.0, 5.0, 8.0, 3.0)
    tie = _session(manager, tiny_tokenizer, {"a": _point(5), "b": _point(5)}, "pointwise")[0]
    assert tie["score"] == pytest.approx(0.5) and tie["acc"] == 0.0 and tie["tie"] == 1.0
    wrong = _session(manager, tiny_tokenizer, {"a": _point(2), "b": "no score"}, "pointwise")[0]
    assert wrong["score"] == pytest.approx(0.5 * 0.5) and wrong["scored"] == 0.0 and wrong["score_b"] == -1.0


@pytest.mark.parametrize("override,words", [
    ("reward.custom_reward_function.reward_kwargs.consistency_weight=oops", "consistency_weight: 'oops' is not a finite number"),
    ("+reward.custom_reward_function.reward_kwargs.consistency_wieght=1.0", "consistency_wieght"),
])
def test_bad_session_kwargs_stop_the_launch_naming_the_key(compose_ppo, tiny_judge_path, override, words):
    from thinkj_verl.reward_manager import check_reward_manager

    config = compose_ppo(["+recipe=j1_pairwise_grpo", f"actor_rollout_ref.model.path={tiny_judge_path}", override])
    with pytest.raises(ValueError, match=words):
        check_reward_manager(config)


def test_pair_rows_carry_the_pair_and_its_canonical_label():
    row = pair_row(PAIR, "binary", index=3)
    assert row["extra_info"]["order"] == "pair" and row["reward_model"]["ground_truth"]["better"] == "a"
    assert Pair.from_dict(json.loads(row["extra_info"]["pair"])) == PAIR
