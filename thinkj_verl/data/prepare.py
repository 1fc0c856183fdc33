"""``thinkj prepare``: a preference set -> judge-training parquet for verl, in one command.

::

    thinkj prepare --source helpsteer2 --input PATH_OR_HUB_ID --out DIR --format strength \\
        [--orders both|balanced|ab|pair] [--seed N] [--val-fraction F] \\
        [--tokenizer PATH --max-prompt-length N]

Writes DIR as a whole: every file goes to a new folder beside DIR, which then replaces DIR in
one step (a rerun never leaves a new train.parquet beside an old val.parquet). DIR must be new,
empty, or an earlier output of this command (it has a summary.json). What it holds:

- ``DIR/train.parquet``, ``DIR/val.parquet``: verl RLHFDataset rows (`thinkj_verl.data.rows`).
  With several ``--format`` values: ``DIR/<format>/train.parquet`` and ``val.parquet`` for
  each, built from the same pairs and orders.
- ``DIR/pairs_train.parquet``, ``DIR/pairs_val.parquet``: the canonical pairs kept, for
  `JudgePairDataset` (which renders prompts at load time).
- ``DIR/summary.json``: read, written, skipped by reason, a/b balance of the better response,
  how often the better response is the longer one, and prompt length stats (tokens with
  ``--tokenizer``, else characters). The same summary is printed.

The split is by pair (both orders of a pair land in the same split), and everything is
deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path

from thinkj_verl import argtypes
from thinkj_verl.data.lengths import PieceLengths, length_stats, token_length_stats
from thinkj_verl.data.pairs import write_pairs
from thinkj_verl.data.rows import ORDER_POLICIES, PAIR_ORDER, assign_orders, judge_row, pair_row, row_arrow_schema
from thinkj_verl.data.sources import SOURCES, load_pairs
from thinkj_verl.files import atomic_folder, atomic_path, write_json
from thinkj_verl.formats import FORMATS, get_format
from thinkj_verl.prompts import label_for

TOO_LONG = "prompt longer than {} tokens"
NOT_COUNTED = (None, None)  # a pair kept on its size bound: its prompts have no token count


def split_pairs(pairs: list, val_fraction: float, seed) -> tuple[list, list]:
    """Seeded split by pair, keeping input order within each split.

    >>> train, val = split_pairs(list(range(10)), 0.2, seed=0)
    >>> len(train), len(val), sorted(train + val) == list(range(10))
    (8, 2, True)
    """
    if not 0.0 <= val_fraction < 1.0:  # also refuses nan
        raise ValueError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    n_val = round(len(pairs) * val_fraction)
    if val_fraction > 0 and n_val == 0 and len(pairs) >= 2:
        n_val = 1  # a requested validation split is never silently empty
    chosen = set(random.Random(f"thinkj-split:{seed}").sample(range(len(pairs)), n_val))
    train = [p for i, p in enumerate(pairs) if i not in chosen]
    val = [p for i, p in enumerate(pairs) if i in chosen]
    return train, val


def _better_is_longer(pairs: list) -> dict:
    longer = shorter = equal = 0
    for pair in pairs:
        better, worse = pair.better_and_worse()
        if len(better) > len(worse):
            longer += 1
        elif len(better) < len(worse):
            shorter += 1
        else:
            equal += 1
    return {
        "longer": longer,
        "shorter": shorter,
        "equal_length": equal,
        "share_longer": round(longer / len(pairs), 4) if pairs else None,
    }


@dataclass(frozen=True)
class PrepareOptions:
    """Everything `prepare` does to the pairs after reading them; checked when made.

    ``tokenizer`` is a path or a loaded tokenizer; with it, pairs whose judge prompt (in any
    emitted order and format) is longer than ``max_prompt_length`` tokens are skipped.

    >>> PrepareOptions(formats=("strength",), orders="random").measured_orders
    ('ab', 'ba')
    >>> PrepareOptions(formats=("strength", "strength"))
    Traceback (most recent call last):
    ...
    ValueError: --format lists a format twice: ['strength', 'strength']
    """

    formats: tuple[str, ...] = ("strength",)
    orders: str = "both"
    seed: int = 0
    val_fraction: float = 0.05
    tokenizer: object = None
    max_prompt_length: int | None = None
    batch_size: int = 1024
    workers: int | None = None

    def __post_init__(self):
        formats = [get_format(f).name for f in self.formats]
        if len(set(formats)) != len(formats):
            raise ValueError(f"--format lists a format twice: {formats}")
        object.__setattr__(self, "formats", tuple(formats))
        if self.orders not in ORDER_POLICIES:
            raise ValueError(f"--orders must be one of {ORDER_POLICIES}, got {self.orders!r}")
        pointwise = [fmt for fmt in formats if get_format(fmt).pointwise]
        if pointwise and self.orders != PAIR_ORDER:
            raise ValueError(f"--format {pointwise[0]} scores one response at a time: use it with --orders pair")
        if self.max_prompt_length is not None and self.tokenizer is None:
            raise ValueError("--max-prompt-length needs --tokenizer (lengths are counted in the judge's tokens)")

    @property
    def measured_orders(self) -> tuple[str, ...]:
        """The orders a pair's prompts are measured in: "random" may show either."""
        return ("ab",) if self.orders == "ab" else ("ab", "ba")


def prepare(source: str, input, out, formats: list[str], **options) -> dict:
    """Run the whole conversion and write the files; returns the summary dict.

    ``options`` are the fields of `PrepareOptions` (``orders``, ``seed``, ``val_fraction``,
    ``tokenizer``, ...) and the source's own options (`thinkj_verl.data.sources.load_pairs`).
    The steps: read and convert, split, filter by length, order, write. Everything that can fail
    on the input (tokenizer, conversion, counting) happens before the first file is written, so
    such a failure leaves DIR as it was.
    """
    names = {f.name for f in fields(PrepareOptions)} - {"formats"}
    settings = PrepareOptions(formats=tuple(formats), **{k: options.pop(k) for k in names & set(options)})
    check_out(out)
    tokenizer = settings.tokenizer
    if isinstance(tokenizer, (str, Path)):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer))

    pairs, skipped, read = read_source(source, input, options)
    splits = dict(zip(("train", "val"), split_pairs(pairs, settings.val_fraction, settings.seed)))
    _check_splits(splits, settings.val_fraction, len(pairs), read, skipped)
    counters = {
        fmt: PieceLengths(tokenizer, fmt, batch_size=settings.batch_size, workers=settings.workers)
        for fmt in settings.formats
    } if tokenizer else {}
    token_counts = {}
    if counters:
        splits, token_counts = filter_lengths(splits, counters, settings, skipped)
        if settings.max_prompt_length is not None:
            _check_splits(splits, settings.val_fraction, len(pairs), read, skipped)
    # Orders are assigned after filtering, so "random" stays balanced over the pairs kept.
    split_orders = {name: assign_orders(split, settings.orders, seed=f"{settings.seed}:{name}")
                    for name, split in splits.items()}
    counted = {"source": source, "input": str(input) if not isinstance(input, (list, tuple)) else "<rows>",
               "read": read, "skipped": skipped}
    return write(out, settings, splits, split_orders, counted, counters, token_counts)


def read_source(source: str, input, source_options: dict) -> tuple[list, Counter, int]:
    """Read ``input`` and convert it with ``source``'s converter: ``(pairs, skipped, rows read)``."""
    pairs, skipped = load_pairs(source, input, **source_options)
    read = len(pairs) + sum(skipped.values())
    if source == "rmbench":
        # One RM-Bench row gives nine pairs.
        read = len({p.meta["item_id"] for p in pairs}) + sum(skipped.values())
    if read == 0:
        raise ValueError(f"{input}: no rows to read (empty file?); nothing was written")
    return pairs, skipped, read


def filter_lengths(splits: dict, counters: dict, settings: PrepareOptions, skipped: Counter) -> tuple[dict, dict]:
    """Count each pair's prompt tokens and, with ``max_prompt_length``, keep only the pairs whose
    every prompt fits (counted in ``skipped``). Returns the kept splits and, per split, each kept
    pair's ``{(format, order): tokens}``."""
    orders, limit = settings.measured_orders, settings.max_prompt_length
    kept_splits, token_counts = {}, {}
    for name, split in splits.items():
        per_format = {}
        for fmt, counter in counters.items():
            if limit is None:
                per_format[fmt] = (list(range(len(split))), counter.measure(split, orders))
            else:
                per_format[fmt] = counter.filter(split, orders, limit)
        kept = sorted(set.intersection(*(set(k) for k, _ in per_format.values())))
        lookup = {fmt: dict(zip(k, counts)) for fmt, (k, counts) in per_format.items()}
        token_counts[name] = [
            {(fmt, order): n for fmt in settings.formats for order, n in zip(orders, lookup[fmt][i] or NOT_COUNTED)}
            for i in kept
        ]
        if limit is not None:
            skipped[TOO_LONG.format(limit)] += len(split) - len(kept)
        kept_splits[name] = [split[i] for i in kept]
    return kept_splits, token_counts


def write(out, settings: PrepareOptions, splits: dict, split_orders: dict, counted: dict,
          counters: dict, token_counts: dict) -> dict:
    """Write DIR as a whole (rows per format, canonical pairs, summary.json); returns the summary."""
    out = Path(out)
    formats = settings.formats
    files = {}
    for fmt in formats:
        for name in splits:
            folder = out if len(formats) == 1 else out / fmt
            files[f"{fmt}/{name}" if len(formats) > 1 else name] = str(folder / f"{name}.parquet")
    files["pairs_train"] = str(out / "pairs_train.parquet")
    files["pairs_val"] = str(out / "pairs_val.parquet")

    with atomic_folder(out) as stage:  # the new DIR replaces the old one as a whole
        staged = {key: stage / Path(path).relative_to(out) for key, path in files.items()}
        char_lengths = []
        for fmt in formats:
            for name, split in splits.items():
                key = f"{fmt}/{name}" if len(formats) > 1 else name
                char_lengths += _write_rows(staged[key], split, split_orders[name], fmt, settings.orders == PAIR_ORDER)
        write_pairs(splits["train"], staged["pairs_train"])
        write_pairs(splits["val"], staged["pairs_val"])

        if counters:
            rows = [
                (fmt, pair, order, counts[(fmt, order)])
                for name in splits
                for pair, counts, pair_orders in zip(splits[name], token_counts[name], split_orders[name])
                for order in pair_orders
                for fmt in formats
            ]
            prompt_length = token_length_stats(rows, counters, seed=settings.seed)
        else:
            prompt_length = length_stats(char_lengths, "characters")
        summary = _summary(settings, splits, split_orders, counted, prompt_length, files)
        write_json(stage / "summary.json", summary)
    return summary


def _summary(settings: PrepareOptions, splits: dict, split_orders: dict, counted: dict,
             prompt_length: dict, files: dict) -> dict:
    better_at = Counter(
        label_for(pair, order).better
        for name, split in splits.items()
        for pair, pair_orders in zip(split, split_orders[name])
        for order in pair_orders
    )
    written = {name: sum(len(o) for o in split_orders[name]) for name in splits}
    kept_pairs = splits["train"] + splits["val"]
    total_rows = better_at["a"] + better_at["b"]
    return {
        "source": counted["source"],
        "input": counted["input"],
        "formats": list(settings.formats),
        "orders": settings.orders,
        "seed": settings.seed,
        "val_fraction": settings.val_fraction,
        "read": counted["read"],
        "pairs": len(kept_pairs),
        "skipped": dict(sorted(counted["skipped"].items())),
        "written": {
            "train": written["train"],
            "val": written["val"],
            "pairs_train": len(splits["train"]),
            "pairs_val": len(splits["val"]),
        },
        "better_position": {
            "a": better_at["a"],
            "b": better_at["b"],
            "share_a": round(better_at["a"] / total_rows, 4) if total_rows else None,
        },
        "better_is_longer": _better_is_longer(kept_pairs),
        "prompt_length": prompt_length,
        "files": files,
    }


def check_out(out) -> None:
    """Refuse an output folder that cannot be (re)written as a whole, before anything is read."""
    out = Path(out)
    for parent in [out, *out.parents]:
        if parent.exists():
            if not parent.is_dir():
                where = "is a file" if parent == out else f"is under {parent}, which is a file"
                raise ValueError(f"--out {out} {where}; give a folder path")
            if not os.access(parent, os.W_OK | os.X_OK) or (
                parent == out and not os.access(out.parent, os.W_OK | os.X_OK)
            ):
                blocked = out.parent if parent == out else parent
                raise ValueError(f"--out {out}: cannot write in {blocked} (permission denied); choose another folder")
            break
    if out.is_dir() and any(out.iterdir()) and not (out / "summary.json").is_file():
        raise ValueError(
            f"--out {out} holds files that are not an earlier `thinkj prepare` output (no summary.json); "
            "it is replaced as a whole, so give a new or empty folder"
        )


def _check_splits(splits: dict, val_fraction: float, pairs: int, read: int, skipped) -> None:
    """An empty train split (or a requested val split left empty) is an error, not empty files."""
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items())) or "none"
    if not splits["train"]:
        if pairs == 0 or not splits["val"]:
            raise ValueError(f"no pair left to write: {read} row(s) read, skipped: {reasons}")
        raise ValueError(
            f"--val-fraction {val_fraction} leaves no pair for train.parquet ({len(splits['val'])} of "
            f"{pairs} pair(s) in val); lower it"
        )
    if val_fraction > 0 and not splits["val"]:
        raise ValueError(
            f"--val-fraction {val_fraction} asks for a validation split, but {pairs} pair(s) leave none "
            "for val.parquet; use --val-fraction 0 or more data"
        )


ROWS_PER_CHUNK = 4096


def _write_rows(path: str, pairs: list, pair_orders: list, fmt: str, pair_rows: bool = False) -> list[int]:
    """Write the judge rows of ``pairs`` to parquet a chunk at a time (bounded memory),
    atomically; returns each row's prompt length in characters."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = row_arrow_schema(pair_rows)  # pair_rows: one J1 pair row per pair (--orders pair)
    lengths: list[int] = []
    with atomic_path(path) as tmp:
        with pq.ParquetWriter(tmp, schema) as writer:
            chunk: list[dict] = []
            for pair, orders in zip(pairs, pair_orders):
                for order in orders:
                    if pair_rows:
                        row = pair_row(pair, fmt, index=len(lengths))
                    else:
                        row = judge_row(pair, fmt, order, index=len(lengths))
                    lengths.append(len(row["prompt"][0]["content"]))
                    chunk.append(row)
                if len(chunk) >= ROWS_PER_CHUNK:
                    writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                    chunk = []
            if chunk or not lengths:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
    return lengths


def _format_list(values: list[str]) -> list[str]:
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    for name in names:
        if name not in FORMATS:
            raise argparse.ArgumentTypeError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thinkj prepare",
        description="Turn a preference set into judge-training parquet for verl (and canonical pair files).",
    )
    parser.add_argument("--task", choices=("judge", "policy"), default="judge",
                        help="judge: judge-training rows (default); policy: policy RL rows (see --task policy --help)")
    parser.add_argument("--source", required=True, choices=list(SOURCES), help="which converter reads the input")
    parser.add_argument("--input", required=True, help="local .jsonl/.json/.parquet file, or a Hugging Face hub id")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--format", nargs="+", default=["strength"], metavar="FORMAT",
        help=f"output format(s) of the judge prompt: {', '.join(FORMATS)} (several: one folder each)",
    )
    parser.add_argument("--orders", choices=ORDER_POLICIES, default="both",
                        help="both orders per pair, one balanced random order, the canonical order, or one row per "
                        "pair for J1 sessions (the thinkj_pair agent loop judges both orders)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-fraction", type=argtypes.fraction, default=0.05, help="share of pairs for val.parquet")
    parser.add_argument("--tokenizer", help="tokenizer path or hub id: token lengths and the length filter")
    parser.add_argument("--max-prompt-length", type=argtypes.positive_int, help="skip pairs whose judge prompt is longer (tokens)")
    parser.add_argument("--batch-size", type=argtypes.positive_int, default=1024, help="prompts per tokenizer call")
    parser.add_argument("--workers", type=argtypes.positive_int, help="cores for the length filter's tokenizer (default: all)")
    parser.add_argument("--split", help="hub split to load (default: train; rewardbench: filtered)")
    parser.add_argument("--data-dir", help="hub data folder (nvidia/HelpSteer2: preference by default)")
    parser.add_argument("--keep-split", help="helpsteer2: keep rows whose split column has this value")
    parser.add_argument("--column", action="append", default=[], metavar="KEY=NAME",
                        help="local source: read KEY (prompt, chosen, rejected, id, subset) from column NAME")
    parser.add_argument("--better-encoding", choices=("auto", "choice", "strength"),
                        help="thinkj_release: how to read the 'better' column")
    parser.add_argument("--limit", type=argtypes.positive_int, help="read at most this many input rows")
    return parser


def main(argv: list[str]) -> int:
    from thinkj_verl.data.policy import split_task  # --task policy: rows for policy RL (thinkj_verl/data/policy.py)

    task, argv = split_task(argv)
    if task == "policy":
        from thinkj_verl.data.policy import main as policy_main

        return policy_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        formats = _format_list(args.format)
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))
    options = {}
    for key in ("split", "data_dir", "keep_split"):
        if getattr(args, key):
            options[key] = getattr(args, key)
    if args.column:
        if args.source != "local":
            parser.error("--column applies to --source local only")
        try:
            options["columns"] = dict(item.split("=", 1) for item in args.column)
        except ValueError:
            parser.error(f"--column takes KEY=NAME, got {args.column}")
    if args.better_encoding:
        options["better_encoding"] = args.better_encoding
    if args.limit is not None:
        options["limit"] = args.limit
    try:
        summary = prepare(
            args.source,
            args.input,
            args.out,
            formats,
            orders=args.orders,
            seed=args.seed,
            val_fraction=args.val_fraction,
            tokenizer=args.tokenizer,
            max_prompt_length=args.max_prompt_length,
            batch_size=args.batch_size,
            workers=args.workers,
            **options,
        )
    except ValueError as e:
        print(f"thinkj prepare: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a missing input, or a disk or permission problem met while reading or writing
        message = str(e) if e.errno is None else f"{e.filename}: {e.strerror}; check --input and --out"
        print(f"thinkj prepare: {message}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0
