"""Files written atomically, and strict JSON: the one home of both for every command.

- `atomic_path`: a file appears complete or not at all (temporary sibling, then ``os.replace``).
- `atomic_folder`: a folder is replaced as a whole (``renameat2`` exchange on Linux).
- `json_safe` / `json_line`: strict JSON (nan and inf become null; ``NaN`` is not JSON).
- `write_text`, `write_json`, `write_jsonl`: atomic writers, the path always first.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "rows.jsonl")
>>> write_jsonl(path, [{"score": float("nan")}, {"score": 1.0}]); open(path).read()
'{"score": null}\\n{"score": 1.0}\\n'
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path


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


def json_line(value) -> str:
    """``value`` as one line of strict JSON (non-ASCII kept as is; nan and inf as null).

    >>> json_line({"text": "é", "p": float("inf")})
    '{"text": "é", "p": null}'
    """
    return json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, value) -> None:
    """Write ``value`` as indented, strict JSON to ``path`` atomically (nan and inf become null).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> write_json(path, {"accuracy": float("nan")}); open(path).read()
    '{\\n  "accuracy": null\\n}\\n'
    """
    # An undefined number is null in JSON; NaN is not JSON at all and breaks strict readers.
    write_text(path, json.dumps(json_safe(value), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable) -> None:
    """Write ``rows`` to ``path`` as strict jsonl, one `json_line` each, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json_line(row) + "\n")
