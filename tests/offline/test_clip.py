"""Trace clipping: reasoning-model output -> <think>explanation</think> + canonical final sentence."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thinkj_verl.offline.clip import (
    EMPTY_EXPLANATION,
    UNFINISHED_REASONING,
    clip_rows,
    clip_trace,
    main,
)
from thinkj_verl.parser import parse_judgment

STRENGTH_2A = "Therefore, Response (a) is better, and the strength is [[2]]."

CLIPPED = [
    # (format, output, clipped text)
    (
        "strength",
        "<think>\nLet me think. Maybe (b)? Therefore, Response (b) is better, and the strength is [[1]]. "
        "No, wait.\n</think>\n\nResponse (a) answers the question; (b) drifts. " + STRENGTH_2A,
        "<think>\nResponse (a) answers the question; (b) drifts.\n</think>\n\n" + STRENGTH_2A,
    ),
    (
        # No reasoning part (an API that returns it separately): the whole output is the explanation.
        "binary",
        "**Explanation:** (b) cites the source.\n\nTherefore, Response (b) is better.",
        "<think>\n**Explanation:** (b) cites the source.\n</think>\n\nTherefore, Response (b) is better.",
    ),
    (
        # The paper's "preference strength" wording is read and written back canonically.
        "strength",
        "<think>long</think>Both fine; (a) a bit clearer. Therefore, Response (a) is better, and the "
        "preference strength is [[1]].",
        "<think>\nBoth fine; (a) a bit clearer.\n</think>\n\n"
        "Therefore, Response (a) is better, and the strength is [[1]].",
    ),
    (
        # The scores sentence matches from "are [[..]]": its lead-in must not stay in the explanation.
        "scores",
        "<think>r</think>(a) is wrong on the date. Therefore, the quality scores for Response (a) and "
        "Response (b) are [[30]] and [[75]], respectively.",
        "<think>\n(a) is wrong on the date.\n</think>\n\nTherefore, the quality scores for Response (a) "
        "and Response (b) are [[30]] and [[75]], respectively.",
    ),
    (
        "answer_tag",
        "<think>r</think>(a) follows the format asked for.\n<answer>[[A]]</answer>",
        "<think>\n(a) follows the format asked for.\n</think>\n\n<answer>[[A]]</answer>",
    ),
]


@pytest.mark.parametrize("fmt, output, expected", CLIPPED)
def test_clips_to_explanation_and_canonical_final_sentence(fmt, output, expected):
    result = clip_trace(output, fmt)
    assert result.ok and result.reason == ""
    assert result.text == expected
    again = parse_judgment(result.text, fmt, require_think=True)
    assert again.format_ok and again.verdict == result.judgment.verdict


NOT_CLIPPED = [
    ("strength", "<think>I keep thinking and never stop", UNFINISHED_REASONING),
    ("strength", "<think>r</think>" + STRENGTH_2A, EMPTY_EXPLANATION),
    ("strength", "<think>Therefore, Response (a) is better, and the strength is [[2]].</think>Fine.",
     "no final verdict sentence"),
    ("strength", "<think>r</think>x. Therefore, Response (a) is better, and the strength is [[5]].",
     "strength 5 outside 1..3"),
    ("binary", "<think>r</think>Hmm. Therefore, Response (a) is better. Therefore, Response (b) is better.",
     "conflicting final verdicts"),
    ("strength", None, "output is not text"),
]


@pytest.mark.parametrize("fmt, output, reason", NOT_CLIPPED)
def test_unclippable_outputs_say_why(fmt, output, reason):
    result = clip_trace(output, fmt)
    assert not result.ok and result.text is None
    assert result.reason == reason


def test_truncated_output_is_not_clipped():
    result = clip_trace("<think>r</think>ok. " + STRENGTH_2A, "strength", truncated=True)
    assert result.reason == "truncated at the length limit"


@given(st.text(max_size=200))
def test_clip_never_raises_and_clipped_text_always_parses(text):
    result = clip_trace(text, "strength")
    if result.ok:
        assert parse_judgment(result.text, "strength", require_think=True).format_ok
    else:
        assert result.reason


def test_clip_rows_counts_reasons_and_builds_sft_messages():
    prompt = [{"role": "user", "content": "judge this"}]
    rows = [
        {"id": "1", "prompt": prompt, "output": "<think>r</think>good. " + STRENGTH_2A},
        {"id": "2", "output": "<think>never ends"},
        {"id": "3", "output": "<think>again"},
        {"id": "4", "output": "no verdict here", "truncated": False},
    ]
    kept, skipped = clip_rows(rows, "strength")
    assert [r["id"] for r in kept] == ["1"]
    assert kept[0]["verdict"] == "a" and kept[0]["strength"] == 2
    assert kept[0]["messages"] == prompt + [{"role": "assistant", "content": kept[0]["clipped"]}]
    assert skipped == {UNFINISHED_REASONING: 2, "no final verdict sentence": 1}


def test_cli_writes_clipped_rows_and_report(tmp_path, capsys):
    src = tmp_path / "r1.jsonl"
    src.write_text(
        json.dumps({"id": "1", "response": "<think>r</think>good. " + STRENGTH_2A}) + "\n"
        + json.dumps({"id": "2", "response": "<think>cut"}) + "\n"
    )
    out = tmp_path / "clipped.jsonl"
    assert main(["--input", str(src), "--out", str(out), "--field", "response"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1"]
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report == {"read": 2, "clipped": 1, "not_clipped": {UNFINISHED_REASONING: 1}}
    assert "not clipped 1" in capsys.readouterr().out
    assert main(["--input", str(src), "--out", str(out)]) == 2
    assert "pass --field" in capsys.readouterr().err


def test_cli_reads_parquet_and_counts_rows_that_are_not_objects(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = "<think>r</think>good. " + STRENGTH_2A
    src = tmp_path / "r1.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "1", "output": good}, {"id": "2", "output": "<think>cut"}]), src)
    out = tmp_path / "clipped.jsonl"
    assert main(["--input", str(src), "--out", str(out)]) == 0
    assert json.loads(out.with_suffix(".report.json").read_text()) == {
        "read": 2, "clipped": 1, "not_clipped": {UNFINISHED_REASONING: 1}}

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("".join(json.dumps(r) + "\n" for r in [
        "a string row", [1, 2], {"id": "1", "output": good}, None,
        {"id": "2", "output": good, "truncated": "false"}, {"id": "3", "output": good, "score": float("nan")},
    ]))
    assert main(["--input", str(mixed), "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report == {"read": 6, "clipped": 2, "not_clipped": {"row is not a JSON object": 3,
                                                                "truncated is not true or false": 1}}
    rows = [json.loads(line, parse_constant=lambda name: pytest.fail(name)) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "3"] and rows[1]["score"] is None


def test_cli_bad_out_is_one_line(tmp_path, capsys):
    src = tmp_path / "r1.jsonl"
    src.write_text(json.dumps({"output": "<think>r</think>good. " + STRENGTH_2A}) + "\n")
    assert main(["--input", str(src), "--out", str(src / "under" / "clipped.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("thinkj clip: ") and err.count("\n") == 1 and str(src) in err
