"""`thinkj train`: the recipes hold the paper's Table 10, and each trains for real on the tiny judge (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thinkj_verl.formats import get_format
from thinkj_verl.offline.train import (
    CPU_OVERRIDES,
    gradient_accumulation,
    load_recipe,
    main,
    recipes_dir,
    resolve_recipe,
    train,
)

# Paper Table 10 (method.md): learning rate, epochs, scheduler, cutoff length, batch 64, bf16.
TABLE_10 = {
    "sft": {"learning_rate": 5e-6, "num_train_epochs": 3},
    "dpo": {"learning_rate": 1e-6, "num_train_epochs": 2, "beta": 0.1},
    "bt": {"learning_rate": 2e-6, "num_train_epochs": 2},
}


@pytest.mark.parametrize("method", sorted(TABLE_10))
def test_recipe_defaults_equal_table_10(method):
    recipe = load_recipe(resolve_recipe(method, method))
    assert recipe.method == method
    for key, value in TABLE_10[method].items():
        assert recipe.trl[key] == pytest.approx(value), key
    assert recipe.trl.lr_scheduler_type == "cosine"
    assert recipe.trl.max_length == 4096
    assert recipe.trl.bf16 is True
    # Global batch 64 on the 8 GPUs of one node, per device x accumulation x devices.
    assert recipe.batch.global_size == 64
    per_device = recipe.batch.per_device
    assert per_device * gradient_accumulation(64, per_device, 8) * 8 == 64


def test_dpo_recipe_adds_the_sft_term_with_weight_one():
    recipe = load_recipe(resolve_recipe("dpo", "dpo"))
    assert list(recipe.trl.loss_type) == ["sigmoid", "sft"]
    assert list(recipe.trl.loss_weights) == [1.0, 1.0]


@pytest.mark.parametrize("method", sorted(TABLE_10))
def test_recipes_load_the_model_in_bf16(method):
    # trl loads a model path in fp32 unless model_init_kwargs says otherwise: twice the memory.
    assert load_recipe(resolve_recipe(method, method)).trl.model_init_kwargs.dtype == "bfloat16"


def test_dpo_recipe_keeps_no_reference_model_in_memory():
    # Reference log-probs computed once before training: no second copy of the model per GPU.
    assert load_recipe(resolve_recipe("dpo", "dpo")).trl.precompute_ref_log_probs is True


def test_sft_recipe_trains_on_assistant_turns_only():
    assert load_recipe(resolve_recipe("sft", "sft")).trl.assistant_only_loss is True


@pytest.mark.parametrize("name, stage", [("zero3", 3), ("zero2", 2)])
def test_accelerate_configs_use_the_papers_deepspeed_stage(name, stage):
    from omegaconf import OmegaConf

    config = OmegaConf.load(recipes_dir() / "accelerate" / f"{name}.yaml")
    assert config.distributed_type == "DEEPSPEED"
    assert config.deepspeed_config.zero_stage == stage
    assert config.mixed_precision == "bf16"


@pytest.mark.parametrize(
    "global_size, per_device, world, expected",
    [(64, 8, 8, 1), (64, 4, 8, 2), (64, 4, 2, 8), (64, 8, 16, None), (64, 3, 1, None)],
)
def test_gradient_accumulation_keeps_the_global_batch(global_size, per_device, world, expected):
    if expected is None:
        with pytest.raises(ValueError, match="not a multiple"):
            gradient_accumulation(global_size, per_device, world)
    else:
        assert gradient_accumulation(global_size, per_device, world) == expected


def test_overrides_merge_and_bad_override_is_named():
    recipe = load_recipe(resolve_recipe("sft", "sft"), ["trl.learning_rate=1e-5", "batch.per_device=2"])
    assert recipe.trl.learning_rate == 1e-5 and recipe.batch.per_device == 2
    with pytest.raises(ValueError, match="not key=value"):
        load_recipe(resolve_recipe("sft", "sft"), ["trl.learning_rate"])
    with pytest.raises(FileNotFoundError, match="--config"):
        resolve_recipe("no_such_recipe", "sft")


PROMPT = [{"role": "user", "content": "Which response is better? [The Start of Response (a)] Paris [The End of Response (a)]"}]


def _judgment(verdict: str, strength: int) -> str:
    reason = "(a) names the capital." if verdict == "a" else "(b) is longer."
    return f"<think>\n{reason}\n</think>\n\n" + get_format("strength").render(verdict=verdict, strength=strength)


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture(scope="module")
def offline_rows(tmp_path_factory):
    root = tmp_path_factory.mktemp("offline_rows")
    chosen = [{"role": "assistant", "content": _judgment("a", 2)}]
    rejected = [{"role": "assistant", "content": _judgment("b", 1)}]
    return {
        "sft": _write(root / "sft.jsonl", [{"messages": PROMPT + chosen, "id": str(i)} for i in range(8)]),
        "dpo": _write(root / "dpo.jsonl", [{"prompt": PROMPT, "chosen": chosen, "rejected": rejected}] * 8),
        "bt": _write(
            root / "bt.jsonl",
            [{"prompt": PROMPT, "chosen": [{"role": "assistant", "content": "Paris."}],
              "rejected": [{"role": "assistant", "content": "Lyon, I think."}]}] * 8,
        ),
    }


SMALL = ("batch.global_size=4", "batch.per_device=2", "trl.max_steps=4", "trl.logging_steps=1",
         "trl.learning_rate=1e-3", "trl.max_length=256", "trl.save_strategy='no'")


@pytest.mark.parametrize("method", ["sft", "dpo", "bt"])
def test_recipe_runs_real_steps_on_the_tiny_judge(method, tiny_judge_path, offline_rows, tmp_path):
    out = tmp_path / method
    recipe = load_recipe(
        resolve_recipe(method, method),
        [f"model={tiny_judge_path}", f"train_files={offline_rows[method]}", f"output_dir={out}",
         *SMALL, *CPU_OVERRIDES],
    )
    result = train(recipe)
    assert result.steps == 4
    assert len(result.losses) == 4
    # Same batch every step at lr 1e-3: the loss must go down, not merely change.
    assert result.losses[-1] < result.losses[0]
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert (out / "tokenizer_config.json").is_file()
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"  # CPU_OVERRIDES keep fp32 on a CPU
    # Gradient accumulation followed from the global batch: 4 / (2 per device x 1 process).
    import torch

    args = torch.load(out / "training_args.bin", weights_only=False)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (2, 2)


def test_cli_reports_missing_columns_with_the_file(tiny_judge_path, offline_rows, tmp_path, capsys):
    code = main(["dpo", "--cpu", f"model={tiny_judge_path}", f"train_files={offline_rows['sft']}",
                 f"output_dir={tmp_path}", *SMALL])
    assert code == 2
    err = capsys.readouterr().err
    assert "sft.jsonl" in err and "missing ['prompt', 'chosen', 'rejected']" in err


def test_cli_names_the_keys_still_missing(capsys):
    assert main(["sft"]) == 2
    assert "model=... train_files=... output_dir=..." in capsys.readouterr().err
