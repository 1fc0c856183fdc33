"""``JudgePairDataset`` loaded the way verl loads it: a composed ppo_trainer config,
``get_dataset_class`` / ``create_rl_dataset``, verl's collate_fn and a real DataLoader."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from omegaconf import open_dict

from thinkj_verl.data.pairs import Pair, write_pairs

from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.data.prepare import prepare
from thinkj_verl.formats import get_format
from thinkj_verl.prompts import judge_messages, label_for

FIXTURES = Path(__file__).parent / "fixtures"
DATASET = ["data.custom_cls.path=pkg://thinkj_verl.data.dataset", "data.custom_cls.name=JudgePairDataset"]


def make_pairs(count: int) -> list[Pair]:
    return [
        Pair(f"t:{i}", "test", [{"role": "user", "content": f"Question {i}?"}], f"Good answer {i}." + " More." * i, f"Bad {i}.",
             GroundTruth("a" if i % 3 else "b", strength=1 + i % 3))
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def pair_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    pairs = make_pairs(40)
    write_pairs(pairs[:32], root / "train.parquet")
    write_pairs(pairs[32:], root / "val.jsonl")
    return root


def data_config(compose_ppo, pair_files, tmp_path, *thinkj):
    config = compose_ppo(
        DATASET
        + [
            f"data.train_files={pair_files / 'train.parquet'}",
            f"data.val_files={pair_files / 'val.jsonl'}",
            "data.max_prompt_length=100000",
            f"+data.cache_dir={tmp_path / 'cache'}",
            *[f"+data.thinkj.{option}" for option in thinkj],
        ]
    )
    return config.data


def build(config_data, files, tokenizer):
    from verl.trainer.ppo.utils import create_rl_dataset

    return create_rl_dataset(files, config_data, tokenizer, None, is_train=True)


def test_verl_loads_our_class_and_items_match_the_prepared_parquet(compose_ppo, pair_files, tmp_path, tiny_tokenizer):
    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn, get_dataset_class

    data = data_config(compose_ppo, pair_files, tmp_path, "format=scores", "orders=both")
    cls = get_dataset_class(data)
    assert cls.__name__ == "JudgePairDataset" and issubclass(cls, RLHFDataset)
    dataset = build(data, data.train_files, tiny_tokenizer)
    assert len(dataset) == 64 and not dataset.is_validation

    # The stock route, prepared from the same pairs, gives the very same rows.
    prepared = tmp_path / "prepared"
    from thinkj_verl.data.pairs import read_pairs

    pairs = read_pairs(pair_files / "train.parquet")
    prepare("local", [{"id": p.id, "prompt": p.conversation, "chosen": [{"role": "assistant", "content": p.response_a}],
                       "rejected": [{"role": "assistant", "content": p.response_b}]} for p in pairs],
            prepared, ["scores"], orders="both", val_fraction=0)
    stock = pq.read_table(prepared / "train.parquet").to_pylist()
    items = [dataset[i] for i in range(len(dataset))]
    for item, row, pair in zip(items, stock, [p for p in pairs for _ in range(2)]):
        assert item["prompt"] == item["raw_prompt"] == row["prompt"]
        assert item["extra_info"]["order"] == row["extra_info"]["order"]
        assert item["reward_model"] == {"style": "rule", "ground_truth": label_for(pair, item["extra_info"]["order"]).to_dict()}
    assert items[0]["prompt"][0]["content"].endswith(get_format("scores").instruction)

    batch = collate_fn(items[:8])
    assert batch["dummy_tensor"].shape == (8, 1)
    assert list(batch["index"]) == list(range(8))
    assert [e["pair_id"] for e in batch["extra_info"]] == ["t:0", "t:0", "t:1", "t:1", "t:2", "t:2", "t:3", "t:3"]
    assert {k for k in batch} >= {"raw_prompt", "data_source", "reward_model", "extra_info", "index", "tools_kwargs"}


def test_validation_files_use_val_orders(compose_ppo, pair_files, tmp_path, tiny_tokenizer):
    data = data_config(compose_ppo, pair_files, tmp_path, "orders=random", "val_orders=both")
    val = build(data, data.val_files, tiny_tokenizer)
    train = build(data, data.train_files, tiny_tokenizer)
    assert val.is_validation and val.order_policy == "both" and len(val) == 16
    assert train.order_policy == "random" and len(train) == 32


def test_is_train_when_passed_decides_and_one_file_for_both_is_the_training_set(compose_ppo, pair_files, tmp_path,
                                                                                  tiny_tokenizer):
    from verl.trainer.ppo.utils import create_rl_dataset
    from verl.utils.dataset.rl_dataset import get_dataset_class

    data = data_config(compose_ppo, pair_files, tmp_path, "orders=random", "val_orders=both")
    with open_dict(data):
        data.val_files = data.train_files
    # verl 0.9.1 does not pass is_train on: the same files for both keys are the training set.
    assert create_rl_dataset(data.val_files, data, tiny_tokenizer, None, is_train=False).order_policy == "random"
    val = get_dataset_class(data)(data.train_files, tiny_tokenizer, data, is_train=False)
    assert val.is_validation and val.order_policy == "both" and len(val) == 64


def test_random_orders_are_balanced_and_redrawn_each_epoch_across_dataloader_workers(
    compose_ppo, pair_files, tmp_path, tiny_tokenizer
):
    import torch
    from verl.utils.dataset.rl_dataset import collate_fn

    data = data_config(compose_ppo, pair_files, tmp_path, "orders=balanced", "seed=5", "shuffle_order_each_epoch=true")
    dataset = build(data, data.train_files, tiny_tokenizer)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=8, shuffle=True, num_workers=2, collate_fn=collate_fn,
        generator=torch.Generator().manual_seed(0),
    )
    epochs = []
    for _ in range(3):
        seen = {}
        for batch in loader:
            for info, truth in zip(batch["extra_info"], batch["reward_model"]):
                seen[info["pair_id"]] = (info["order"], truth["ground_truth"]["better"])
        assert len(seen) == 32
        assert Counter(better for _, better in seen.values()) == Counter({"a": 16, "b": 16})
        epochs.append(seen)
    assert epochs[0] != epochs[1] != epochs[2]
    # Deterministic: epoch e's draw is a function of the seed and e alone.
    assert {pid: o for pid, (o, _) in epochs[1].items()} == {
        dataset.pairs[i].id: dataset.order_of(i, epoch=1) for i in range(len(dataset))
    }


def test_fixed_random_order_without_per_epoch_shuffle(compose_ppo, pair_files, tmp_path, tiny_tokenizer):
    data = data_config(compose_ppo, pair_files, tmp_path, "orders=random", "seed=5")
    dataset = build(data, data.train_files, tiny_tokenizer)
    first = [dataset[i]["extra_info"]["order"] for i in range(len(dataset))]
    again = [dataset[i]["extra_info"]["order"] for i in range(len(dataset))]
    assert first == again and set(first) == {"ab", "ba"}
    # "random" is the older name of "balanced": the same draw.
    renamed = build(data_config(compose_ppo, pair_files, tmp_path, "orders=balanced", "seed=5"), data.train_files, tiny_tokenizer)
    assert [renamed[i]["extra_info"]["order"] for i in range(len(renamed))] == first


def test_overlong_pairs_are_filtered_and_counted(compose_ppo, pair_files, tmp_path, tiny_tokenizer):
    data = data_config(compose_ppo, pair_files, tmp_path, "orders=ab")
    def verl_length(messages):  # how RLHFDataset.maybe_filter_out_long_prompts counts
        ids = tiny_tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return len(list(getattr(ids, "input_ids", ids)))

    lengths = [verl_length(judge_messages(p, "strength", o)) for p in make_pairs(32) for o in ("ab", "ba")]
    limit = sorted(lengths)[len(lengths) // 2]
    with open_dict(data):
        data.max_prompt_length = limit
        data.filter_overlong_prompts = True
        data.thinkj.orders = "both"
    dataset = build(data, data.train_files, tiny_tokenizer)
    expected_drops = sum(max(lengths[2 * i : 2 * i + 2]) > limit for i in range(32))
    assert 0 < expected_drops < 32
    assert dataset.skipped == Counter({f"prompt longer than {limit} tokens": expected_drops})
    assert len(dataset) == 2 * (32 - expected_drops)


def test_bad_options_and_files_are_named(compose_ppo, pair_files, tmp_path, tiny_tokenizer):
    from thinkj_verl.data.dataset import REQUIRED_COLUMNS, validate_pair_file

    data = data_config(compose_ppo, pair_files, tmp_path, "orders=sometimes")
    with pytest.raises(ValueError, match="data.thinkj.orders must be one of"):
        build(data, data.train_files, tiny_tokenizer)
    data = data_config(compose_ppo, pair_files, tmp_path, "format=verbose")
    with pytest.raises(ValueError, match="unknown output format 'verbose'"):
        build(data, data.train_files, tiny_tokenizer)

    assert validate_pair_file(pair_files / "train.parquet") == []
    assert "id" in REQUIRED_COLUMNS and "conversation" in REQUIRED_COLUMNS
    prepared = tmp_path / "prepared"
    prepare("rewardbench", FIXTURES / "rewardbench.jsonl", prepared, ["binary"], val_fraction=0)
    [problem] = validate_pair_file(prepared / "train.parquet")
    assert "missing column(s)" in problem and "stock RLHFDataset" in problem
    data = data_config(compose_ppo, pair_files, tmp_path)
    with pytest.raises(ValueError, match="missing column"):
        build(data, [str(prepared / "train.parquet")], tiny_tokenizer)
    assert validate_pair_file(prepared / "pairs_train.parquet") == []
