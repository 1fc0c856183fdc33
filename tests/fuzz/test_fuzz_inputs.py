"""Fuzz every command's input files: valid-looking rows with one thing broken, junk rows and
junk bytes. Whatever the file holds, a command exits with its documented code and a one-line
message (never a traceback), and where it counts rows, ``read == written + skipped``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
EVAL_FIXTURES = Path(__file__).parents[1] / "eval" / "fixtures"
FUZZ = settings(max_examples=int(__import__("os").environ.get("THINKJ_FUZZ_EXAMPLES", 25)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

JUNK = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(), st.text(max_size=8),
        st.sampled_from(["", " ", "--2", "\u00b2", "9" * 5000, "false", "NaN", "16", "ab", "a", "b", "user"]),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), 1.5, -2, 0, 3]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["role", "content", "better", "x"]), inner, max_size=3)),
    max_leaves=6,
)


def _records(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        return data if isinstance(data, list) else next(v for v in data.values() if isinstance(v, list))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# Values that look almost right: half of all broken keys get one of these.
NASTY = st.sampled_from(["16", "false", "true", None, float("nan"), float("inf"), "", "--2", True, 1.5, -1, [], {}])
# Optional keys some reader looks at even when the base rows lack them.
OPTIONAL_KEYS = ["truncated", "num_tokens", "order", "meta", "subset", "id", "strength", "scores", "source"]


@st.composite
def mutated_rows(draw, base: list):
    """Rows of ``base`` (real, valid rows) with up to two broken: a key set to an almost-right
    value or junk, a key dropped, or the whole row replaced by junk."""
    rows = [dict(row) for row in draw(st.lists(st.sampled_from(base), min_size=0, max_size=8))]
    for _ in range(draw(st.integers(0, 2)) if rows else 0):
        at = draw(st.integers(0, len(rows) - 1))
        action = draw(st.sampled_from(["break", "break", "drop", "junk"]))
        if action == "break" and isinstance(rows[at], dict):
            # A key of the row, or an optional key the row may carry.
            rows[at][draw(st.sampled_from(sorted(rows[at]) + OPTIONAL_KEYS))] = draw(st.one_of(NASTY, JUNK))
        elif action == "drop" and isinstance(rows[at], dict) and rows[at]:
            del rows[at][draw(st.sampled_from(sorted(rows[at])))]
        else:
            rows[at] = draw(JUNK)
    return rows


@st.composite
def file_bytes(draw, base: list):
    """A .jsonl file of mutated rows; sometimes a line that is not JSON or not UTF-8."""
    lines = [json.dumps(r).encode() for r in draw(mutated_rows(base))]
    if lines and draw(st.integers(0, 5)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from([b"{not json", b'{"a": "\xff"}', b"[1, 2"])))
    return b"".join(line + b"\n" for line in lines)


def _check_one_line(err: str, prog: str) -> None:
    assert "Traceback" not in err, err
    assert err.startswith(prog) and err.count("\n") == 1, err


# --- thinkj prepare: every source's input ---------------------------------------------------

SOURCE_FIXTURES = {
    "helpsteer2": "helpsteer2.jsonl", "hh_rlhf": "hh_rlhf.jsonl", "skywork": "skywork.jsonl",
    "thinkj_release": "thinkj_release.json", "rewardbench": "rewardbench.jsonl", "rmbench": "rmbench.json",
    "local": "local.jsonl",
}


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
@pytest.mark.parametrize("source", sorted(SOURCE_FIXTURES))
def test_prepare_never_tracebacks_and_counts_every_row(source, suffix, tmp_path_factory, capsys):
    from thinkj_verl.data.prepare import main

    base = _records(FIXTURES / SOURCE_FIXTURES[source])
    extra = ["--column", "prompt=question", "--column", "chosen=good", "--column", "rejected=bad"] if source == "local" else []

    @FUZZ
    @given(content=file_bytes(base), val=st.sampled_from(["0", "0.3"]))
    def run(content, val):
        folder = tmp_path_factory.mktemp("prep")
        path = folder / f"input{suffix}"
        lines = [line for line in content.splitlines() if line.strip()]
        path.write_bytes(content if suffix == ".jsonl" else b"[" + b",\n".join(lines) + b"]")
        code = main(["--source", source, "--input", str(path), "--out", str(folder / "out"), "--val-fraction", val, *extra])
        out, err = capsys.readouterr()
        event(f'exit {code}')
        assert code in (0, 1)
        if code == 1:
            _check_one_line(err, "thinkj prepare: ")
            return
        summary = json.loads((folder / "out" / "summary.json").read_text())
        kept = summary["written"]["pairs_train"] + summary["written"]["pairs_val"]
        units = kept // 9 if source == "rmbench" else kept  # one RM-Bench row gives nine pairs
        assert summary["read"] == units + sum(summary["skipped"].values())
        assert summary["read"] == len(lines)

    run()


# --- canonical pair files (thinkj eval --benchmark pairs, thinkj select / pairs --data) -------


def test_pair_files_read_or_fail_naming_the_row(tmp_path_factory):
    from thinkj_verl.data.pairs import Pair, PairError, read_pairs
    from thinkj_verl.ground_truth import GroundTruth

    base = [Pair(f"p:{i}", "local", [{"role": "user", "content": f"Q{i}?"}], f"A{i}.", f"B{i}.",
                 GroundTruth("ab"[i % 2], strength=1 + i % 3, scores=(10.0 * i, 50.0)), meta={"k": i}).to_dict() for i in range(4)]

    @FUZZ
    @given(content=file_bytes(base))
    def run(content):
        path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
        path.write_bytes(content)
        try:
            pairs = read_pairs(path)
        except (PairError, ValueError) as error:
            assert str(path) in str(error) and "\n" not in str(error)
            return
        assert len(pairs) == sum(1 for line in content.splitlines() if line.strip())

    run()


# --- thinkj eval --generations ------------------------------------------------------------------


def test_eval_generations_never_traceback(tmp_path_factory, capsys):
    from thinkj_verl.eval.run import main

    base = _records(EVAL_FIXTURES / "rewardbench_generations.jsonl")

    @settings(max_examples=max(12, FUZZ.max_examples // 2), deadline=None)
    @given(content=file_bytes(base))
    def run(content):
        folder = tmp_path_factory.mktemp("gen")
        path = folder / "generations.jsonl"
        path.write_bytes(content)
        code = main(["--generations", str(path), "--benchmark", "rewardbench", "--no-progress"])
        out, err = capsys.readouterr()
        event(f'exit {code}')
        assert code in (0, 2)
        if code == 2:
            _check_one_line(err, "thinkj eval: error: ")
            return
        metrics = json.loads((folder / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(c))
        used = metrics["generations"]["judgments"] + sum(metrics["generations"]["lines_not_used"].values())
        assert used == sum(1 for line in content.splitlines() if line.strip())

    run()


# --- thinkj clip ------------------------------------------------------------------------------


def test_clip_never_tracebacks_and_counts_every_row(tmp_path_factory, capsys):
    from thinkj_verl.offline.clip import main

    good = "<think>long</think>(a) is right. Therefore, Response (a) is better, and the strength is [[2]]."
    base = [{"id": "1", "output": good, "truncated": False}, {"id": "2", "output": "<think>cut"},
            {"id": "3", "output": good, "prompt": [{"role": "user", "content": "Q?"}]}]

    @FUZZ
    @given(content=file_bytes(base))
    def run(content):
        folder = tmp_path_factory.mktemp("clip")
        path = folder / "r1.jsonl"
        path.write_bytes(content)
        code = main(["--input", str(path), "--out", str(folder / "clipped.jsonl")])
        out, err = capsys.readouterr()
        event(f'exit {code}')
        assert code in (0, 2)
        if code == 2:
            _check_one_line(err, "thinkj clip: ")
            return
        report = json.loads((folder / "clipped.report.json").read_text())
        assert report["read"] == report["clipped"] + sum(report["not_clipped"].values())
        assert report["read"] == sum(1 for line in content.splitlines() if line.strip())

    run()


# --- thinkj select --judgments / --traces ---------------------------------------------------------


def test_select_never_tracebacks(tmp_path_factory, capsys):
    from thinkj_verl.data.pairs import Pair, write_pairs
    from thinkj_verl.ground_truth import GroundTruth
    from thinkj_verl.offline.select import main

    folder = tmp_path_factory.mktemp("select-data")
    pairs = [Pair(f"p:{i}", "local", [{"role": "user", "content": f"Question {i}?"}], f"A{i}.", f"B{i}.", GroundTruth("a"))
             for i in range(3)]
    write_pairs(pairs, folder / "pairs.jsonl")
    verdict = "Because. Therefore, Response ({}) is better, and the strength is [[2]]."
    judgments = [{"pair_id": f"p:{i}", "text": verdict.format("ab"[i % 2]), "order": "ab", "truncated": False}
                 for i in range(3)]
    traces = [{"pair_id": f"p:{i}", "output": "<think>x</think>" + verdict.format("a"), "order": "ab"} for i in range(3)]

    @FUZZ
    @given(judged=file_bytes(judgments), traced=file_bytes(traces))
    def run(judged, traced):
        work = tmp_path_factory.mktemp("select")
        (work / "judgments.jsonl").write_bytes(judged)
        (work / "traces.jsonl").write_bytes(traced)
        code = main(["--data", str(folder / "pairs.jsonl"), "--out", str(work / "out"), "--encoder", "hashing",
                     "--judgments", str(work / "judgments.jsonl"), "--traces", str(work / "traces.jsonl")])
        out, err = capsys.readouterr()
        event(f'exit {code}')
        assert code in (0, 2)
        if code == 2:
            _check_one_line(err, "thinkj select: ")

    run()
