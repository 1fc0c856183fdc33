"""``make demo`` end to end in the suite (a few minutes on 2 cores: it runs verl's real
``main_ppo`` for the online-RL step), its synthetic task and its data files.

The demo's online-RL step is ``python -m verl.trainer.main_ppo +recipe=thinkj_grpo +platform=cpu``
on verl's default v1 trainer (GRPO_STEPS steps, validation after the last, a checkpoint at the
last), so that run also serves the real-trainer checks of the GRPO recipe: per-step metrics,
weights that moved and reached the rollout server, our reward components in validation, the
checkpoint and the judge diagnostics (a run of its own costs the suite about two minutes).
"""

from __future__ import annotations

import json

import pytest

from thinkj_verl import demo, demo_task


def test_demo_data_loads_through_the_real_converters():
    from thinkj_verl.data.sources import load_pairs

    pairs, skipped = load_pairs("helpsteer2", str(demo.HELPSTEER2))
    assert len(pairs) >= 30 and dict(skipped) == {"tie": 1}
    assert any(len(p.conversation) > 1 for p in pairs)  # one multi-turn prompt
    benchmark, skipped = load_pairs("rewardbench", str(demo.REWARDBENCH))
    assert len(benchmark) == 16 and not skipped
    assert {"alpacaeval-easy", "llmbar-natural", "refusals-dangerous", "math-prm", "hep-python"} <= {
        p.subset for p in benchmark}


def test_synthetic_task_follows_its_rule_and_held_out_shares_no_pair():
    from thinkj_verl.data.sources import load_pairs

    train = demo_task.generate(demo.TRAIN_PAIRS, demo.TRAIN_SEED)
    held_out = demo_task.generate(demo.HELD_OUT_PAIRS, demo.HELD_OUT_SEED, exclude=train)
    assert demo_task.generate(demo.TRAIN_PAIRS, demo.TRAIN_SEED) == train  # seeded
    key = lambda r: (r["prompt"], r["chosen"], r["rejected"])  # noqa: E731
    assert len({key(r) for r in train}) == len(train) and not {key(r) for r in train} & {key(r) for r in held_out}
    first_word = lambda text: text.split()[0].strip(".,:").lower()  # noqa: E731
    for row in train + held_out:
        assert first_word(row["chosen"]) in demo_task.ANIMALS and first_word(row["rejected"]) in demo_task.OBJECTS
    pairs, skipped = load_pairs("local", held_out)
    assert len(pairs) == demo.HELD_OUT_PAIRS and not skipped
    with pytest.raises(ValueError, match="distinct rows"):
        demo_task.generate(10**6, 0)


def test_synthetic_task_docstring_examples():
    import doctest

    result = doctest.testmod(demo_task)
    assert result.attempted > 0 and result.failed == 0


def test_demo_refuses_to_replace_a_folder_it_did_not_write(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert demo.main(["--out", str(tmp_path)]) == 2
    assert (tmp_path / "keep.txt").exists()
    assert "not an earlier demo output" in capsys.readouterr().err


def test_demo_refuses_a_file_as_its_output_folder(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert demo.main(["--out", str(target)]) == 2
    assert target.read_text() == "mine"
    assert f"{target} is a file, not a folder" in capsys.readouterr().err


def test_demo_refuses_zero_threads(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        demo.main(["--out", str(tmp_path / "out"), "--threads", "0"])
    assert stop.value.code == 2
    assert "--threads must be at least 1, not 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    import contextlib
    import io

    out = tmp_path_factory.mktemp("demo") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # one torch thread: the demo shares the two cores with the other test worker here
        code = demo.main(["--out", str(out), "--threads", "1"])
    (out.parent / "printed.txt").write_text(printed.getvalue())
    return code, printed.getvalue(), out


@pytest.mark.slow(seconds=340)
def test_demo_runs_verl_and_the_judge_learns_the_task(demo_run):
    code, printed, out = demo_run
    assert code == 0, printed[-3000:]
    assert f"Synthetic task: {demo_task.RULE}." in printed
    # verl's own trainer ran: its file logger has every step with a reward and the training
    # batch's accuracy, and validation accuracy after the last step
    steps = [json.loads(line) for line in (out / "grpo" / "metrics.jsonl").read_text().splitlines() if line]
    curve = demo.step_curve([{"step": s["step"], **s["data"]} for s in steps])
    assert [s for s, _ in curve["reward"]] == list(range(1, demo.GRPO_STEPS + 1))
    assert [s for s, _ in curve["train_acc"]] == list(range(1, demo.GRPO_STEPS + 1))
    assert [s for s, _ in curve["val_acc"]] == [demo.GRPO_STEPS]
    assert all(0.0 <= a <= 1.0 for _, a in curve["train_acc"] + curve["val_acc"])
    # the thinking-initialized judge is right on most training judgments from the first step
    assert curve["train_acc"][0][1] > 0.5
    assert "verl.trainer.main_ppo +recipe=thinkj_grpo +platform=cpu" in printed
    png = (out / "grpo" / "reward_acc_per_step.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    # before / after on held-out pairs, both orders; the final judge learned the rule
    held_out = {name: json.loads((out / "eval" / "held_out" / name / "metrics.json").read_text())
                for name in ("base", "sft", "final")}
    for metrics in held_out.values():
        assert metrics["diagnostics"]["pairs_with_both_orders"] == demo.HELD_OUT_PAIRS
    assert held_out["base"]["diagnostics"]["parse_failure_rate"] == 1.0  # a random judge never writes a verdict
    # The target: the final judge right in both orders on at least 60% of the held-out
    # pairs (a verdict at random is 25%); the thinking-initialized judge already learned the rule.
    final = held_out["final"]["diagnostics"]
    assert final["pair_accuracy"] >= 0.6, final
    assert held_out["sft"]["diagnostics"]["pair_accuracy"] > 0.25
    assert f"FINAL JUDGE PAIR ACCURACY ON HELD-OUT PAIRS: {held_out['final']['diagnostics']['pair_accuracy']:.2f}" in printed
    table = (out / "eval" / "compare_held_out.md").read_text()
    assert "Pair acc." in table and "final" in table and "base" in table


@pytest.mark.slow(seconds=340)
def test_demo_keeps_the_pipeline_and_writes_eval_outputs(demo_run):
    code, printed, out = demo_run
    assert code == 0, printed[-3000:]
    for path in ("data/animal/pairs_train.parquet", "data/helpsteer2/train.parquet", "data/helpsteer2/summary.json",
                 "select/funnel.json", "select/sft.jsonl", "select/animal_sft.jsonl", "models/sft/model.safetensors",
                 "models/critic/model.safetensors",
                 "pairs/report.json", "eval/compare_rewardbench.md",
                 "eval/rewardbench/base/metrics.json", "eval/rewardbench/final/metrics.json",
                 "eval/rewardbench/final/report.md", "eval/held_out/final/generations.jsonl"):
        assert (out / path).exists(), path
    funnel = json.loads((out / "select" / "funnel.json").read_text())
    assert [s["stage"] for s in funnel["stages"]] == ["initial", "difficulty", "diversity", "accuracy"]
    assert any((out / "grpo" / "checkpoints").glob("global_step_*/actor/huggingface/*.safetensors"))
    assert str(out / "eval" / "compare_held_out.md") in printed


@pytest.fixture(scope="module")
def demo_verl(demo_run):
    """The demo's verl run, read as the other real-trainer tests read theirs."""
    from tests.cpu.conftest import Run, read_steps

    code, printed, out = demo_run
    assert code == 0, printed[-3000:]
    grpo = out / "grpo"
    return Run(0, (grpo / "main_ppo.log").read_text(errors="replace"), read_steps(grpo / "metrics.jsonl"), grpo)


@pytest.mark.slow(seconds=340)
def test_demo_grpo_logs_training_metrics_every_step(demo_verl):
    assert [s["step"] for s in demo_verl.steps] == list(range(1, demo.GRPO_STEPS + 1))
    for step in demo_verl.steps:
        for key in ("critic/score/mean", "actor/pg_loss", "actor/grad_norm", "timing_s/step"):
            assert key in step, (step["step"], key)
    # Some step sampled both right and wrong verdicts, so the policy got a gradient there. (Not
    # asked of step 1 alone: the SFT judge is right on ~94% of its replies, so all 32 of one step
    # are right about one time in seven.)
    mixed = [s for s in demo_verl.steps if s["critic/score/max"] > s["critic/score/min"]]
    assert mixed, [(s["critic/score/min"], s["critic/score/max"]) for s in demo_verl.steps]
    assert all(s["actor/grad_norm"] > 0 for s in mixed)


@pytest.mark.slow(seconds=340)
def test_demo_grpo_weights_moved_and_reached_the_rollout(demo_verl):
    import re

    import torch
    from safetensors.torch import load_file

    last = demo.GRPO_STEPS
    checkpoint = demo_verl.out / "checkpoints" / f"global_step_{last}" / "actor"
    saved = torch.load(next(checkpoint.glob("model_world_size_1_rank_0.pt")), weights_only=False)
    saved = {name: (t.full_tensor() if hasattr(t, "full_tensor") else t).double() for name, t in saved.items()}
    initial = load_file(str(demo_verl.out.parent / "models" / "sft" / "model.safetensors"))
    name = "model.layers.0.mlp.up_proj.weight"
    assert (saved[name] - initial[name].double()).abs().max().item() > 1e-5
    # The rollout server logs what each update brought: after the last step it holds exactly the
    # actor's weights of that step (the checkpoint's), and it reported that version back to verl.
    loads = re.findall(r"thinkj_cpu: weights of step (\d+) loaded: (\d+) tensors, sum (\S+)", demo_verl.log)
    # the initial sync (step 0), then one update after each training step
    assert [int(step) for step, _, _ in loads] == list(range(last + 1)), loads
    _, count, total = loads[-1]
    # a tied lm_head may or may not travel as its own tensor
    names = [n for n in saved if not (n == "lm_head.weight" and int(count) == len(saved) - 1)]
    assert len(names) == int(count)
    assert float(total) == pytest.approx(sum(float(saved[n].sum()) for n in names), rel=1e-9, abs=1e-6)
    # and the sums moved: the server did not keep serving the SFT weights
    assert len({total for _, _, total in loads}) == last + 1
    assert all(s["training/off_policy/trajectory_staleness_worst/max"] == 0 for s in demo_verl.steps)


@pytest.mark.slow(seconds=340)
def test_demo_grpo_validation_carries_our_reward_components(demo_verl):
    last = demo_verl.steps[-1]
    assert any(k.startswith("val-core/") and k.split("/")[-2] == "acc" for k in last), sorted(last)
    for component in ("acc", "format", "truncated", "reward_error", "verdict", "strength_pred"):
        assert demo_verl.val(component) >= 0.0
    assert demo_verl.val("reward_error") == 0.0


@pytest.mark.slow(seconds=340)
def test_demo_grpo_checkpoint_written(demo_verl):
    step = demo_verl.out / "checkpoints" / f"global_step_{demo.GRPO_STEPS}"
    assert (step / "actor" / "huggingface" / "config.json").is_file()
    assert (demo_verl.out / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == str(
        demo.GRPO_STEPS)


@pytest.mark.slow(seconds=340)
def test_demo_grpo_logs_judge_diagnostics_every_step(demo_verl):
    for step in demo_verl.steps:
        for key in ("judge/acc", "judge/acc_ab", "judge/acc_ba", "judge/format_rate", "judge/truncation_rate",
                    "judge/verdict_a_share", "judge/label_a_share", "judge/reply_tokens"):
            assert key in step, (step["step"], key)
        assert 0.0 <= step["judge/verdict_a_share"] <= 1.0
    assert 0.0 < demo_verl.metric(1, "judge/format_rate") <= 1.0
