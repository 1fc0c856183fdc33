"""generations.jsonl: schema errors name the line, a torn last line is dropped, keys resume."""

from __future__ import annotations

import json

import pytest

from thinkj_verl.eval.store import GenerationsFileError, GenerationStore, read_generations


def _record(pid="p1", order="ab", **extra):
    return {"pair_id": pid, "order": order, "label": {"better": "a"}, "text": "x", **extra}


def _write(path, lines):
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    "record, message",
    [
        ({"order": "ab", "label": {"better": "a"}, "text": "x"}, r"missing key\(s\) \['pair_id'\]"),
        (_record(order="ba "), "order 'ba ' is not 'ab' or 'ba'"),
        (_record(label={"better": "c"}), "key 'label'.*'better' must be 'a' or 'b'"),
        (_record(label={"better": "a", "strength": 7}), "key 'label'.*'strength'"),
        (_record(text=None), "key 'text' must be a string"),
        (_record(meta=[1]), "key 'meta' must be an object"),
        ([1, 2], "expected a JSON object"),
        # Values that used to be read loosely: null ids became "None", "false" read as true.
        (_record(pid=None), "key 'pair_id' must be a non-empty string, got None"),
        (_record(pid=""), "key 'pair_id' must be a non-empty string"),
        (_record(pid=True), "key 'pair_id' must be a non-empty string, got True"),
        (_record(pid=["p"]), "key 'pair_id' must be a non-empty string"),
        (_record(order=["ab"]), r"order \['ab'\] is not 'ab' or 'ba'"),
        (_record(truncated="false"), "key 'truncated' must be true or false, got 'false'"),
        (_record(truncated=1), "key 'truncated' must be true or false, got 1"),
        (_record(num_tokens="16"), "key 'num_tokens' must be an integer >= 0 or null, got '16'"),
        (_record(num_tokens=-1), "key 'num_tokens' must be an integer >= 0 or null"),
        (_record(num_tokens=1.5), "key 'num_tokens' must be an integer >= 0 or null"),
        (_record(num_tokens=True), "key 'num_tokens' must be an integer >= 0 or null"),
        (_record(label="--2"), "key 'label': ground truth '--2' is not an integer label"),
        (_record(label="9" * 5000), "key 'label': ground truth '9999.*characters"),
    ],
)
def test_bad_records_name_file_line_and_key(tmp_path, record, message):
    path = tmp_path / "g.jsonl"
    _write(path, [json.dumps(_record()) + "\n", json.dumps(record) + "\n"])
    with pytest.raises(GenerationsFileError, match=rf"g\.jsonl:2: {message}"):
        read_generations(path)


def test_invalid_json_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "g.jsonl"
    _write(path, ["{not json\n", json.dumps(_record()) + "\n"])
    with pytest.raises(GenerationsFileError, match=r"g\.jsonl:1: not valid JSON"):
        read_generations(path)


def test_torn_last_line_and_duplicates_are_counted_not_used(tmp_path):
    path = tmp_path / "g.jsonl"
    full = json.dumps(_record("p2")) + "\n"
    _write(path, [json.dumps(_record()) + "\n", json.dumps(_record(text="again")) + "\n", full, full[:20]])
    records, skipped = read_generations(path)
    assert [(r["pair_id"], r["text"]) for r in records] == [("p1", "x"), ("p2", "x")]
    assert dict(skipped) == {"duplicate (pair_id, order)": 1, "torn last line": 1}
    # Optional keys are filled in.
    assert records[0]["truncated"] is False and records[0]["meta"] == {} and records[0]["subset"] is None


def test_store_resumes_after_a_crash_mid_write(tmp_path):
    store = GenerationStore(tmp_path / "out" / "generations.jsonl")
    assert store.done_keys() == set()
    store.append([_record("p1", "ab"), _record("p1", "ba")])
    with store.path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(_record("p2"))[:15])  # the crash
    assert store.done_keys() == {("p1", "ab"), ("p1", "ba")}
    store.append([_record("p2")])
    records, skipped = read_generations(store.path)
    assert [(r["pair_id"], r["order"]) for r in records] == [("p1", "ab"), ("p1", "ba"), ("p2", "ab")]
    assert not skipped
    assert store.path.read_text(encoding="utf-8").count("\n") == 3


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_generations(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_a_line_is_not_json(tmp_path, constant):
    path = tmp_path / "g.jsonl"
    _write(path, [json.dumps(_record())[:-1] + f', "num_tokens": {constant}}}\n', json.dumps(_record("p2")) + "\n"])
    with pytest.raises(GenerationsFileError, match=rf"g\.jsonl:1: not valid JSON \({constant} is not valid JSON\)"):
        read_generations(path)


def test_non_utf8_line_names_the_line_and_a_torn_character_at_the_end_is_dropped(tmp_path):
    path = tmp_path / "g.jsonl"
    good = json.dumps(_record()).encode() + b"\n"
    path.write_bytes(good + json.dumps(_record("p2")).encode().replace(b"x", b"\xe9") + b"\n")
    with pytest.raises(GenerationsFileError, match=r"g\.jsonl:2: byte 0xe9 at column \d+ is not UTF-8"):
        read_generations(path)
    path.write_bytes(good + '{"pair_id": "p2", "text": "caf\u00e9'.encode()[:-1])  # a crash mid-character
    records, skipped = read_generations(path)
    assert len(records) == 1 and skipped == {"torn last line": 1}


def test_valid_optional_values_are_kept():
    from thinkj_verl.eval.store import validate_record

    record = validate_record(_record(pid=7, truncated=True, num_tokens=16), "f:1")
    assert (record["pair_id"], record["truncated"], record["num_tokens"]) == ("7", True, 16)
    record = validate_record(_record(truncated=None, num_tokens=None), "f:1")
    assert (record["truncated"], record["num_tokens"]) == (False, None)


@pytest.mark.parametrize(
    "record, message",
    [
        (_record(subset=[1]), "key 'subset' must be a string or null"),
        (_record(source={"a": 1}), "key 'source' must be a string or null"),
    ],
)
def test_grouping_keys_must_be_text(tmp_path, record, message):
    path = tmp_path / "g.jsonl"
    _write(path, [json.dumps(record) + "\n"])
    with pytest.raises(GenerationsFileError, match=rf"g\.jsonl:1: {message}"):
        read_generations(path)


def test_a_bare_label_is_read_in_the_scored_format(tmp_path):
    path = tmp_path / "g.jsonl"
    _write(path, [json.dumps(_record(label=3)) + "\n"])
    assert read_generations(path, "strength")[0][0]["label"] == 3
    with pytest.raises(GenerationsFileError, match=r"g\.jsonl:1: key 'label': ground truth 3 is not 1"):
        read_generations(path, "binary")


def test_store_writes_strict_json_even_for_a_nan_in_meta(tmp_path):
    store = GenerationStore(tmp_path / "g.jsonl")
    store.append([_record(meta={"score": float("nan")})])
    records, _ = read_generations(tmp_path / "g.jsonl")
    assert records[0]["meta"] == {"score": None}
