"""``thinkj prepare`` end to end on fixture files: exact summary, balance, determinism,
atomic output, the tokenizer length filter, and verl's own RLHFDataset reading the result."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from thinkj_verl.cli import main as thinkj
from thinkj_verl.data.pairs import read_pairs
from thinkj_verl.data.prepare import prepare
from thinkj_verl.files import atomic_path
from thinkj_verl.formats import get_format
from thinkj_verl.ground_truth import parse_ground_truth
from thinkj_verl.prompts import judge_messages, label_for

FIXTURES = Path(__file__).parent / "fixtures"


def local_rows(count: int) -> list[dict]:
    """Chosen/rejected rows: the better response is always the canonical (a)."""
    return [
        {"id": i, "prompt": f"Question number {i}?", "chosen": f"A good answer {i}.", "rejected": f"Bad {i}."}
        for i in range(count)
    ]


def rows_of(path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_helpsteer2_summary_is_exact(tmp_path, capsys):
    code = thinkj(
        ["prepare", "--source", "helpsteer2", "--input", str(FIXTURES / "helpsteer2.jsonl"), "--out", str(tmp_path),
         "--format", "strength", "--orders", "both", "--val-fraction", "0"]
    )
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert json.loads(capsys.readouterr().out) == summary  # printed and written alike
    assert summary["read"] == 7 and summary["pairs"] == 3
    assert summary["skipped"] == {"empty response": 1, "identical responses": 1, "malformed row": 1, "tie": 1}
    assert summary["written"] == {"train": 6, "val": 0, "pairs_train": 3, "pairs_val": 0}
    assert summary["better_position"] == {"a": 3, "b": 3, "share_a": 0.5}
    assert summary["better_is_longer"] == {"longer": 3, "shorter": 0, "equal_length": 0, "share_longer": 1.0}
    assert summary["prompt_length"]["unit"] == "characters" and summary["prompt_length"]["count"] == 6

    rows = rows_of(tmp_path / "train.parquet")
    pairs = read_pairs(tmp_path / "pairs_train.parquet")
    assert [(r["extra_info"]["pair_id"], r["extra_info"]["order"]) for r in rows] == [
        (p.id, order) for p in pairs for order in ("ab", "ba")
    ]
    for row, (pair, order) in zip(rows, [(p, o) for p in pairs for o in ("ab", "ba")]):
        assert row["prompt"] == judge_messages(pair, "strength", order)
        assert row["reward_model"] == {"style": "rule", "ground_truth": label_for(pair, order).to_dict()}
        assert row["data_source"] == "thinkj/helpsteer2" and row["ability"] == "judge"
        assert row["extra_info"]["source"] == "helpsteer2" and row["extra_info"]["subset"] == pair.subset
    assert [r["extra_info"]["index"] for r in rows] == list(range(6))


@pytest.mark.parametrize("count", [100, 101])
def test_random_orders_balance_the_better_position_in_each_split(tmp_path, count):
    summary = prepare("local", local_rows(count), tmp_path, ["binary"], orders="random", seed=3, val_fraction=0.2)
    for split in ("train", "val"):
        rows = rows_of(tmp_path / f"{split}.parquet")
        better = Counter(r["reward_model"]["ground_truth"]["better"] for r in rows)
        assert abs(better["a"] - better["b"]) <= len(rows) % 2
        orders = Counter(r["extra_info"]["order"] for r in rows)
        assert orders == Counter({"ab": better["a"], "ba": better["b"]})  # canonical better is (a)
    assert summary["written"]["train"] + summary["written"]["val"] == count  # one order per pair


def test_both_orders_show_every_pair_twice_and_split_by_pair(tmp_path):
    summary = prepare("local", local_rows(40), tmp_path, ["strength"], orders="both", seed=1, val_fraction=0.25)
    train, val = rows_of(tmp_path / "train.parquet"), rows_of(tmp_path / "val.parquet")
    assert summary["better_position"] == {"a": 40, "b": 40, "share_a": 0.5}
    ids = {split: Counter(r["extra_info"]["pair_id"] for r in rows) for split, rows in (("train", train), ("val", val))}
    assert set(ids["train"].values()) == {2} and set(ids["val"].values()) == {2}
    assert not set(ids["train"]) & set(ids["val"]) and len(ids["val"]) == 10


def test_same_seed_same_bytes_other_seed_other_split(tmp_path):
    args = dict(source="skywork", input=FIXTURES / "skywork.jsonl", formats=["scores"], orders="random", val_fraction=0.34)
    prepare(out=tmp_path / "one", seed=7, **args)
    prepare(out=tmp_path / "two", seed=7, **args)
    for name in ("train.parquet", "val.parquet", "pairs_train.parquet", "pairs_val.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    draws = set()
    for seed in range(8):
        prepare(out=tmp_path / f"s{seed}", seed=seed, **args)
        val = rows_of(tmp_path / f"s{seed}" / "val.parquet")
        draws.add(tuple((r["extra_info"]["pair_id"], r["extra_info"]["order"]) for r in val))
    assert len(draws) > 1


def test_output_is_atomic_and_a_failed_run_leaves_the_old_files(tmp_path):
    out = tmp_path / "out"
    prepare("rewardbench", FIXTURES / "rewardbench.jsonl", out, ["binary"], val_fraction=0)
    assert sorted(os.listdir(out)) == ["pairs_train.parquet", "pairs_val.parquet", "summary.json", "train.parquet", "val.parquet"]
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    with pytest.raises(OSError):
        prepare("skywork", FIXTURES / "skywork.jsonl", out, ["binary"], tokenizer=tmp_path / "no-tokenizer-here")
    with pytest.raises(ValueError, match="--max-prompt-length needs --tokenizer"):
        prepare("skywork", FIXTURES / "skywork.jsonl", out, ["binary"], max_prompt_length=10)
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before

    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            Path(tmp).write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


def test_several_formats_share_pairs_and_orders(tmp_path):
    prepare("hh_rlhf", FIXTURES / "hh_rlhf.jsonl", tmp_path, ["strength", "answer_tag"], orders="random", val_fraction=0)
    strength, tag = rows_of(tmp_path / "strength" / "train.parquet"), rows_of(tmp_path / "answer_tag" / "train.parquet")
    assert [r["extra_info"]["pair_id"] for r in strength] == [r["extra_info"]["pair_id"] for r in tag]
    assert [r["extra_info"]["order"] for r in strength] == [r["extra_info"]["order"] for r in tag]
    assert all(r["prompt"][0]["content"].endswith(get_format("answer_tag").instruction) for r in tag)
    assert all(r["prompt"][0]["content"].endswith(get_format("strength").instruction) for r in strength)


def test_tokenizer_length_filter_matches_verls_own_count(tmp_path, tiny_judge_path, tiny_tokenizer):
    rows = local_rows(30)
    for i, row in enumerate(rows):
        row["chosen"] += " More detail." * (i * 3)  # a spread of prompt lengths
    full = prepare("local", rows, tmp_path / "all", ["strength"], orders="both", val_fraction=0, tokenizer=tiny_judge_path)
    assert full["prompt_length"]["unit"] == "tokens"
    limit = (full["prompt_length"]["min"] + full["prompt_length"]["max"]) // 2

    summary = prepare(
        "local", rows, tmp_path / "cut", ["strength"], orders="both", val_fraction=0,
        tokenizer=tiny_judge_path, max_prompt_length=limit,
    )

    def verl_length(messages):  # how RLHFDataset.maybe_filter_out_long_prompts counts
        ids = tiny_tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return len(list(getattr(ids, "input_ids", ids)))

    all_rows = rows_of(tmp_path / "all" / "train.parquet")
    too_long = {r["extra_info"]["pair_id"] for r in all_rows if verl_length(r["prompt"]) > limit}
    kept = rows_of(tmp_path / "cut" / "train.parquet")
    assert 0 < len(too_long) < 30
    assert summary["skipped"] == {f"prompt longer than {limit} tokens": len(too_long)}
    assert {r["extra_info"]["pair_id"] for r in kept} == {r["extra_info"]["pair_id"] for r in all_rows} - too_long
    assert max(verl_length(r["prompt"]) for r in kept) == summary["prompt_length"]["max"] <= limit


def test_verl_rlhfdataset_reads_the_written_parquet(tmp_path, tiny_tokenizer):
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

    prepare("thinkj_release", FIXTURES / "thinkj_release_strength.json", tmp_path, ["strength"], val_fraction=0)
    config = OmegaConf.create(
        {"max_prompt_length": 4096, "filter_overlong_prompts": True, "cache_dir": str(tmp_path / "cache")}
    )
    dataset = RLHFDataset(str(tmp_path / "train.parquet"), tiny_tokenizer, config)
    assert len(dataset) == 6
    batch = collate_fn([dataset[i] for i in range(len(dataset))])
    for item_prompt, truth, info in zip(batch["raw_prompt"], batch["reward_model"], batch["extra_info"]):
        label = parse_ground_truth(truth["ground_truth"], "strength")
        assert label.strength in (1, 2, 3)
        # The label names the side where the canonical better response was shown.
        pair = next(p for p in read_pairs(tmp_path / "pairs_train.parquet") if p.id == info["pair_id"])
        assert label == label_for(pair, info["order"])
        assert item_prompt == judge_messages(pair, "strength", info["order"])


def test_cli_reports_bad_arguments(tmp_path, capsys):
    assert thinkj(["prepare", "--source", "local", "--input", str(FIXTURES / "local.jsonl"), "--out", str(tmp_path)]) == 1
    assert "--column prompt=NAME" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        thinkj(["prepare", "--source", "local", "--input", "x.jsonl", "--out", str(tmp_path), "--format", "verbose"])
    assert "unknown format 'verbose'" in capsys.readouterr().err
    code = thinkj(
        ["prepare", "--source", "local", "--input", str(FIXTURES / "local.jsonl"), "--out", str(tmp_path),
         "--column", "prompt=question", "--column", "chosen=good", "--column", "rejected=bad", "--column", "id=qid",
         "--format", "binary,scores", "--val-fraction", "0"]
    )
    assert code == 0 and (tmp_path / "scores" / "train.parquet").exists() and (tmp_path / "binary" / "train.parquet").exists()


def stress_pairs(count: int) -> list:
    """Pairs whose texts start and end with whitespace, punctuation and newlines: the joins
    where a piecewise count could drift from a full one."""
    from thinkj_verl.data.pairs import Pair
    from thinkj_verl.ground_truth import GroundTruth

    edges = ["", " ", "\n", "\n\n", "  ", ".", "]", "\t"]
    pairs = []
    for i in range(count):
        head, tail = edges[i % len(edges)], edges[(i * 3 + 1) % len(edges)]
        body = "word " * (i % 17) + f"answer {i}"
        conversation = [{"role": "user", "content": f"{tail}Question {i}{head}"}]
        if i % 4 == 0:
            conversation = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": f"{head}Hello{tail}"}] + conversation
        pairs.append(Pair(f"s:{i}", "test", conversation, f"{head}{body}{tail}", f"{tail}other {i}{head}", GroundTruth("a")))
    return pairs


def test_piecewise_counts_decide_like_full_counts(tiny_tokenizer):
    from thinkj_verl.data.lengths import PieceLengths

    pairs = stress_pairs(120)
    counter = PieceLengths(tiny_tokenizer, "strength", batch_size=50, sample=8)
    assert counter.template_pieces is not None  # the tiny ChatML template keeps content verbatim
    full = PieceLengths(tiny_tokenizer, "strength").full(pairs, ("ab", "ba"))
    measured = counter.measure(pairs, ("ab", "ba"))
    assert counter.max_sample_error is not None and 2 * counter.max_sample_error <= counter.margin
    assert max(abs(m - f) for ms, fs in zip(measured, full) for m, f in zip(ms, fs)) <= counter.margin // 2

    lengths = sorted(max(fs) for fs in full)
    for limit in (lengths[10], lengths[60], lengths[-5]):
        counter = PieceLengths(tiny_tokenizer, "strength", sample=8)
        kept, counts = counter.filter(pairs, ("ab", "ba"), limit)
        assert kept == [i for i, fs in enumerate(full) if max(fs) <= limit]
        assert all(max(c) <= limit for c in counts)


def test_template_that_rewrites_content_falls_back_to_full_counts(tiny_judge_path):
    from transformers import AutoTokenizer

    from thinkj_verl.data.lengths import PieceLengths

    tokenizer = AutoTokenizer.from_pretrained(tiny_judge_path)
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] | replace('\x00', '') }}<|im_end|>\n"
        "{% endfor %}<|im_start|>assistant\n"
    )
    counter = PieceLengths(tokenizer, "binary")
    assert counter.template_pieces is None
    pairs = stress_pairs(6)
    assert counter.measure(pairs, ("ab",)) == counter.full(pairs, ("ab",)) and counter.exact_counts == 12


def test_token_counts_ignore_padding_and_truncation_set_in_tokenizer_json(tiny_tokenizer):
    # Sentence-embedding tokenizers ship with padding/truncation to 128 switched on; a judge
    # prompt's length must be its real length all the same.
    import copy

    from thinkj_verl.data.pairs import Pair

    from thinkj_verl.ground_truth import GroundTruth
    from thinkj_verl.data.lengths import PieceLengths

    padded = copy.deepcopy(tiny_tokenizer)
    padded.backend_tokenizer.enable_padding(length=512, pad_id=padded.pad_token_id, pad_token=padded.pad_token)
    padded.backend_tokenizer.enable_truncation(max_length=16)
    pairs = [Pair(f"p{i}", "local", [{"role": "user", "content": "word " * (5 + 40 * i)}], "yes " * (3 + i), "no", GroundTruth("a"))
             for i in range(4)]
    clean = PieceLengths(tiny_tokenizer, "strength").full(pairs, ["ab", "ba"])
    assert PieceLengths(padded, "strength").full(pairs, ["ab", "ba"]) == clean
    assert PieceLengths(padded, "strength").measure(pairs, ["ab", "ba"]) == clean
    assert len({n for ns in clean for n in ns}) == 4 and min(min(ns) for ns in clean) > 16
