"""``thinkj prepare --task policy``: policy RL rows, read back by verl's own RLHFDataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import thinkj_verl.data.policy as policy
from thinkj_verl.cli import main as thinkj

ROWS = [
    {"prompt": "Name a mammal that can fly.", "chosen": "The bat.", "rejected": "The penguin.", "id": "q1"},
    {"prompt": "Name a mammal that can fly.", "chosen": "Bats.", "rejected": "Whales.", "id": "q1b"},
    {"prompt": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Tell me a fact."}],
     "chosen": "Octopuses have three hearts.", "rejected": "Facts are true.", "id": "q2"},
    {"prompt": "Define entropy.", "chosen": "A measure of disorder.", "rejected": "A cake.", "id": "q3"},
    {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "No.", "id": "q4"},
    {"prompt": "Only a prompt."},
]


@pytest.fixture
def local_file(tmp_path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return path



def test_preferred_reference_rows_through_verls_rlhf_dataset(local_file, tmp_path, tiny_judge_path):
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    out = tmp_path / "policy"
    assert thinkj(["prepare", "--task", "policy", "--source", "local", "--input", str(local_file),
                   "--out", str(out), "--val-fraction", "0.25", "--seed", "0"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["read"] == 6 and summary["pairs"] == 5
    assert summary["skipped"] == {policy.DUPLICATE: 1, "malformed row": 1}
    assert summary["written"] == {"train": 3, "val": 1}

    tokenizer = AutoTokenizer.from_pretrained(tiny_judge_path)
    config = OmegaConf.create({"max_prompt_length": 512, "filter_overlong_prompts": False})
    rows = []
    for split in ("train", "val"):
        dataset = RLHFDataset(str(out / f"{split}.parquet"), tokenizer, config)
        rows += [dataset[i] for i in range(len(dataset))]
    by_id = {row["extra_info"]["pair_id"]: row for row in rows}
    assert sorted(by_id) == ["local:q1", "local:q2", "local:q3", "local:q4"]
    fact = by_id["local:q2"]
    assert [m["role"] for m in fact["raw_prompt"]] == ["user", "assistant", "user"]
    assert fact["reward_model"]["ground_truth"] == "Octopuses have three hearts."
    assert list(fact["extra_info"]["conversation"]) == list(fact["raw_prompt"])
    assert fact["data_source"] == "policy/local" and fact["extra_info"]["reference_source"] == "preferred"
    assert sorted(r["extra_info"]["split"] for r in rows) == ["train", "train", "train", "val"]
    assert sorted(r["index"] for r in rows) == [0, 1, 2, 3]


def test_named_reference_model_file(local_file, tmp_path):
    references = tmp_path / "ref.jsonl"
    references.write_text(
        json.dumps({"id": "local:q1", "response": "Bats fly.", "model": "ref-7b"}) + "\n"
        + json.dumps({"id": "local:q1", "response": "Other.", "model": "other"}) + "\n"
        + json.dumps({"id": "local:q4", "response": "Hello there.", "model": "ref-7b"}) + "\n"
        + json.dumps({"id": "local:99", "response": "Unused.", "model": "ref-7b"}) + "\n"
    )
    out = tmp_path / "policy"
    summary = policy.prepare_policy("local", str(local_file), out, reference=str(references),
                                    reference_model="ref-7b", val_fraction=0.0)
    assert summary["written"] == {"train": 2, "val": 0}
    assert summary["skipped"][policy.NO_REFERENCE] == 2 and summary["reference_rows_unused"] == 1
    import pyarrow.parquet as pq

    rows = pq.read_table(out / "train.parquet").to_pylist()
    assert [r["reward_model"]["ground_truth"] for r in rows] == ["Bats fly.", "Hello there."]
    assert {r["extra_info"]["reference_source"] for r in rows} == {"ref-7b"}


def test_bad_reference_file_is_named(local_file, tmp_path, capsys):
    references = tmp_path / "ref.jsonl"
    references.write_text(json.dumps({"pair": "local:0", "text": "x"}) + "\n")
    code = thinkj(["prepare", "--task", "policy", "--source", "local", "--input", str(local_file),
                   "--out", str(tmp_path / "o"), "--reference", str(references)])
    assert code == 1
    assert "ref.jsonl: row 1 needs a string 'id'" in capsys.readouterr().err
