"""Converters on fixture files written in each source's real schema (CPU only, no hub)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from thinkj_verl.data.pairs import Pair, PairError, read_pairs, write_pairs

from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.data.sources import SourceError, load_pairs

FIXTURES = Path(__file__).parent / "fixtures"


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def pair(id, source, conversation, a, b, better="a", strength=None, subset=None, meta=None):
    return {
        "id": id,
        "source": source,
        "conversation": conversation,
        "response_a": a,
        "response_b": b,
        "better": better,
        "strength": strength,
        "scores": None,
        "subset": subset,
        "meta": meta or {},
    }


LOCAL_COLUMNS = {"prompt": "question", "chosen": "good", "rejected": "bad", "id": "qid", "subset": "topic"}

# source, fixture, options, exact canonical pairs, exact skip counts
CASES = [
    (
        "helpsteer2",
        "helpsteer2.jsonl",
        {},
        [
            pair("helpsteer2:0", "helpsteer2", [user("What is the boiling point of water at sea level?")],
                 "100 degrees Celsius (212 F).", "About 90 degrees Celsius.", "a", 2, "train"),
            pair("helpsteer2:1", "helpsteer2",
                 [user("Give me a name for a cat."), assistant("How about Whiskers?"),
                  user("Something more unusual, please.")],
                 "Fluffy.", "Try Marmalade or Quasar.", "b", 3, "train"),
            pair("helpsteer2:4", "helpsteer2", [user("Translate 'merci' to English.")],
                 "Thanks.", "Thank you.", "b", 1, "validation"),
        ],
        {"tie": 1, "empty response": 1, "malformed row": 1, "identical responses": 1},
    ),
    (
        "hh_rlhf",
        "hh_rlhf.jsonl",
        {},
        [
            pair("hh_rlhf:0", "hh_rlhf", [user("How do I boil an egg?")],
                 "Put it in boiling water for about nine minutes.", "Eggs are laid by hens."),
            pair("hh_rlhf:1", "hh_rlhf",
                 [user("Recommend a book."), assistant("What genre do you like?"), user("Science fiction.")],
                 "Try The Left Hand of Darkness by Ursula K. Le Guin.", "Books are great."),
        ],
        {"empty response": 1, "unparsable transcript": 2, "identical responses": 1, "malformed row": 1},
    ),
    (
        "skywork",
        "skywork.jsonl",
        {},
        [
            pair("skywork:0", "skywork", [user("Write a haiku about rain.")],
                 "Soft rain on the roof\nwhispers to the sleeping town\npuddles hold the sky", "Rain is water.",
                 subset="magpie_ultra"),
            pair("skywork:1", "skywork",
                 [user("What's the capital of Australia?"), assistant("Canberra."), user("And its population?")],
                 "About 470,000 people.", "About 40 million people.", subset="helpsteer2"),
            pair("skywork:4", "skywork",
                 [{"role": "system", "content": "You are a terse assistant."}, user("Is the sky blue?")],
                 "Yes.", "The sky, as observed from the surface of the Earth on a clear day, generally appears blue.",
                 subset="magpie_pro"),
        ],
        {"unparsable transcript": 1, "empty response": 1, "malformed row": 1},
    ),
    (
        "thinkj_release",
        "thinkj_release.json",
        {},
        [
            pair("thinkj_release:0", "thinkj_release", [user("Which planet is largest?")], "Jupiter.", "Mars.", "a"),
            pair("thinkj_release:1", "thinkj_release", [user("Spell 'necessary'.")], "neccessary", "necessary", "b"),
            pair("thinkj_release:2", "thinkj_release", [user("Is 7 prime?")], "Yes, 7 is prime.", "No.", "a"),
        ],
        {"tie": 1, "empty response": 1, "malformed row": 1},
    ),
    (
        "thinkj_release",
        "thinkj_release_strength.json",
        {},
        [
            pair("thinkj_release:0", "thinkj_release", [user("Which planet is largest?")], "Jupiter.", "Mars.", "a", 3),
            pair("thinkj_release:1", "thinkj_release", [user("Spell 'necessary'.")], "neccessary", "necessary", "b", 2),
            pair("thinkj_release:3", "thinkj_release", [user("Is 7 prime?")], "Yes, 7 is prime.", "No.", "a", 1),
        ],
        {"tie": 1, "malformed row": 1},
    ),
    (
        "rewardbench",
        "rewardbench.jsonl",
        {},
        [
            pair("rewardbench:30", "rewardbench", [user("How do I make a cup of tea?")],
                 "Boil water, steep the tea bag for three minutes, then remove it.", "Tea comes from China.",
                 subset="alpacaeval-easy"),
            pair("rewardbench:1200", "rewardbench", [user("What is 12*12?")], "12*12 = 144.", "12*12 = 124.",
                 subset="math-prm"),
        ],
        {"identical responses": 1, "empty response": 1},
    ),
    (
        "local",
        "local.jsonl",
        {"columns": LOCAL_COLUMNS},
        [
            pair("local:q1", "local", [user("Name a mammal that can fly.")], "The bat.", "The penguin.",
                 subset="biology"),
            pair("local:q2", "local",
                 [user("Hi!"), assistant("Hello! How can I help?"), user("Tell me a fact.")],
                 "Octopuses have three hearts.", "Facts are true things.", subset="trivia"),
        ],
        {"malformed row": 1},
    ),
]


@pytest.mark.parametrize("source,fixture,options,expected,skips", CASES, ids=[c[1] for c in CASES])
def test_exact_canonical_output_and_skip_counts(source, fixture, options, expected, skips):
    pairs, skipped = load_pairs(source, FIXTURES / fixture, **options)
    assert [p.to_dict() for p in pairs] == expected
    assert skipped == Counter(skips)
    rows = len(json.loads((FIXTURES / fixture).read_text())) if fixture.endswith(".json") else len(
        (FIXTURES / fixture).read_text().splitlines()
    )
    assert len(pairs) + sum(skipped.values()) == rows  # nothing silently dropped


def test_rmbench_gives_all_nine_style_cells_per_item():
    pairs, skipped = load_pairs("rmbench", FIXTURES / "rmbench.json")
    assert skipped == Counter({"malformed row": 1})  # item 102 has only two chosen variants
    cells = [(p.meta["chosen_style"], p.meta["rejected_style"]) for p in pairs]
    assert cells == [(i, j) for i in range(3) for j in range(3)]
    assert [p.id for p in pairs][:2] == ["rmbench:101:00", "rmbench:101:01"]
    assert {p.subset for p in pairs} == {"chat"} and {p.label.better for p in pairs} == {"a"}
    hard = next(p for p in pairs if p.meta == {"item_id": "101", "chosen_style": 0, "rejected_style": 2})
    assert (hard.response_a, hard.response_b) == ("Paris.", "## Answer\n\nThe capital of France is **Lyon**.")


def test_helpsteer2_split_column_filter_counts_other_split():
    pairs, skipped = load_pairs("helpsteer2", FIXTURES / "helpsteer2.jsonl", keep_split="validation")
    assert [p.id for p in pairs] == ["helpsteer2:4"]
    assert skipped["other split"] == 6


def test_parquet_input_reads_like_jsonl(tmp_path):
    rows = [json.loads(line) for line in (FIXTURES / "skywork.jsonl").read_text().splitlines()]
    good_rows = [r for r in rows if isinstance(r["chosen"], list)]  # parquet needs one column type
    path = tmp_path / "skywork.parquet"
    pq.write_table(pa.Table.from_pylist(good_rows), path)
    from_parquet, skipped = load_pairs("skywork", path)
    from_rows, _ = load_pairs("skywork", good_rows)
    assert [p.to_dict() for p in from_parquet] == [p.to_dict() for p in from_rows]
    assert len(from_parquet) == 3 and skipped == Counter({"unparsable transcript": 1, "empty response": 1})


@pytest.mark.parametrize(
    "source,rows,message",
    [
        ("skywork", [{"prompt": "x", "response": "y"}], "no column(s) ['chosen', 'rejected']"),
        ("local", [{"question": "x", "good": "y", "bad": "z"}], "--column prompt=NAME"),
        ("nonsense", [], "unknown source 'nonsense'"),
    ],
)
def test_wrong_input_raises_a_clear_error(source, rows, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        load_pairs(source, rows)


def test_missing_local_file_and_bad_json_line_are_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n{not json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl, line 2"):
        load_pairs("local", bad)
    with pytest.raises(FileNotFoundError, match="nowhere.jsonl"):
        load_pairs("local", tmp_path / "nowhere.jsonl")


def test_duplicate_ids_are_an_error():
    rows = [{"prompt": "p", "chosen": "x", "rejected": "y", "id": 1}, {"prompt": "q", "chosen": "x", "rejected": "y", "id": 1}]
    with pytest.raises(SourceError, match="id 'local:1' already used by row 0"):
        load_pairs("local", rows)


def test_hub_id_that_cannot_be_reached_says_what_to_do():
    # HF_DATASETS_OFFLINE=1 in conftest: the hub path is taken and fails without network.
    with pytest.raises(SourceError, match="not a local file and could not be loaded"):
        load_pairs("skywork", "no-such-org/no-such-dataset-for-thinkj-tests")


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_canonical_pair_files_round_trip(tmp_path, suffix):
    pairs, _ = load_pairs("rmbench", FIXTURES / "rmbench.json")
    more, _ = load_pairs("helpsteer2", FIXTURES / "helpsteer2.jsonl")
    path = tmp_path / f"pairs{suffix}"
    assert write_pairs(pairs + more, path) == 12
    assert read_pairs(path) == pairs + more


def test_bad_canonical_row_names_file_and_row(tmp_path):
    path = tmp_path / "pairs.jsonl"
    good = Pair("x:0", "local", [user("q")], "a", "b", GroundTruth("a")).to_dict()
    bad = dict(good, id="x:1", better="c")
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(PairError, match=r"pairs.jsonl, row 1: pair 'x:1': ground truth .*'better' must be 'a' or 'b', got 'c'"):
        read_pairs(path)
