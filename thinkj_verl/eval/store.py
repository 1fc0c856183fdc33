"""``generations.jsonl``: the judge replies of one evaluation, one JSON object per line.

Keyed by ``(pair_id, order)``. A run appends each finished batch and flushes it to disk, so a
crash loses nothing already written and a rerun generates only the missing keys. The same
file is what ``thinkj eval --generations FILE`` scores, so judgments produced elsewhere only
need to be written in this schema:

=============  ========  ============================================================
key            required  meaning
=============  ========  ============================================================
pair_id        yes       id of the pair (non-empty string; an integer is read as its text)
order          yes       ``"ab"``: response_a shown as Response (a); ``"ba"``: swapped
label          yes       ground truth as the judge saw it in that order:
                         ``{"better": "a"|"b", "strength": 1..3|null, "scores": null|[sa, sb]}``
text           yes       the judge's decoded reply
truncated      no        the reply hit the length limit: true or false (default false)
num_tokens     no        generated tokens, an integer >= 0 (null when unknown)
subset         no        RewardBench subset, or any grouping (null)
meta           no        dict; RM-Bench: ``{"domain": ..., "chosen_style": i, "rejected_style": j}``
source         no        where the pair came from
=============  ========  ============================================================

>>> import tempfile, os
>>> store = GenerationStore(os.path.join(tempfile.mkdtemp(), "generations.jsonl"))
>>> store.append([{"pair_id": "p1", "order": "ab", "label": {"better": "a"}, "text": "..."}])
>>> sorted(store.done_keys())
[('p1', 'ab')]
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from thinkj_verl.files import json_safe
from thinkj_verl.ground_truth import GroundTruthError, parse_ground_truth
from thinkj_verl.prompts import ORDERS

REQUIRED_KEYS = ("pair_id", "order", "label", "text")


class GenerationsFileError(ValueError):
    """A generations file that does not follow the documented schema."""


def validate_record(record, where: str, fmt: str = "strength") -> dict:
    """Check one record and fill its optional keys; ``where`` names file and line in errors.

    ``fmt`` is the output format the label is read in (a bare integer label means 1 / 2 in
    the binary formats, a signed strength in ``strength``).

    >>> validate_record({"pair_id": 7, "order": "ba", "label": {"better": "b"}, "text": "x"}, "f:1")["pair_id"]
    '7'
    """
    if not isinstance(record, dict):
        raise GenerationsFileError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise GenerationsFileError(
            f"{where}: missing key(s) {missing}; every line needs {list(REQUIRED_KEYS)} "
            "(see thinkj_verl/eval/store.py for the schema)"
        )
    pair_id = record["pair_id"]
    if isinstance(pair_id, bool) or not isinstance(pair_id, (str, int)) or str(pair_id).strip() == "":
        raise GenerationsFileError(f"{where}: key 'pair_id' must be a non-empty string, got {pair_id!r}")
    if not isinstance(record["order"], str) or record["order"] not in ORDERS:
        raise GenerationsFileError(f"{where}: order {record['order']!r} is not 'ab' or 'ba'")
    truncated = record.get("truncated")
    if truncated is not None and not isinstance(truncated, bool):
        # "false" is a non-empty string: read with bool() it would mark the reply as cut.
        raise GenerationsFileError(f"{where}: key 'truncated' must be true or false, got {truncated!r}")
    num_tokens = record.get("num_tokens")
    if num_tokens is not None and (isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 0):
        raise GenerationsFileError(
            f"{where}: key 'num_tokens' must be an integer >= 0 or null, got {num_tokens!r}"
        )
    try:
        # A dict label goes through the one schema reader; missing keys mean "not annotated".
        label = record["label"]
        if isinstance(label, dict):
            label = {"strength": None, "scores": None, **label}
        parse_ground_truth(label, fmt)
    except GroundTruthError as error:
        raise GenerationsFileError(f"{where}: key 'label': {error}") from None
    if not isinstance(record["text"], str):
        raise GenerationsFileError(f"{where}: key 'text' must be a string, got {type(record['text']).__name__}")
    for key in ("subset", "source"):
        value = record.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
            raise GenerationsFileError(f"{where}: key {key!r} must be a string or null, got {value!r:.60}")
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise GenerationsFileError(f"{where}: key 'meta' must be an object, got {type(meta).__name__}")
    return {
        **record,
        "pair_id": str(pair_id),
        "label": label,
        "truncated": bool(truncated),
        "num_tokens": num_tokens,
        "subset": None if record.get("subset") is None else str(record["subset"]),
        "meta": meta,
        "source": None if record.get("source") is None else str(record["source"]),
    }


def read_generations(path: str | Path, fmt: str = "strength") -> tuple[list[dict], Counter]:
    """Every valid record of ``path`` (first one wins per key) and a Counter of lines not used.

    A last line without its newline is what a crash mid-write leaves: it is counted as
    ``"torn last line"`` and ignored. Any other malformed line is an error naming the line.
    """
    path = Path(path)
    records: list[dict] = []
    skipped: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    if not path.exists():
        raise FileNotFoundError(f"generations file {path} does not exist")
    with path.open("rb") as handle:
        lines = handle.readlines()
    for number, raw_line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as error:
            if number == len(lines) and not raw_line.endswith(b"\n"):
                skipped["torn last line"] += 1  # a crash can cut a character in two
                continue
            raise GenerationsFileError(
                f"{where}: byte 0x{raw_line[error.start]:02x} at column {error.start + 1} is not UTF-8; "
                "fix or delete the line"
            ) from None
        if not line.strip():
            continue
        try:
            raw = json.loads(line, parse_constant=_no_constant)
        except (json.JSONDecodeError, RecursionError) as error:
            msg = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
            if number == len(lines) and not line.endswith("\n"):
                skipped["torn last line"] += 1
                continue
            raise GenerationsFileError(f"{where}: not valid JSON ({msg}); fix or delete the line") from None
        record = validate_record(raw, where, fmt)
        key = (record["pair_id"], record["order"])
        if key in seen:
            skipped["duplicate (pair_id, order)"] += 1
            continue
        seen.add(key)
        records.append(record)
    return records, skipped


def _no_constant(name: str):
    # NaN / Infinity are not JSON; Python's reader accepts them unless told otherwise.
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


class GenerationStore:
    """Append-only, resumable ``generations.jsonl``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def done_keys(self) -> set[tuple[str, str]]:
        """The ``(pair_id, order)`` keys already written (nothing when the file is new)."""
        if not self.path.exists():
            return set()
        self._drop_torn_tail()
        records, _ = read_generations(self.path)
        return {(r["pair_id"], r["order"]) for r in records}

    def append(self, records: Iterable[dict]) -> None:
        """Write ``records`` and flush them to disk before returning."""
        # Strict JSON: a NaN carried in from a pair's meta would make the file unreadable.
        lines = "".join(json.dumps(json_safe(r), ensure_ascii=False, allow_nan=False) + "\n" for r in records)
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())

    def _drop_torn_tail(self) -> None:
        # A crash mid-write leaves a last line without "\n"; appending after it would glue
        # the next record onto it. Cut the file back to the last complete line.
        with self.path.open("rb+") as handle:
            data = handle.read()
            if not data or data.endswith(b"\n"):
                return
            handle.truncate(data.rfind(b"\n") + 1)
