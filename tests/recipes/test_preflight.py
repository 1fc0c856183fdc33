"""``thinkj preflight`` on a tiny real setup: passes when all is well, names each planted fault.

The setup is real: the session's tiny judge (tokenizer + Qwen2 model saved to a directory),
canonical pair files for our ``JudgePairDataset`` and a prepared parquet for verl's stock
``RLHFDataset``; preflight composes verl's config, loads them with verl's own loaders and scores
rows through the real ``thinkj`` reward manager. No cluster: the ``--ray-address`` path is only
exercised where a Ray cluster with GPUs exists.
"""

from __future__ import annotations

import json

import pytest

from thinkj_verl import preflight
from thinkj_verl.data.pairs import Pair, write_pairs
from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.data.rows import judge_row

FAST = ["--sample-rows", "8", "--score-rows", "2"]


def _pairs(count: int, start: int = 0) -> list[Pair]:
    return [
        Pair(
            id=f"pair-{i}",
            source="local",
            conversation=[{"role": "user", "content": f"What is {i} + {i}?"}],
            response_a=f"It is {2 * i}.",
            response_b=f"It is {2 * i + 1}.",
            label=GroundTruth("a" if i % 2 else "b", strength=1 + i % 3),
        )
        for i in range(start, start + count)
    ]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_judge_path):
    """Paths of a good tiny launch: judge dir, pair files, a prepared parquet, and a bad-label twin of each."""
    import datasets

    root = tmp_path_factory.mktemp("preflight")
    write_pairs(_pairs(8), root / "train.jsonl")
    write_pairs(_pairs(2, start=8), root / "val.jsonl")
    records = [json.loads(line) for line in (root / "train.jsonl").read_text().splitlines()]
    records[3]["better"] = "c"  # the planted bad label
    (root / "bad_train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))

    rows = [judge_row(pair, "strength", order, index=i) for i, (pair, order) in
            enumerate((p, o) for p in _pairs(4) for o in ("ab", "ba"))]
    datasets.Dataset.from_list(rows).to_parquet(str(root / "rows.parquet"))
    rows[5]["reward_model"]["ground_truth"]["better"] = "c"
    datasets.Dataset.from_list(rows).to_parquet(str(root / "bad_rows.parquet"))
    return {"root": root, "model": tiny_judge_path}


def overrides(setup, *extra: str, train: str = "train.jsonl", model: str | None = None) -> list[str]:
    return [
        "+recipe=thinkj_grpo",
        f"data.train_files={setup['root'] / train}",
        f"data.val_files={setup['root'] / 'val.jsonl'}",
        f"actor_rollout_ref.model.path={model or setup['model']}",
        *extra,
    ]


def run(capsys, args: list[str]) -> tuple[int, dict[str, tuple[str, str]], str]:
    """(exit status, {check: (status, detail)}, printed table) of ``thinkj preflight args``."""
    code = preflight.main([*args, *FAST])
    out = capsys.readouterr().out
    rows = {}
    for line in out.splitlines():
        for status in (preflight.OK, preflight.WARN, preflight.FAIL, preflight.SKIP):
            marker = f"  {status:<6}  "
            if marker in line:
                name, detail = line.split(marker, 1)
                rows[name.strip()] = (status, detail)
                break
    return code, rows, out


def failed(rows) -> set[str]:
    return {name for name, (status, _) in rows.items() if status == preflight.FAIL}


def test_good_tiny_setup_passes(capsys, setup):
    code, rows, out = run(capsys, overrides(setup))
    assert code == 0, out
    assert failed(rows) == set()
    for check in ("config composes", "verl validate_config", "batch arithmetic", "model + tokenizer",
                  "data.train_files", "data columns + labels", "judge format vs reward", "prompt lengths",
                  "reward manager + function", "reward scores known labels"):
        assert rows[check][0] == preflight.OK, (check, out)
    assert "2 row(s)" in rows["reward scores known labels"][1]
    # the recipe runs dynamic batch sizes: the row says what sizes the update, not the unused micro batch
    assert rows["batch arithmetic"][1] == ("2 x 8 GPUs: 1024 prompts x n=8 per step; update of 256 x 8 samples = "
                                           "128 per GPU in token budgets of 16384 per GPU (dynamic batch size); "
                                           "rollout TP 4"), out
    assert "0 of 8 sampled prompts exceed" in rows["prompt lengths"][1]


def test_prepared_parquet_with_verls_stock_dataset_passes(capsys, setup):
    code, rows, out = run(capsys, overrides(setup, "data.custom_cls.path=null", train="rows.parquet"))
    assert code == 0, out
    assert rows["data columns + labels"] == (preflight.OK, "RLHFDataset: columns present, every label valid for format 'strength'")


@pytest.mark.parametrize(
    "extra,kwargs,check,words",
    [
        # 3 x 8 GPUs: verl's update asserts the 256 x 8 = 2048 samples split evenly over the 24 ranks,
        # dynamic batch size (the recipe's) or not
        (["trainer.nnodes=3"], {}, "batch: actor mini-batch", "not divisible by 24 data-parallel ranks"),
        # bad batch arithmetic: 256 x 8 / 16 GPUs = 128 samples per GPU, not a multiple of 48
        (["actor_rollout_ref.actor.use_dynamic_bsz=false", "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=48"], {},
         "batch: actor micro batch", "48"),
        (["data.train_files=/no/such/train.jsonl"], {}, "data.train_files", "/no/such/train.jsonl"),
        ([], {"train": "bad_train.jsonl"}, "data columns + labels", "'c'"),
        ([], {"train": "bad_rows.parquet"}, "data columns + labels", "row 5"),
        (["data.max_prompt_length=64"], {}, "prompt lengths", "8 of 8 sampled prompts exceed data.max_prompt_length=64"),
        ([], {"model": "/no/such/judge"}, "model + tokenizer", "/no/such/judge"),
        (["reward.custom_reward_function.path=pkg://reward_fns.thinkj_binary"], {}, "judge format vs reward",
         "data.thinkj.format=binary"),
    ],
    ids=["mini-batch-over-24-gpus", "batch", "missing-data-file", "bad-label-pairs", "bad-label-parquet", "prompts-too-long",
         "missing-model", "format-mismatch"],
)
def test_planted_fault_fails_naming_it(capsys, setup, extra, kwargs, check, words):
    args = overrides(setup, *extra, **kwargs)
    if kwargs.get("train") == "bad_rows.parquet":
        args.append("data.custom_cls.path=null")  # verl's stock dataset reads prepared rows
    code, rows, out = run(capsys, args)
    assert code == 1, out
    assert rows[check][0] == preflight.FAIL, out
    assert words in rows[check][1], out


def test_prompts_too_long_without_filtering_fail_even_when_few(capsys, setup):
    # truncation=error and no filter: one overlong prompt stops the job, so any share fails.
    code, rows, out = run(capsys, overrides(setup, "data.filter_overlong_prompts=false", "data.max_prompt_length=64"))
    assert code == 1 and "truncation=error" in rows["prompt lengths"][1], out


def test_missing_model_skips_what_needs_the_tokenizer(capsys, setup):
    code, rows, out = run(capsys, overrides(setup, model="/no/such/judge"))
    assert code == 1
    assert rows["prompt lengths"][0] == rows["reward scores known labels"][0] == preflight.SKIP, out


def test_swapped_reward_with_matching_format_scores_known_labels(capsys, setup):
    code, rows, out = run(capsys, overrides(setup, "reward.custom_reward_function.path=pkg://reward_fns.thinkj_binary",
                                            "data.thinkj.format=binary"))
    assert code == 0, out
    assert "format 'binary'" in rows["reward manager + function"][1]


def test_reward_that_ignores_the_verdict_fails_the_known_label_check(capsys, setup):
    # Accuracy and strength weighted 0: the right and the flipped verdict score the same.
    code, rows, out = run(capsys, overrides(setup, "reward.custom_reward_function.reward_kwargs.accuracy_weight=0.0",
                                            "reward.custom_reward_function.reward_kwargs.strength_weight=0.0"))
    assert code == 1 and rows["reward scores known labels"][0] == preflight.FAIL, out
    assert "not lower" in rows["reward scores known labels"][1]


def test_unknown_override_fails_at_compose(capsys, setup):
    code, rows, out = run(capsys, overrides(setup, "reward.custom_reward_function.reward_kwargs.strenght_weight=0.0"))
    assert code == 1 and rows["config composes"][0] == preflight.FAIL, out
    assert len(rows) == 1  # nothing else can be checked without a config


# Micro batches are checked with the paper's fixed micro batches (the recipes run dynamic batch
# sizes, where verl ignores *_micro_batch_size_per_gpu); mini-batch splits apply either way.
FIXED = {"actor_rollout_ref.actor.use_dynamic_bsz": False}
BATCH_FAULTS = [
    ({"trainer.n_gpus_per_node": 6}, "batch: rollout tensor parallel"),
    ({"actor_rollout_ref.rollout.tensor_model_parallel_size": 16}, "batch: rollout tensor parallel"),
    ({"trainer.nnodes": 3}, "batch: actor mini-batch"),
    ({**FIXED, "trainer.nnodes": 3}, "batch: actor mini-batch"),
    ({**FIXED, "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": 48}, "batch: actor micro batch"),
    ({**FIXED, "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": 48}, "batch: log-prob micro batch"),
    ({**FIXED, "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": 48}, "batch: log-prob micro batch"),
    ({**FIXED, "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": None}, "batch: actor micro batch"),
]


@pytest.mark.parametrize("values,check", BATCH_FAULTS, ids=[str(v) for v, _ in BATCH_FAULTS])
def test_batch_arithmetic_names_the_rule(with_overrides, values, check):
    problems = preflight.batch_problems(with_overrides("thinkj_grpo", values))
    assert check in {name for name, _ in problems}


def test_every_recipe_has_sound_batch_arithmetic(composed):
    assert {name: preflight.batch_problems(cfg) for name, cfg in composed.items()} == {name: [] for name in composed}


def test_ppo_critic_batches_are_checked(with_overrides):
    # the legacy trainer splits the critic's update by its micro batch; v1 runs token budgets (README)
    legacy = with_overrides("thinkj_ppo", {**FIXED, "critic.ppo_micro_batch_size_per_gpu": 3, "trainer.use_v1": False})
    assert "batch: critic micro batch" in {name for name, _ in preflight.batch_problems(legacy)}
    v1 = with_overrides("thinkj_ppo", {**FIXED, "critic.ppo_micro_batch_size_per_gpu": 3})
    assert preflight.batch_problems(v1) == []
    # the critic's mini-batch split holds under the recipe's dynamic batch size too: 250 x n=1 over 16 ranks
    cfg = with_overrides("thinkj_ppo", {"critic.ppo_mini_batch_size": 250})
    assert {name for name, _ in preflight.batch_problems(cfg)} == {"batch: critic mini-batch"}


def test_micro_batches_that_verl_ignores_are_not_checked(with_overrides):
    """Each micro batch counts only without its own dynamic batch size (verl ignores it then)."""
    odd = {"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": 48,
           "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": 48,
           "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": 48}
    assert preflight.batch_problems(with_overrides("thinkj_grpo", odd)) == []
    log_prob_dynamic = {**FIXED, **odd, "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": 16,
                        "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz": True}
    problems = preflight.batch_problems(with_overrides("thinkj_grpo", log_prob_dynamic))
    assert [detail.rsplit(" ", 1)[-1] for _, detail in problems] == [
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=48"]


@pytest.mark.parametrize(
    "gpus,enough",
    [([8, 8], True), ([8, 8, 8], True), ([8], False), ([8, 4], False), ([16], False), ([8, 8, 0], True)],
)
def test_cluster_gpu_rule(gpus, enough):
    nodes = [{"Alive": True, "NodeManagerAddress": f"10.0.0.{i}", "Resources": {"GPU": float(g)}} for i, g in enumerate(gpus)]
    ok, detail = preflight.cluster_gpu_problem(nodes, nnodes=2, per_node=8)
    assert ok is enough
    assert f"{sum(gpus)} GPUs in total" in detail


def test_cluster_gpu_rule_ignores_dead_nodes():
    nodes = [{"Alive": True, "Resources": {"GPU": 8.0}}, {"Alive": False, "Resources": {"GPU": 8.0}}]
    assert preflight.cluster_gpu_problem(nodes, nnodes=2, per_node=8)[0] is False


# --ray-address against a real two-node Ray cluster: tests/cpu/test_two_nodes.py.


def test_list_recipes_names_every_recipe(capsys):
    assert preflight.main(["--list-recipes"]) == 0
    out = capsys.readouterr().out
    for name in ("thinkj_grpo", "thinkj_ppo", "thinkj_reinforce_pp", "thinkj_grpo_1node"):
        assert f"  {name} " in out
    assert "Table 11 (Reinforce++ column)" in out


def test_options_may_sit_between_overrides(capsys, setup):
    args = overrides(setup)
    code = preflight.main([args[0], "--sample-rows", "2", *args[1:], "--score-rows", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 row(s)" in out and "of 2 sampled prompts" in out


# --- legacy reward keys, wandb credentials, option values ---------------------------------------

@pytest.mark.parametrize(
    "override, replacement",
    [
        ("reward_model.reward_manager=thinkj", "set reward.reward_manager.name=thinkj instead"),
        ("+reward_model.reward_kwargs.format_weight=0.5",
         "set reward.custom_reward_function.reward_kwargs.format_weight=0.5 instead"),
        ("custom_reward_function.path=pkg://reward_fns.thinkj_binary",
         "set reward.custom_reward_function.path=pkg://reward_fns.thinkj_binary instead"),
        ("custom_reward_function.name=compute_score", "set reward.custom_reward_function.name=compute_score instead"),
        ("reward_model.model.trust_remote_code=true", "no key of main_ppo reads it"),
    ],
)
def test_legacy_reward_keys_name_their_replacement(compose_ppo, override, replacement):
    default = compose_ppo(["+recipe=thinkj_grpo"])
    problems = preflight.legacy_key_problems(compose_ppo(["+recipe=thinkj_grpo", override]), default)
    assert len(problems) == 1 and replacement in problems[0], problems
    assert problems[0].startswith(override.lstrip("+").split("=")[0] + "=")
    assert preflight.legacy_key_problems(default, default) == []


def test_legacy_key_fails_the_launch_check(capsys, setup, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    code, rows, out = run(capsys, overrides(setup, "reward_model.reward_manager=thinkj"))
    assert code == 1, out
    assert rows["legacy reward keys"][0] == preflight.FAIL
    assert "reward_model.reward_manager=thinkj is ignored by main_ppo: set reward.reward_manager.name=thinkj" in out
    assert rows["trainer.logger"][0] == preflight.OK


def test_wandb_without_credentials_is_a_warning_with_the_fix(capsys, setup, monkeypatch, tmp_path):
    for name in ("WANDB_API_KEY", "WANDB_MODE", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    code, rows, out = run(capsys, overrides(setup))
    assert code == 0, out
    status, detail = rows["trainer.logger"]
    assert status == preflight.WARN and "trainer.logger=[console]" in detail and "WANDB_MODE=offline" in detail
    assert "all checks passed, 1 warning(s)" in out
    assert rows["legacy reward keys"][0] == preflight.OK


@pytest.mark.parametrize(
    "env, netrc, expected",
    [
        ({}, None, None),
        ({"WANDB_API_KEY": "k"}, None, "WANDB_API_KEY"),
        ({"WANDB_MODE": "disabled"}, None, "WANDB_MODE=disabled"),
        ({"WANDB_MODE": "online"}, None, None),
        ({}, "machine api.wandb.ai\n  login user\n  password secret\n", ".netrc (api.wandb.ai)"),
        ({}, "machine example.com\n  login user\n  password secret\n", None),
        ({}, "this is not a netrc file {", None),
    ],
)
def test_wandb_credentials(tmp_path, env, netrc, expected):
    if netrc is not None:
        (tmp_path / ".netrc").write_text(netrc)
        (tmp_path / ".netrc").chmod(0o600)
    found = preflight.wandb_credentials(env, home=str(tmp_path))
    assert (found is None) if expected is None else (found is not None and found.endswith(expected))


def test_logger_without_wandb_needs_no_credentials(with_overrides):
    report = preflight.Report()
    preflight.check_logger(report, with_overrides("thinkj_grpo", {"trainer.logger": ["console"]}), env={}, home="/")
    assert report.checks[0].status == preflight.OK


@pytest.mark.parametrize("value", ["nan", "inf", "-0.1", "1.5", "lots"])
def test_max_filtered_must_be_a_share(capsys, value):
    with pytest.raises(SystemExit) as exit_:
        preflight.main(["+recipe=thinkj_grpo", "--max-filtered", value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--max-filtered" in err and "Traceback" not in err


def test_labels_int_would_refuse_fail_as_rows(capsys, setup, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    rows = [judge_row(pair, "strength", "ab", index=i) for i, pair in enumerate(_pairs(4))]
    for row in rows:
        row["reward_model"]["ground_truth"] = "--2"
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, table, out = run(capsys, [*overrides(setup, "data.custom_cls.path=null"), f"data.train_files={path}"])
    assert code == 1, out
    assert table["data columns + labels"][0] == preflight.FAIL
    assert f"{path} row 0: reward_model.ground_truth: ground truth '--2' is not an integer label" in out
    assert table["reward scores known labels"][0] == preflight.FAIL and "bad label" in out


@pytest.mark.parametrize("recipe", ["j1_pairwise_grpo", "j1_pointwise_grpo"])
def test_j1_recipes_pass_and_say_what_the_session_check_leaves_to_the_cpu_tests(capsys, setup, recipe):
    args = [a.replace("+recipe=thinkj_grpo", f"+recipe={recipe}") for a in overrides(setup)]
    code, rows, out = run(capsys, args)
    assert code == 0 and failed(rows) == set(), out
    assert rows["judge format vs reward"][0] == preflight.OK
    assert rows["reward scores known labels"][0] == preflight.SKIP and "whole sessions" in rows["reward scores known labels"][1]


def test_pointwise_format_without_the_session_manager_fails(capsys, setup):
    code, rows, out = run(capsys, overrides(setup, "data.thinkj.format=pointwise", "data.thinkj.orders=pair",
                                            "data.thinkj.val_orders=pair"))
    assert code == 1 and "reward.reward_manager.name=thinkj_pair" in rows["judge format vs reward"][1], out
