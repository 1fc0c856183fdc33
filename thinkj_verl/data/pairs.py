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

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success move it over ``path`` in one step.

    A reader never sees a half-written file, and a failed write leaves the old file alone. The
    file gets the permissions of any new file under the umask (``mkstemp`` would make it 0600).

    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(target) as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open(target).read()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_sibling(path, ".tmp", lambda name: os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def json_safe(value):
    """``value`` with every nan / inf float as None, so it can be written as strict JSON.

    >>> json_safe({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if value - value == 0 else None  # false for nan and inf
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _new_sibling(path: Path, suffix: str, create) -> str:
    """Create (with ``create``) and return a new, unused name ``.NAME.<random><suffix>`` beside ``path``."""
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            create(name)
            return name
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: could not create a temporary name for {path.name}")


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new folder beside ``path`` to fill; on success it replaces ``path`` as a whole.

    The swap is one ``renameat2(RENAME_EXCHANGE)`` on Linux, so a reader (or a kill at any moment)
    sees either the old complete folder or the new one, never a mix of their files; elsewhere it
    is two renames (the old folder is kept aside until the new one is in place). On failure the
    new folder is removed and ``path`` is untouched.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out"
    >>> with atomic_folder(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("new")
    >>> sorted(p.name for p in target.iterdir())
    ['a.txt']
    """
    import shutil

    # Resolved: "." has no name to put a sibling beside, and a symlink to a folder should lead
    # to its target being replaced, not the link.
    path = Path(path).resolve()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(20, "is a file, not a folder", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    # What a killed earlier run left beside DIR (its half-written or old folder) goes first.
    leftover = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}\.(tmp|old)")
    for sibling in path.parent.iterdir():
        if leftover.fullmatch(sibling.name) and sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
    tmp = Path(_new_sibling(path, ".tmp", lambda name: os.mkdir(name, 0o777)))
    try:
        yield tmp
        if path.is_dir() and _exchange(tmp, path):
            shutil.rmtree(tmp)  # the old folder, now under the temporary name
            return
        old = None
        if path.exists():
            old = Path(_new_sibling(path, ".old", lambda name: None))
            os.rename(path, old)
        os.rename(tmp, path)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


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
                    f.write(json.dumps(json_safe(record), ensure_ascii=False, allow_nan=False) + "\n")
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
