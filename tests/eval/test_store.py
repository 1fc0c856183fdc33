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
