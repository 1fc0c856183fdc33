"""J1 through verl's real ``python -m verl.trainer.main_ppo`` on the CPU backend.

Three runs, each serving several assertions:
- ``+recipe=j1_pairwise_grpo``, 2 steps, the coin-flip format judge (strength format by
  override): per-step diagnostics; GRPO advantages read off the trained batch (the trainer's
  dump under ``trainer.rollout_data_dir``): equal for the two orders of a session, different
  across the sessions of a pair when their rewards differ;
- ``+recipe=j1_pointwise_grpo``, 2 steps (two epochs of two pairs), greedy, a planted judge
  that scores every response [[5]]: per-step diagnostics, every session a tie (so wrong);
- a planted pairwise judge, 1 step, no validation or checkpoint, greedy (``top_k=1``) on two
  pairs, that always answers "(a)": pair accuracy and consistency 0, position bias 1.0 against
  0.5. (A planted judge memorising the right verdict of each shown prompt answered every prompt
  right under transformers' greedy decoding in its fixture, yet only 3/4 and then 1/2 of its
  sessions right in verl's rollout; not kept until that gap is understood. Consistency 1 for
  right-in-both sessions is checked through verl's reward loop in test_j1_reward.py.)
The planted judges are tiny models taught in the fixtures (seconds of next-token training) and
checked there to answer as planted.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from tests.cpu.conftest import run_main_ppo
from thinkj_verl.data.pairs import read_pairs, write_pairs
from thinkj_verl.formats import get_format
from thinkj_verl.prompts import judge_messages, label_for, pointwise_messages

pytestmark = pytest.mark.slow(seconds=320)  # in `make test`; conftest.py orders by it

PLANTED_STEP = ["trainer.total_training_steps=1", "trainer.save_freq=-1", "trainer.test_freq=-1",
                "actor_rollout_ref.rollout.n=2", "actor_rollout_ref.rollout.top_k=1"]


def _failure(run) -> str:
    return f"exit {run.returncode}; log tail:\n{run.log[-4000:]}"


def _teach(path, prompts: list[str], replies: list[str], max_steps: int = 1500, lr: float = 3e-3) -> str:
    """A tiny judge taught to answer ``replies[i]`` to ``prompts[i]`` (full-batch next-token
    training until every reply token of every prompt has probability above 0.95, so a greedy
    rollout cannot flip on the small numeric differences of verl's batched generation), checked
    by greedy decoding of every prompt."""
    import torch

    from thinkj_verl.tiny import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer(vocab_size=1024, extra_text=prompts)
    model = build_tiny_model(tokenizer, seed=0)
    chats = [tokenizer(tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                                     tokenize=False))["input_ids"] for p in prompts]
    answers = [tokenizer(r)["input_ids"] + [tokenizer.eos_token_id] for r in replies]
    width = max(len(c) + len(a) for c, a in zip(chats, answers))
    pad = [width - len(c) - len(a) for c, a in zip(chats, answers)]
    input_ids = torch.tensor([[0] * p + c + a for p, c, a in zip(pad, chats, answers)])
    mask = torch.tensor([[0] * p + [1] * (len(c) + len(a)) for p, c, a in zip(pad, chats, answers)])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding must not shift positions
    labels = torch.tensor([[-100] * (width - len(a)) + a for a in answers])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    torch.manual_seed(0)
    for step in range(max_steps):
        logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions).logits[:, :-1]
        token_loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels[:, 1:], reduction="none")
        taught = labels[:, 1:] != -100
        worst = token_loss[taught].max().item()
        if worst < 0.05:  # every reply token above probability 0.95
            break
        (token_loss[taught].mean()).backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    for chat, reply in zip(chats, replies):
        out = model.generate(torch.tensor([chat]), do_sample=False, max_new_tokens=40, pad_token_id=tokenizer.eos_token_id)
        said = tokenizer.decode(out[0, len(chat):], skip_special_tokens=True)
        assert said == reply, f"planted judge not learnt after {step + 1} steps (worst token loss {worst:.3f}): {said!r}"
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def two_pairs(tmp_path_factory, judge_pairs) -> str:
    """The two shortest training pairs, one with each response better (a planted judge's world)."""
    pairs = sorted(read_pairs(judge_pairs["train"]), key=lambda p: len(str(p.conversation)) + len(p.response_a + p.response_b))
    chosen = [next(p for p in pairs if p.label.better == "a"), next(p for p in pairs if p.label.better == "b")]
    path = tmp_path_factory.mktemp("two_pairs") / "pairs.parquet"
    write_pairs(chosen, path)
    return str(path)


TWO_PAIRS_A_STEP = ["data.train_batch_size=2", "actor_rollout_ref.actor.ppo_mini_batch_size=2"]


def _pairwise_prompts(pairs_file, verdict_for) -> tuple[list[str], list[str]]:
    prompts, replies = [], []
    for pair in read_pairs(pairs_file):
        for order in ("ab", "ba"):
            prompts.append(judge_messages(pair, "binary", order)[0]["content"])
            verdict = verdict_for(label_for(pair, order).better)
            replies.append(f"<think>ok</think>{get_format('binary').render(verdict=verdict)}")
    return prompts, replies


def _planted_run(tmp_path_factory, name, judge, pairs_file):
    return run_main_ppo(tmp_path_factory.mktemp(name), [
        "+recipe=j1_pairwise_grpo", "+platform=cpu", f"actor_rollout_ref.model.path={judge}",
        f"data.train_files={pairs_file}", f"data.val_files={pairs_file}", *TWO_PAIRS_A_STEP, *PLANTED_STEP,
    ])


@pytest.fixture(scope="module")
def always_a_run(tmp_path_factory, two_pairs):
    judge = _teach(tmp_path_factory.mktemp("always_a"), *_pairwise_prompts(two_pairs, lambda better: "a"))
    return _planted_run(tmp_path_factory, "always_a_run", judge, two_pairs)


@pytest.fixture(scope="module")
def pairwise_run(tmp_path_factory, judge_pairs, format_judge):
    out = tmp_path_factory.mktemp("j1_pairwise")
    return run_main_ppo(out, [
        "+recipe=j1_pairwise_grpo", "+platform=cpu", f"actor_rollout_ref.model.path={format_judge}",
        f"data.train_files={judge_pairs['train']}", f"data.val_files={judge_pairs['val']}",
        # the format judge was taught the strength sentence
        "data.thinkj.format=strength", "reward.custom_reward_function.path=pkg://reward_fns.thinkj_strength",
        f"trainer.rollout_data_dir={out / 'rollouts'}",
    ])


@pytest.fixture(scope="module")
def pointwise_run(tmp_path_factory, two_pairs):
    prompts = [pointwise_messages(pair, "pointwise", r)[0]["content"] for pair in read_pairs(two_pairs) for r in "ab"]
    five = f"<think>ok</think>{get_format('pointwise').render(score=5)}"
    judge = _teach(tmp_path_factory.mktemp("always_five"), prompts, [five] * len(prompts))
    return run_main_ppo(tmp_path_factory.mktemp("j1_pointwise"), [
        "+recipe=j1_pointwise_grpo", "+platform=cpu", f"actor_rollout_ref.model.path={judge}",
        # the two pairs the judge was taught on: two epochs of one step
        f"data.train_files={two_pairs}", f"data.val_files={two_pairs}", *TWO_PAIRS_A_STEP,
        "actor_rollout_ref.rollout.top_k=1",
    ])


SESSION_KEYS = ("judge/acc_ab", "judge/acc_ba", "judge/pair_acc", "judge/consistency", "judge/sessions",
                "judge/format_rate", "judge/truncation_rate", "judge/verdict_a_share", "judge/label_a_share",
                "judge/reply_tokens")


def test_pairwise_recipe_runs_two_steps_with_session_diagnostics(pairwise_run):
    assert pairwise_run.returncode == 0, _failure(pairwise_run)
    assert [s["step"] for s in pairwise_run.steps] == [1, 2]
    for step in pairwise_run.steps:
        for key in SESSION_KEYS:
            assert key in step, (step["step"], key)
        # 4 pairs per step x rollout.n 8 sessions, each judged in both orders
        assert step["judge/sessions"] == 32.0
        assert 0.0 <= step["judge/pair_acc"] <= 1.0 and 0.0 <= step["judge/consistency"] <= 1.0
    assert 0.0 < pairwise_run.metric(1, "judge/format_rate")
    # validation ran on sessions too: the session components reach verl's validation metrics
    assert pairwise_run.val("pair_acc") >= 0.0 and pairwise_run.val("consistent") >= 0.0


def test_grpo_advantages_are_shared_within_a_session_and_differ_across_sessions(pairwise_run):
    assert pairwise_run.returncode == 0, _failure(pairwise_run)
    rows = [json.loads(line) for line in (pairwise_run.out / "rollouts" / "advantages_1.jsonl").read_text().splitlines()]
    sessions = defaultdict(list)
    for row in rows:
        sessions[row["key"].rsplit("_", 1)[0]].append(row)
    assert len(sessions) == 32 and all(sorted(r["view"] for r in s) == ["ab", "ba"] for s in sessions.values())
    for outputs in sessions.values():  # both orders of a session: one reward, one advantage
        assert outputs[0]["score"] == outputs[1]["score"]
        assert outputs[0]["advantage"] == pytest.approx(outputs[1]["advantage"], abs=1e-6)
    groups = defaultdict(list)  # the rollout.n sessions of one pair (same uid)
    for key, outputs in sessions.items():
        groups[key.rsplit("_", 1)[0]].append(outputs[0])
    mixed = [g for g in groups.values() if len({r["score"] for r in g}) > 1]
    assert mixed, "no pair had sessions with different rewards"
    for group in mixed:
        by_score = defaultdict(set)
        for row in group:
            by_score[row["score"]].add(round(row["advantage"], 5))
        assert all(len(a) == 1 for a in by_score.values())  # same reward, same advantage
        best, worst = max(by_score), min(by_score)
        assert next(iter(by_score[best])) > 0 > next(iter(by_score[worst]))


def test_pointwise_recipe_runs_two_steps_and_counts_ties_as_wrong(pointwise_run):
    assert pointwise_run.returncode == 0, _failure(pointwise_run)
    assert [s["step"] for s in pointwise_run.steps] == [1, 2]
    for step in pointwise_run.steps:
        for key in ("judge/pair_acc", "judge/tie_rate", "judge/score_gap", "judge/scored_rate", "judge/sessions",
                    "judge/format_rate", "judge/reply_tokens"):
            assert key in step, (step["step"], key)
        assert step["judge/sessions"] == 16.0  # 2 pairs x rollout.n 8
    first = pointwise_run.steps[0]
    # every response scored [[5]]: every session a tie, a tie is wrong
    assert first["judge/scored_rate"] == 1.0 and first["judge/tie_rate"] == 1.0
    assert first["judge/score_gap"] == 0.0 and first["judge/pair_acc"] == 0.0
    assert first["critic/score/mean"] == pytest.approx(1.0)  # the format term alone
    assert "judge/consistency" not in first and "judge/verdict_a_share" not in first


def test_planted_judge_that_always_answers_a(always_a_run):
    assert always_a_run.returncode == 0, _failure(always_a_run)
    [step] = always_a_run.steps
    assert step["judge/pair_acc"] == 0.0 and step["judge/consistency"] == 0.0
    assert step["judge/verdict_a_share"] == 1.0 and step["judge/label_a_share"] == 0.5
    assert step["judge/acc_ab"] == step["judge/acc_ba"] == 0.5  # one pair each way: "(a)" is right once per order
    # right in exactly one order per session: no consistency reward, mean per-order (1 + 2) / 2
    assert step["critic/score/mean"] == pytest.approx(1.5)
