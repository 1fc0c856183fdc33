"""The canonical preference pair: one record every source converts to, and its files.

One pair is one judging task: a conversation that ends with a user turn, two candidate
replies, and which one is better. As a dict (one jsonl line, or one parquet row)::

    {
      "id": "skywork:17",                  # unique within a file; both orders share it
      "source": "skywork",                 # converter that produced it
      "conversation": [{"role": "user", "content": "..."}, ...],   # up to the last user turn
      "response_a": "...", "response_b": "...",
      "better": "a" | "b",
      "strength": 1 | 2 | 3 | null,        # annotated preference strength, when the source has one
      "scores": [score_a, score_b] | null,  # annotated 0..100 quality scores, when present
      "subset": "..." | null,              # subset / domain (RewardBench subset, RM-Bench domain)
      "meta": {...}                        # anything else, e.g. RM-Bench style indices
    }

In parquet ``meta`` is stored as JSON text: its keys vary by source, and parquet cannot hold
an empty struct.

>>> pair = Pair(id="x:0", source="local", conversation=[{"role": "user", "content": "Hi"}],
...             response_a="Hello!", response_b="", label=GroundTruth("a"))
Traceback (most recent call last):
...
thinkj_verl.data.pairs.PairError: pair 'x:0': response_b is empty
>>> pair = Pair(id="x:0", source="local", conversation=[{"role": "user", "content": "Hi"}],
...             response_a="Hello!", response_b="Go away.", label=GroundTruth("a", strength=2))
>>> Pair.from_dict(pair.to_dict()) == pair
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from thinkj_verl.files import atomic_path, json_line, json_safe
from thinkj_verl.ground_truth import GroundTruth, GroundTruthError, parse_ground_truth

ROLES = ("system", "user", "assistant")
PAIR_FILE_SUFFIXES = (".jsonl", ".json", ".parquet")
PAIR_KEYS = (
    "id",
    "source",
    "conversation",
    "response_a",
    "response_b",
    "better",
    "strength",
    "scores",
    "subset",
    "meta",
)


class PairError(ValueError):
    """A record that is not a valid canonical pair."""


@dataclass
class Pair:
    """One canonical preference pair (see the module docstring for the schema).

    ``label`` is the preference in the canonical order (``response_a`` shown as Response (a));
    `GroundTruth` checks it. In a file its fields are the flat ``better`` / ``strength`` /
    ``scores`` keys.
    """

    id: str
    source: str
    conversation: list[dict]
    response_a: str
    response_b: str
    label: GroundTruth
    subset: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        def fail(problem: str):
            raise PairError(f"pair {self.id!r}: {problem}")

        if not isinstance(self.id, str) or not self.id:
            raise PairError(f"pair id must be a non-empty string, got {self.id!r}")
        if not isinstance(self.conversation, list) or not self.conversation:
            fail("conversation must be a non-empty list of {role, content} messages")
        self.conversation = [_message(m, self.id) for m in self.conversation]
        if self.conversation[-1]["role"] != "user":
            fail("conversation must end with a user turn (the one both responses answer)")
        for name in ("response_a", "response_b"):
            value = getattr(self, name)
            if not isinstance(value, str):
                fail(f"{name} must be a string, got {type(value).__name__}")
            if not value.strip():
                fail(f"{name} is empty")
        if not isinstance(self.label, GroundTruth):
            fail(f"label must be a GroundTruth, got {type(self.label).__name__}")
        if self.subset is not None and not isinstance(self.subset, str):
            self.subset = str(self.subset)
        if not isinstance(self.meta, dict):
            fail(f"meta must be a dict, got {type(self.meta).__name__}")

    def better_and_worse(self) -> tuple[str, str]:
        """The better response and the worse one.

        >>> Pair("p", "s", [{"role": "user", "content": "2+2?"}], "5", "4", GroundTruth("b")).better_and_worse()
        ('4', '5')
        """
        if self.label.better == "a":
            return self.response_a, self.response_b
        return self.response_b, self.response_a

    def to_dict(self) -> dict:
        """A plain dict with every key of the schema, ready for json."""
        return {
            "id": self.id,
            "source": self.source,
            "conversation": [dict(m) for m in self.conversation],
            "response_a": self.response_a,
            "response_b": self.response_b,
            **self.label.to_dict(),
            "subset": self.subset,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, record: Mapping) -> Pair:
        """Read a canonical record (``meta`` may be a dict or its JSON text, as in parquet)."""
        if not isinstance(record, Mapping):
            raise PairError(f"a canonical pair is a dict, got {type(record).__name__}")
        missing = [k for k in ("id", "conversation", "response_a", "response_b", "better") if k not in record]
        if missing:
            raise PairError(f"record is missing the keys {missing}; canonical keys are {list(PAIR_KEYS)}")
        meta = record.get("meta")
        if isinstance(meta, str):
            meta = json.loads(meta) if meta else {}
        record_id = record["id"]
        if isinstance(record_id, bool) or not isinstance(record_id, (str, int)):
            raise PairError(f"pair id must be a non-empty string, got {record_id!r}")
        try:
            label = parse_ground_truth({key: record.get(key) for key in ("better", "strength", "scores")})
        except GroundTruthError as error:
            raise PairError(f"pair {str(record_id)!r}: {error}") from None
        return cls(
            id=str(record_id),
            source=record.get("source") or "unknown",
            conversation=list(record["conversation"]),
            response_a=record["response_a"],
            response_b=record["response_b"],
            label=label,
            subset=record.get("subset"),
            meta=meta or {},
        )


def _message(message, pair_id) -> dict:
    if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
        raise PairError(f"pair {pair_id!r}: every conversation message needs 'role' and 'content', got {message!r}")
    role, content = message["role"], message["content"]
    if role not in ROLES:
        raise PairError(f"pair {pair_id!r}: message role {role!r} is not one of {ROLES}")
    if not isinstance(content, str):
        raise PairError(f"pair {pair_id!r}: message content must be a string, got {type(content).__name__}")
    return {"role": role, "content": content}


# ---------------------------------------------------------------------------------------------
# Files


def pair_arrow_schema():
    """The parquet schema of a canonical pair file."""
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.string()),
            ("source", pa.string()),
            ("conversation", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
            ("response_a", pa.string()),
            ("response_b", pa.string()),
            ("better", pa.string()),
            ("strength", pa.int64()),
            ("scores", pa.list_(pa.float64())),
            ("subset", pa.string()),
            ("meta", pa.string()),
        ]
    )


def write_pairs(pairs: Iterable[Pair], path: str | os.PathLike) -> int:
    """Write canonical pairs to ``path`` (.jsonl or .parquet), atomically; returns the count.

    >>> import tempfile, os
    >>> pair = Pair("x:0", "local", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a"))
    >>> path = os.path.join(tempfile.mkdtemp(), "pairs.parquet")
    >>> write_pairs([pair], path), read_pairs(path) == [pair]
    (1, True)
    """
    path = Path(path)
    records = [p.to_dict() for p in pairs]
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            for record in records:
                record["meta"] = json.dumps(json_safe(record["meta"]), sort_keys=True, allow_nan=False)
            pq.write_table(pa.Table.from_pylist(records, schema=pair_arrow_schema()), tmp)
        elif path.suffix == ".jsonl":
            with open(tmp, "w", encoding="utf-8") as f:
                for record in records:
                    f.write(json_line(record) + "\n")
        else:
            raise ValueError(f"{path}: canonical pairs are written as .jsonl or .parquet")
    return len(records)


def read_records(path: str | os.PathLike) -> Iterable[dict]:
    """The rows of a local .jsonl / .json / .parquet file as dicts, with a clear error for bad
    lines. Parquet rows are streamed a record batch at a time (large inputs stay small)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)  # opened now, so a bad file fails here, not mid-iteration
        except Exception as e:  # pyarrow's errors do not name the file
            raise ValueError(f"{path}: not a readable parquet file ({type(e).__name__}: {e})") from None
        return _parquet_rows(parquet, path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a .jsonl / .json / .parquet file")
    if path.suffix == ".jsonl":
        rows = []
        with open(path, "rb") as f:
            for line_no, raw in enumerate(f, 1):
                line = _decode(raw, path, line_no)
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except (json.JSONDecodeError, RecursionError) as e:
                    msg = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
                    raise ValueError(f"{path}, line {line_no}: not valid JSON ({msg}); fix or remove the line") from None
        return rows
    if path.suffix == ".json":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            _decode(raw[: e.start].rsplit(b"\n", 1)[-1] + raw[e.start : e.end], path, raw.count(b"\n", 0, e.start) + 1)
            raise  # pragma: no cover - _decode raised
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
        except RecursionError:
            raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None
        if isinstance(data, dict):
            # {"train": [...]} or {"data": [...]}: one list of rows under a single key.
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise ValueError(f"{path}: expected a JSON list of rows (or one key holding that list)")
            data = lists[0]
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of rows")
        return data
    raise ValueError(f"{path}: unsupported file type {path.suffix!r}; use one of {', '.join(PAIR_FILE_SUFFIXES)}")


def _parquet_rows(parquet, path: Path) -> Iterator[dict]:
    try:
        for batch in parquet.iter_batches(batch_size=2048):
            yield from batch.to_pylist()
    except (OSError, ValueError) as e:  # a damaged row group, found while streaming
        raise ValueError(f"{path}: damaged parquet data ({type(e).__name__}: {e})") from None


def _decode(raw: bytes, path: Path, line_no: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path}, line {line_no}: byte 0x{raw[e.start]:02x} at column {e.start + 1} is not UTF-8; "
            "re-save the file as UTF-8"
        ) from None


def read_pairs(path: str | os.PathLike) -> list[Pair]:
    """Read a canonical pair file; a bad row raises naming the file and row."""
    pairs = []
    for row_no, record in enumerate(read_records(path)):
        try:
            pairs.append(Pair.from_dict(record))
        except (PairError, ValueError, TypeError) as e:
            raise PairError(
                f"{path}, row {row_no}: {e}. A canonical pair file is written by `thinkj prepare` "
                "(pairs_train.parquet) or by thinkj_verl.data.write_pairs"
            ) from None
    return pairs
