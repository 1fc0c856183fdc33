"""``thinkj label``: annotate preference pairs with a (gold) judge, in both orders.

::

    thinkj label --judge-url URL --model NAME --input PAIRS --out DIR \\
        [--format strength] [--max-tokens N] [--max-concurrency 8] [--min-interval 0.0] [--limit N]

Each canonical pair of PAIRS (`thinkj_verl.data.pairs`) is put to the judge behind URL (any
OpenAI-compatible endpoint) in both orders at once. Only a consistent verdict (the same response
picked in both orders) makes a labelled pair: the pair as it was, with ``better`` the judge's
pick, ``strength`` the smaller of the two judged strengths (strength format), and in ``meta`` the
judge's model and whether it agrees with the pair's original label. Those train smaller judges.

- Resumable: every judged pair is appended to ``DIR/judgments.jsonl`` as soon as it is judged
  (both replies, both verdicts, the outcome); a rerun skips the pair ids already there. A pair
  whose call failed after its retries is not recorded, so the next run asks again.
- Rate-limited: at most ``--max-concurrency`` calls in flight, starts at least ``--min-interval``
  seconds apart.
- Counted: ``DIR/summary.json`` (also printed) has pairs read, judged now, resumed, kept
  (consistent), inconsistent, unparsable, failed calls, retries, timeouts and the agreement
  with the original labels; ``DIR/pairs.jsonl`` holds the kept pairs (rewritten atomically from
  the judgments file at the end of each run).

>>> from thinkj_verl.data.pairs import Pair
>>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "5", "4", GroundTruth("b", 3))
>>> labelled(pair, {"outcome": "consistent", "winner": "a", "strengths": [2, 1]}, "gold").label
GroundTruth(better='a', strength=1, scores=None)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

from thinkj_verl import argtypes
from thinkj_verl.data.pairs import Pair, read_pairs, write_pairs
from thinkj_verl.files import json_line, write_json
from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.judge_client import JudgeClient, PairVerdict, add_judge_arguments, finish

JUDGMENTS = "judgments.jsonl"


def judgment_record(pair: Pair, verdict: PairVerdict) -> dict:
    """What one pair's judgment leaves in ``judgments.jsonl``."""
    if verdict.consistent:
        outcome = "consistent"
    elif verdict.parsed:
        outcome = "inconsistent"
    else:
        outcome = "unparsable"
    strengths = [j.strength if j is not None else None for j in verdict.judgments.values()]
    return {
        "id": pair.id,
        "outcome": outcome,
        "winner": verdict.winner,
        "sides": verdict.sides,
        "strengths": strengths,
        "replies": {order: call.text for order, call in verdict.calls.items()},
    }


def labelled(pair: Pair, record: dict, model: str | None) -> Pair:
    """The pair relabelled by a consistent judgment ``record``."""
    strengths = [s for s in record.get("strengths") or [] if isinstance(s, int)]
    meta = dict(pair.meta, label_judge=model, original_better=pair.label.better,
                agrees_with_original=record["winner"] == pair.label.better)
    strength = min(strengths) if len(strengths) == 2 and all(1 <= s <= 3 for s in strengths) else None
    return Pair(pair.id, pair.source, pair.conversation, pair.response_a, pair.response_b,
                GroundTruth(record["winner"], strength), subset=pair.subset, meta=meta)


def _done(path: Path, counts: Counter) -> dict[str, dict]:
    records = {}
    if not path.is_file():
        return records
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
            records[record["id"]] = record
        except (ValueError, KeyError, TypeError):  # a line cut by a kill while it was written
            counts["unreadable judgment lines"] += 1
    return records


async def _label(client: JudgeClient, pairs: list[Pair], out: Path, counts: Counter) -> None:
    import httpx

    async with httpx.AsyncClient() as http:
        with open(out / JUDGMENTS, "a") as log:
            async def one(pair):
                return pair, await client.judge_pair(pair, http)

            for task in asyncio.as_completed([one(pair) for pair in pairs]):
                pair, verdict = await task
                if verdict.failed_calls:
                    counts["failed (asked again on the next run)"] += 1
                    continue
                log.write(json_line(judgment_record(pair, verdict)) + "\n")
                log.flush()
                counts["judged now"] += 1


def label(input, out, *, judge_url: str, model: str | None = None, fmt: str = "strength",
          max_tokens: int | None = None, max_concurrency: int = 8, min_interval_s: float = 0.0,
          timeout_s: float = 300.0, max_attempts: int = 3, limit: int | None = None) -> dict:
    """Label the pairs of ``input`` into ``out``; returns the summary (module docstring)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    pairs = read_pairs(input)
    if limit is not None:
        pairs = pairs[:limit]
    ids = Counter(pair.id for pair in pairs)
    if any(n > 1 for n in ids.values()):
        raise ValueError(f"{input}: pair ids repeat ({[i for i, n in ids.items() if n > 1][:3]}); each pair id must be unique")
    counts: Counter = Counter()
    done = _done(out / JUDGMENTS, counts)
    todo = [pair for pair in pairs if pair.id not in done]
    counts["resumed"] = len(pairs) - len(todo)
    client = JudgeClient(judge_url, model, fmt=fmt, max_tokens=max_tokens, timeout_s=timeout_s,
                         max_attempts=max_attempts, max_concurrency=max_concurrency, min_interval_s=min_interval_s)
    asyncio.run(_label(client, todo, out, counts))

    records = _done(out / JUDGMENTS, Counter())
    outcomes = Counter(records[p.id]["outcome"] for p in pairs if p.id in records)
    kept = [labelled(p, records[p.id], model) for p in pairs if p.id in records and records[p.id]["outcome"] == "consistent"]
    write_pairs(kept, out / "pairs.jsonl")
    agree = sum(p.meta["agrees_with_original"] for p in kept)
    summary = {
        "input": str(input),
        "judge_url": judge_url,
        "model": model,
        "format": fmt,
        "pairs": len(pairs),
        "judged_now": counts["judged now"],
        "resumed": counts["resumed"],
        "failed": counts["failed (asked again on the next run)"],
        "kept_consistent": outcomes["consistent"],
        "inconsistent": outcomes["inconsistent"],
        "unparsable": outcomes["unparsable"],
        "agreement_with_original": round(agree / len(kept), 4) if kept else None,
        "unreadable_judgment_lines": counts["unreadable judgment lines"],
        "calls": {key: client.counts[key] for key in ("calls", "attempts", "retries", "timeouts", "http_errors",
                                                      "connection_errors", "bad_replies", "failed")},
        "files": {"pairs": str(out / "pairs.jsonl"), "judgments": str(out / JUDGMENTS)},
    }
    write_json(out / "summary.json", summary)
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thinkj label", description=__doc__.split("\n\n")[0])
    add_judge_arguments(parser, "--judge-url", "OpenAI-compatible endpoint (host:port, base URL or .../chat/completions)")
    parser.add_argument("--input", required=True, help="canonical pairs (.jsonl/.json/.parquet), e.g. thinkj prepare's pairs_train.parquet")
    parser.add_argument("--out", required=True, help="output folder (resumed when it holds judgments.jsonl)")
    parser.add_argument("--min-interval", type=argtypes.non_negative_float, default=0.0, help="seconds between the starts of two calls")
    parser.add_argument("--timeout", type=argtypes.positive_float, default=300.0, help="seconds per attempt")
    parser.add_argument("--max-attempts", type=argtypes.positive_int, default=3)
    parser.add_argument("--limit", type=argtypes.positive_int, help="label only the first N pairs")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = label(args.input, args.out, judge_url=args.judge_url, model=args.model, fmt=args.format,
                        max_tokens=args.max_tokens, max_concurrency=args.max_concurrency,
                        min_interval_s=args.min_interval, timeout_s=args.timeout, max_attempts=args.max_attempts,
                        limit=args.limit)
    except (ValueError, OSError) as error:
        print(f"thinkj label: {error}", file=sys.stderr)
        return 1
    return finish("thinkj label", summary, args.judge_url, args.out)
