"""``thinkj prepare --task policy``: preference data -> policy RL rows, judged against a reference.

::

    thinkj prepare --task policy --source helpsteer2 --input PATH_OR_HUB_ID --out DIR \\
        [--reference FILE --reference-model NAME] [--seed N] [--val-fraction F] [--limit N]

The same sources as the judge task (`thinkj_verl.data.sources`) give the prompts; each distinct
conversation becomes one row of verl's default RL dataset (``RLHFDataset``), which the policy
answers and the judge (``reward_fns/judge_reward.py``) compares with a reference reply:

- the reference is the pair's preferred response, or, with ``--reference FILE``, a named
  reference model's reply to the same prompt (``FILE``: .jsonl/.json/.parquet rows with ``id``,
  the pair id, and ``response``; ``--reference-model`` names the model in the rows);
- row layout (what ``RLHFDataset`` and verl's reward managers read)::

    {"data_source": "policy/<source>",
     "prompt": [{"role": "user", "content": "..."}, ...],      # the conversation, to the last user turn
     "ability": "chat",
     "reward_model": {"style": "judge", "ground_truth": "<reference reply>"},
     "extra_info": {"index": i, "pair_id": "...", "split": "train" | "val",
                    "reference_source": "preferred" | "<model name>",
                    "conversation": [...]}}                   # verl gives reward functions no prompt

Skipped, and counted by reason in ``DIR/summary.json``: a conversation seen before (several
pairs of one prompt give one row), a tie (no preferred response) without ``--reference``, a pair
with no row in the reference file. DIR is written as a whole (``train.parquet``,
``val.parquet``, ``summary.json``), the split is seeded and by prompt.

>>> from thinkj_verl.data.pairs import Pair
>>> from thinkj_verl.ground_truth import GroundTruth
>>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "5", "4", GroundTruth("b"))
>>> row = policy_row(pair, 0, "train", preferred_response(pair), "preferred")
>>> row["prompt"], row["reward_model"]["ground_truth"], row["extra_info"]["split"]
([{'role': 'user', 'content': '2+2?'}], '4', 'train')
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from thinkj_verl import argtypes
from thinkj_verl.data.pairs import Pair, read_records
from thinkj_verl.data.sources import SOURCES, is_tie, load_pairs
from thinkj_verl.files import atomic_folder, write_json

PREFERRED = "preferred"
DUPLICATE = "conversation seen before (one row per prompt)"
TIE = "tie: no preferred response (give --reference)"
NO_REFERENCE = "no reply in the reference file"


def preferred_response(pair: Pair) -> str:
    """The better response of a pair."""
    return pair.better_and_worse()[0]


def policy_row(pair: Pair, index: int, split: str, reference: str, reference_source: str) -> dict:
    """One ``RLHFDataset`` row: the pair's conversation as the prompt, ``reference`` to beat."""
    return {
        "data_source": f"policy/{pair.source}",
        "prompt": pair.conversation,
        "ability": "chat",
        "reward_model": {"style": "judge", "ground_truth": reference},
        "extra_info": {
            "index": index,
            "pair_id": pair.id,
            "split": split,
            "reference_source": reference_source,
            "conversation": pair.conversation,
        },
    }


def read_references(path, model: str | None = None) -> dict[str, str]:
    """``{pair id: reply}`` from a reference model's output file (rows with ``id`` and ``response``).

    With ``model``, rows that carry a ``model`` field must name it (a file of several models'
    outputs is filtered to one).
    """
    references = {}
    for number, row in enumerate(read_records(path), start=1):
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not isinstance(row.get("response"), str):
            raise ValueError(f"{path}: row {number} needs a string 'id' (the pair id) and a string 'response'")
        if model is not None and row.get("model") not in (None, model):
            continue
        if row["id"] in references:
            raise ValueError(f"{path}: row {number}: pair id {row['id']!r} appears twice")
        if row["response"].strip():
            references[row["id"]] = row["response"]
    return references


def prepare_policy(
    source: str, input, out, *, reference: str | None = None, reference_model: str | None = None,
    seed: int = 0, val_fraction: float = 0.05, **source_options,
) -> dict:
    """Write ``DIR/train.parquet``, ``DIR/val.parquet`` and ``DIR/summary.json``; returns the summary."""
    from thinkj_verl.data.prepare import check_out, split_pairs

    check_out(out)
    if reference_model is not None and reference is None:
        raise ValueError("--reference-model names the model of a --reference file; give --reference too")
    references = read_references(reference, reference_model) if reference else None
    reference_source = (reference_model or Path(reference).stem) if reference else PREFERRED
    pairs, skipped = load_pairs(source, input, **source_options)
    read = len(pairs) + sum(skipped.values())
    if read == 0:
        raise ValueError(f"{input}: no rows to read (empty file?); nothing was written")

    kept, seen, used = [], set(), set()
    for pair in pairs:
        key = json.dumps(pair.conversation, sort_keys=True)
        if key in seen:
            skipped[DUPLICATE] += 1
            continue
        if references is not None:
            if pair.id not in references:
                skipped[NO_REFERENCE] += 1
                continue
            used.add(pair.id)
            kept.append((pair, references[pair.id]))
        elif is_tie(pair):
            skipped[TIE] += 1
            continue
        else:
            kept.append((pair, preferred_response(pair)))
        seen.add(key)
    if not kept:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items())) or "none"
        raise ValueError(f"no prompt left to write: {read} row(s) read, skipped: {reasons}")
    train, val = split_pairs(kept, val_fraction, seed)
    if not train:
        raise ValueError(f"--val-fraction {val_fraction} leaves no prompt for train.parquet; lower it")

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    summary = {
        "task": "policy",
        "source": source,
        "input": str(input),
        "reference": str(reference) if reference else PREFERRED,
        "reference_source": reference_source,
        "seed": seed,
        "val_fraction": val_fraction,
        "read": read,
        "pairs": len(pairs),
        "skipped": dict(sorted(skipped.items())),
        "written": {"train": len(train), "val": len(val)},
        "reference_rows_unused": len(references) - len(used) if references is not None else None,
        "files": {"train": str(out / "train.parquet"), "val": str(out / "val.parquet")},
    }
    index = 0
    with atomic_folder(out) as stage:
        for name, split in (("train", train), ("val", val)):
            rows = []
            for pair, reply in split:
                rows.append(policy_row(pair, index, name, reply, reference_source))
                index += 1
            pq.write_table(pa.Table.from_pylist(rows), stage / f"{name}.parquet")
        write_json(stage / "summary.json", summary)
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thinkj prepare --task policy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, choices=list(SOURCES), help="which converter reads the input")
    parser.add_argument("--input", required=True, help="local .jsonl/.json/.parquet file, or a Hugging Face hub id")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--reference", help="a reference model's replies (rows with id, response); "
                                            "default: the preferred response of each pair")
    parser.add_argument("--reference-model", help="the reference model's name (kept in the rows; filters a 'model' column)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-fraction", type=argtypes.fraction, default=0.05, help="share of prompts for val.parquet")
    parser.add_argument("--split", help="hub split to load (default: train)")
    parser.add_argument("--limit", type=argtypes.positive_int, help="read at most this many input rows")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    options = {key: getattr(args, key) for key in ("split", "limit") if getattr(args, key) is not None}
    try:
        summary = prepare_policy(args.source, args.input, args.out, reference=args.reference,
                                 reference_model=args.reference_model, seed=args.seed,
                                 val_fraction=args.val_fraction, **options)
    except ValueError as error:
        print(f"thinkj prepare --task policy: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        message = str(error) if error.errno is None else f"{error.filename}: {error.strerror}; check --input, --reference and --out"
        print(f"thinkj prepare --task policy: {message}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


def split_task(argv: list[str]) -> tuple[str, list[str]]:
    """``--task judge|policy`` (or ``--task=...``) taken out of ``argv``; ``judge`` when absent.

    >>> split_task(["--task", "policy", "--source", "local"])
    ('policy', ['--source', 'local'])
    """
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--task" and i + 1 < len(argv):
            task, rest = argv[i + 1], argv[:i] + argv[i + 2:]
            break
        if arg.startswith("--task="):
            task, rest = arg.split("=", 1)[1], argv[:i] + argv[i + 1:]
            break
    else:
        return "judge", argv
    if task not in ("judge", "policy"):
        raise SystemExit(f"thinkj prepare: --task must be judge or policy, got {task!r}")
    return task, rest
