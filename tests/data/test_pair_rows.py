"""J1 pair rows: ``thinkj prepare --orders pair`` and ``JudgePairDataset`` with ``orders=pair``,
read the way verl reads them (its ``RLHFDataset`` for prepared parquet, ``create_rl_dataset``
for our class), and what the ``thinkj_pair`` agent loop renders from them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from thinkj_verl.data.pairs import Pair, write_pairs
from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.data.prepare import main as prepare
from thinkj_verl.j1.session import session_pair
from thinkj_verl.prompts import judge_messages, pointwise_messages, session_messages

from tests.data.test_dataset import DATASET, make_pairs


def test_prepare_orders_pair_writes_one_row_per_pair_with_the_pair(tmp_path, tiny_tokenizer):
    from verl.utils.dataset.rl_dataset import RLHFDataset

    pairs = make_pairs(12)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": p.conversation[0]["content"], "chosen": p.response_a,
                                          "rejected": p.response_b}) + "\n" for p in pairs))
    out = tmp_path / "out"
    assert prepare(["--source", "local", "--input", str(source), "--out", str(out), "--orders", "pair",
                    "--format", "binary", "pointwise", "--val-fraction", "0.25"]) == 0
    for fmt in ("binary", "pointwise"):
        frame = pd.read_parquet(out / fmt / "train.parquet")
        assert len(frame) == 9 and set(frame["extra_info"].map(lambda e: e["order"])) == {"pair"}
        for _, row in frame.iterrows():
            pair = session_pair(row["extra_info"])
            assert row["reward_model"]["ground_truth"]["better"] == pair.label.better
            assert list(row["prompt"]) == session_messages(pair, fmt)[0][1]
    # verl's own dataset reads the rows as they are (the stock route)
    from omegaconf import OmegaConf

    config = OmegaConf.create({"max_prompt_length": 100000, "prompt_key": "prompt", "return_raw_chat": True,
                               "cache_dir": str(tmp_path / "cache")})
    item = RLHFDataset(str(out / "pointwise" / "train.parquet"), tiny_tokenizer, config)[0]
    assert item["extra_info"]["order"] == "pair" and session_pair(item["extra_info"]).id


def test_pointwise_format_needs_pair_rows(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"prompt": "q", "chosen": "x", "rejected": "y"}) + "\n")
    with pytest.raises(ValueError, match="--format pointwise scores one response at a time: use it with --orders pair"):
        from thinkj_verl.data.prepare import prepare as run

        run("local", str(source), str(tmp_path / "out"), formats=["pointwise"], orders="both")


def test_dataset_orders_pair_gives_one_session_item_per_pair(compose_ppo, tmp_path, tiny_tokenizer):
    from verl.trainer.ppo.utils import create_rl_dataset

    pairs = make_pairs(6)
    write_pairs(pairs, tmp_path / "pairs.parquet")
    config = compose_ppo(DATASET + [f"data.train_files={tmp_path / 'pairs.parquet'}",
                                    f"data.val_files={tmp_path / 'pairs.parquet'}", "data.max_prompt_length=100000",
                                    "+data.thinkj.format=pointwise", "+data.thinkj.orders=pair",
                                    "+data.thinkj.val_orders=pair"])
    dataset = create_rl_dataset(str(tmp_path / "pairs.parquet"), config.data, tiny_tokenizer, None, is_train=True)
    assert len(dataset) == 6
    for index, pair in enumerate(pairs):
        item = dataset[index]
        assert session_pair(item["extra_info"]) == pair
        assert item["raw_prompt"] == pointwise_messages(pair, "pointwise", "a")
        assert item["reward_model"]["ground_truth"]["better"] == pair.label.better
    bad = compose_ppo(DATASET + [f"data.train_files={tmp_path / 'pairs.parquet'}", "+data.thinkj.format=pointwise",
                                 "+data.thinkj.orders=both"])
    with pytest.raises(ValueError, match="data.thinkj.orders='both': the pointwise format scores one response"):
        create_rl_dataset(str(tmp_path / "pairs.parquet"), bad.data, tiny_tokenizer, None, is_train=True)


def test_session_messages_show_the_pair_in_both_orders():
    pair = Pair("p:0", "local", [{"role": "user", "content": "q"}], "x", "y", GroundTruth("a"))
    assert session_messages(pair, "binary") == [("ab", judge_messages(pair, "binary", "ab")),
                                                ("ba", judge_messages(pair, "binary", "ba"))]
