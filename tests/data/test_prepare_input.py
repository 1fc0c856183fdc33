"""``thinkj prepare`` on bad input and bad output places: one-line errors, counted skips,
normal file permissions, and an output folder that changes as a whole."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from thinkj_verl import files as files_module
from thinkj_verl.data.prepare import main, prepare

FIXTURES = Path(__file__).parent / "fixtures"


def hs2_row(i: int, strength) -> dict:
    return {"prompt": f"Question {i}?", "response_1": f"Answer one {i}.", "response_2": f"Answer two {i}.",
            "preference_strength": strength}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def one_line_error(capsys, *args: str) -> str:
    code, err = run(capsys, *args)
    assert code == 1 and err.startswith("thinkj prepare: ") and err.count("\n") == 1, err
    return err


def consistent(out: Path) -> dict:
    """The folder is one complete output: summary counts equal the files' rows, no pair in both splits."""
    summary = json.loads((out / "summary.json").read_text())
    train, val = (pq.read_table(out / f"{name}.parquet").to_pylist() for name in ("train", "val"))
    assert (len(train), len(val)) == (summary["written"]["train"], summary["written"]["val"])
    ids = [{r["extra_info"]["pair_id"] for r in rows} for rows in (train, val)]
    assert not ids[0] & ids[1]
    assert pq.read_table(out / "pairs_train.parquet").num_rows == summary["written"]["pairs_train"]
    return summary


@pytest.mark.parametrize("content", [b"", b"   \n\n \t\n"])
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_empty_input_is_an_error(tmp_path, capsys, content, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(content)
    err = one_line_error(capsys, "--source", "helpsteer2", "--input", str(path), "--out", str(tmp_path / "out"))
    assert str(path) in err and ("no rows" in err or "not valid JSON" in err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_non_utf8_byte_names_file_and_line(tmp_path, capsys, suffix):
    rows = [json.dumps(hs2_row(i, -2)).encode() for i in range(4)]
    rows[2] = rows[2].replace(b"Answer one 2", b"Answer \xff one 2")
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(b"\n".join(rows) + b"\n" if suffix == ".jsonl" else b"[\n" + b",\n".join(rows) + b"\n]\n")
    err = one_line_error(capsys, "--source", "helpsteer2", "--input", str(path), "--out", str(tmp_path / "out"))
    line = 3 if suffix == ".jsonl" else 4
    assert f"{path}, line {line}: byte 0xff at column" in err and "UTF-8" in err


def test_nan_and_infinite_strength_rows_are_counted_skips(tmp_path):
    rows = [hs2_row(0, -2), hs2_row(1, float("nan")), hs2_row(2, float("inf")), hs2_row(3, 3),
            hs2_row(4, float("-inf")), hs2_row(5, 1)]
    path = tmp_path / "hs2.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))  # json writes NaN / Infinity
    summary = prepare("helpsteer2", path, tmp_path / "out", ["strength"], val_fraction=0)
    assert summary["skipped"] == {"malformed row": 3}
    assert summary["read"] == 6 == summary["written"]["pairs_train"] + summary["written"]["pairs_val"] + 3


@pytest.mark.parametrize(
    "count, fraction, words",
    [
        (5, "0.99", "--val-fraction 0.99 leaves no pair for train.parquet"),
        (1, "0.5", "--val-fraction 0.5 asks for a validation split, but 1 pair(s) leave none"),
    ],
)
def test_val_fraction_that_empties_a_split_is_an_error(tmp_path, capsys, count, fraction, words):
    path = write_jsonl(tmp_path / "hs2.jsonl", [hs2_row(i, 2) for i in range(count)])
    err = one_line_error(capsys, "--source", "helpsteer2", "--input", str(path), "--out", str(tmp_path / "out"),
                         "--val-fraction", fraction)
    assert words in err


def test_all_rows_skipped_is_an_error_with_the_reasons(tmp_path, capsys):
    path = write_jsonl(tmp_path / "hs2.jsonl", [hs2_row(i, 0) for i in range(3)])
    err = one_line_error(capsys, "--source", "helpsteer2", "--input", str(path), "--out", str(tmp_path / "out"),
                         "--val-fraction", "0")
    assert "no pair left to write: 3 row(s) read, skipped: 3 tie" in err


def test_out_at_a_file_under_a_file_or_unwritable_is_one_line(tmp_path, capsys):
    path = write_jsonl(tmp_path / "hs2.jsonl", [hs2_row(i, 2) for i in range(4)])
    common = ["--source", "helpsteer2", "--input", str(path), "--val-fraction", "0", "--out"]
    assert "is a file; give a folder path" in one_line_error(capsys, *common, str(path))
    assert f"is under {path}, which is a file" in one_line_error(capsys, *common, str(path / "sub" / "out"))
    # A place the OS refuses to create (even for root): the OS error, named, on one line.
    err = one_line_error(capsys, *common, "/proc/thinkj-prepare-out")
    assert "/proc/" in err and "No such file or directory" in err
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    assert "not an earlier `thinkj prepare` output" in one_line_error(capsys, *common, str(other))
    assert (other / "mine.txt").read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere: the OS-refusal case above covers root")
def test_out_in_a_read_only_folder_is_one_line(tmp_path, capsys):
    path = write_jsonl(tmp_path / "hs2.jsonl", [hs2_row(i, 2) for i in range(4)])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        err = one_line_error(capsys, "--source", "helpsteer2", "--input", str(path), "--out", str(locked / "out"))
    finally:
        locked.chmod(0o700)
    assert "permission denied" in err


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_outputs_get_normal_permissions_under_the_umask(tmp_path, umask):
    path = write_jsonl(tmp_path / "hs2.jsonl", [hs2_row(i, 2) for i in range(4)])
    old = os.umask(umask)
    try:
        prepare("helpsteer2", path, tmp_path / "out", ["strength", "binary"], val_fraction=0)
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    for file in [p for p in out.rglob("*") if p.is_file()]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~umask, file


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_rerun_replaces_the_folder_as_a_whole(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(files_module, "_exchange", lambda a, b: False)
    first = write_jsonl(tmp_path / "first.jsonl", [hs2_row(i, 2) for i in range(10)])
    second = write_jsonl(tmp_path / "second.jsonl", [hs2_row(i, -1) for i in range(10, 16)])
    out = tmp_path / "out"
    prepare("helpsteer2", first, out, ["strength", "binary"], val_fraction=0.2)
    old = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    # Killed while writing the new folder: the old one is untouched, file for file.
    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr("thinkj_verl.data.prepare.write_pairs", killed)
    with pytest.raises(KeyboardInterrupt):
        prepare("helpsteer2", second, out, ["strength"], val_fraction=0.5, seed=3)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == old
    monkeypatch.undo()
    if not exchange:
        monkeypatch.setattr(files_module, "_exchange", lambda a, b: False)

    # Killed right after the swap, before the old folder is deleted: the new folder is complete.
    import shutil

    real_rmtree = shutil.rmtree

    def killed_after_swap(path, *args, **kwargs):
        if not kwargs.get("ignore_errors"):
            raise KeyboardInterrupt("killed after the swap")
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", killed_after_swap)
    with pytest.raises(KeyboardInterrupt):
        prepare("helpsteer2", second, out, ["strength"], val_fraction=0.5, seed=3)
    monkeypatch.undo()
    summary = consistent(out)
    assert summary["input"] == str(second) and not (out / "binary").exists()
    assert {p.name for p in out.iterdir()} == {"train.parquet", "val.parquet", "pairs_train.parquet",
                                               "pairs_val.parquet", "summary.json"}

    # A clean rerun: the new folder only; what the interrupted runs left beside it is gone too.
    prepare("helpsteer2", first, out, ["binary"], val_fraction=0.2)
    assert consistent(out)["input"] == str(first)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_pair_files_and_rows_are_strict_json_even_with_nan_in_meta(tmp_path, suffix):
    from thinkj_verl.data.pairs import Pair, read_pairs, write_pairs
    from thinkj_verl.ground_truth import GroundTruth
    from thinkj_verl.data.rows import judge_row

    pair = Pair("p:0", "local", [{"role": "user", "content": "Q?"}], "A.", "B.", GroundTruth("a"), meta={"score": float("nan")})
    write_pairs([pair], tmp_path / f"pairs{suffix}")
    assert read_pairs(tmp_path / f"pairs{suffix}")[0].meta == {"score": None}
    meta = judge_row(pair, "strength", "ab", index=0)["extra_info"]["meta"]
    assert json.loads(meta, parse_constant=lambda name: pytest.fail(name)) == {"score": None}


WRITER = """
import sys, itertools
from pathlib import Path
from thinkj_verl.files import atomic_folder
out = Path(sys.argv[1])
for n in itertools.count():
    with atomic_folder(out) as stage:
        for name in ("train.parquet", "val.parquet", "summary.json"):
            (stage / name).write_text(f"generation {n}\\n" * 2000)
        if n == 0:
            print("ready", flush=True)
"""


def test_a_real_kill_at_any_moment_leaves_one_complete_folder(tmp_path):
    """SIGKILL a process rewriting a folder in a loop: every time, the folder is one generation."""
    import random
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(files_module.__file__).parents[1]),
                                                          os.environ.get("PYTHONPATH", "")])}
    draw = random.Random(0)
    for _ in range(6):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, env=env)
        assert process.stdout.readline() == b"ready\n"
        time.sleep(draw.uniform(0.0, 0.05))
        process.send_signal(signal.SIGKILL)
        process.wait()
        contents = {p.name: p.read_text() for p in out.iterdir()}
        assert sorted(contents) == ["summary.json", "train.parquet", "val.parquet"]
        assert len(set(contents.values())) == 1  # all three from the same generation
        # At most the folder this kill interrupted is left beside it: the next run removes it.
        assert len([p for p in tmp_path.iterdir() if p.name.startswith(".out.")]) <= 1


def test_out_given_as_a_symlink_or_the_current_folder(tmp_path, monkeypatch):
    rows = write_jsonl(tmp_path / "hs2.jsonl", [hs2_row(i, 2) for i in range(4)])
    real = tmp_path / "real"
    prepare("helpsteer2", rows, real, ["strength"], val_fraction=0)
    link = tmp_path / "link"
    link.symlink_to(real)
    prepare("helpsteer2", rows, link, ["binary"], val_fraction=0)
    assert link.is_symlink() and consistent(real)["formats"] == ["binary"]
    monkeypatch.chdir(real)
    prepare("helpsteer2", rows, ".", ["scores"], val_fraction=0)
    assert consistent(real)["formats"] == ["scores"]
