"""``thinkj eval --format pointwise``: a J1 pointwise judge on any benchmark's pairs.

The judge sees each response alone (`thinkj_verl.prompts.pointwise_messages`) and scores it
0..10 (the ``pointwise`` format); a pair is right when the better response got the higher
score, exactly as in training (`thinkj_verl.j1.session.score_pointwise`): equal scores (a tie)
and an unreadable score are wrong. Tie pairs of the data (``meta.tie``) are left out.

``OUT/generations.jsonl`` holds one line per (pair, response): ``pair_id``, ``view`` (``a`` /
``b``, canonical responses), ``subset``, ``better``, ``text``, ``truncated``, ``num_tokens``;
it is appended per batch and a rerun generates only what is missing (a line torn by a crash is
dropped). ``OUT/metrics.json`` and ``OUT/report.md``: accuracy overall and per subset, tie rate
(pairs with both scores read and equal), mean score gap (better minus worse, both read), the
share of pairs with both scores read, the format rate of the replies, the score histogram.
The benchmark-specific aggregates of pairwise judges (RewardBench sections, RM-Bench's matrix,
JudgeBench's votes, RewardBench 2's best-of-4) are not computed for pointwise judges here.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from statistics import fmean

from thinkj_verl.j1.session import score_pointwise

GENERATIONS = "generations.jsonl"
VIEWS = ("a", "b")


def _read(path: Path) -> list[dict]:
    """The complete lines of ``path`` (a torn last line, from a crash, is left out)."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def pointwise_scores(records: list[dict], require_think: bool = False) -> dict:
    """Pair-level scores of pointwise replies (see the module docstring).

    >>> reply = "<think>x</think>Therefore, the score of the response is [[{}]]."
    >>> rows = [dict(pair_id="p", view="a", better="a", text=reply.format(8)),
    ...         dict(pair_id="p", view="b", better="a", text=reply.format(8))]
    >>> s = pointwise_scores(rows)
    >>> s["accuracy"], s["tie_rate"], s["pairs"]
    (0.0, 1.0, 1)
    """
    from thinkj_verl.ground_truth import GroundTruth

    by_pair: dict[str, dict[str, dict]] = defaultdict(dict)
    for record in records:
        by_pair[record["pair_id"]][record["view"]] = record
    rows, incomplete = [], 0
    for pair_id, views in by_pair.items():
        if set(views) != set(VIEWS):
            incomplete += 1
            continue
        a, b = views["a"], views["b"]
        result = score_pointwise(a["text"], b["text"], GroundTruth(a["better"]), truncated_a=bool(a.get("truncated")),
                                 truncated_b=bool(b.get("truncated")), require_think=require_think)
        rows.append({**result, "subset": a.get("subset")})
    subsets = defaultdict(list)
    for row in rows:
        subsets[row["subset"] or "all"].append(row["acc"])
    read = [r for r in rows if r["scored"]]
    histogram = Counter(int(r[f"score_{v}"]) for r in rows for v in VIEWS if r[f"score_{v}"] >= 0)

    def mean(values):
        values = list(values)
        return fmean(values) if values else None

    return {
        "pairs": len(rows),
        "incomplete_pairs": incomplete,
        "accuracy": mean(r["acc"] for r in rows),
        "subsets": {name: mean(values) for name, values in sorted(subsets.items())},
        "tie_rate": mean(r["tie"] for r in read),
        "score_gap": mean(r["score_gap"] for r in read),
        "scored_rate": mean(r["scored"] for r in rows),
        "format_rate": mean(r["format"] for r in rows),
        "truncation_rate": mean(r["truncated"] for r in rows),
        "score_histogram": {str(k): histogram[k] for k in sorted(histogram)},
    }


def render(metrics: dict) -> str:
    s = metrics["scores"]

    def pct(value):
        return "-" if value is None else f"{100 * value:.1f}"

    gap = "-" if s["score_gap"] is None else f"{s['score_gap']:.2f}"
    lines = [
        f"# Pointwise judge: {metrics.get('model') or metrics.get('data')}",
        "",
        f"benchmark {metrics['benchmark']}, {s['pairs']} pairs, a tie or an unreadable score is wrong",
        "",
        "| Accuracy | Ties | Score gap | Both read | Format |",
        "|---|---|---|---|---|",
        f"| {pct(s['accuracy'])} | {pct(s['tie_rate'])} | {gap} | {pct(s['scored_rate'])} | {pct(s['format_rate'])} |",
        "",
        "| subset | accuracy |",
        "|---|---|",
        *[f"| {name} | {pct(value)} |" for name, value in s["subsets"].items()],
    ]
    return "\n".join(lines) + "\n"


def run(args, pairs, skipped, out_dir: Path, settings: dict | None, progress: bool) -> dict:
    """Generate what is missing (with ``settings``; None: score ``args.generations``), score, write."""
    from thinkj_verl.files import write_json, write_text

    path = Path(args.generations) if args.generations else out_dir / GENERATIONS
    if settings is not None:
        from thinkj_verl.generation import iter_generate
        from thinkj_verl.prompts import pointwise_messages

        out_dir.mkdir(parents=True, exist_ok=True)
        done = {(r["pair_id"], r["view"]) for r in _read(path)}
        labelled = [p for p in pairs if not (p.meta or {}).get("tie")]
        todo = [(pair, view) for pair in labelled for view in VIEWS if (pair.id, view) not in done]
        if path.exists():  # drop a torn tail before appending
            path.write_text("".join(json.dumps(r) + "\n" for r in _read(path)), encoding="utf-8")
        conversations = [pointwise_messages(pair, "pointwise", view) for pair, view in todo]
        for indices, generations in iter_generate(
            settings["model"], conversations, backend=settings["backend"], max_new_tokens=settings["max_new_tokens"],
            temperature=settings["temperature"], tensor_parallel=settings["tensor_parallel"],
            max_model_len=settings["max_model_len"], gpu_memory_utilization=settings["gpu_memory_utilization"],
            batch_size=settings["batch_size"], seed=settings["seed"], progress=progress,
        ):
            with open(path, "a", encoding="utf-8") as out:
                for i, replies in zip(indices, generations):
                    pair, view = todo[i]
                    out.write(json.dumps({"pair_id": pair.id, "view": view, "subset": pair.subset, "better": pair.label.better,
                                          "text": replies[0].text, "truncated": replies[0].truncated,
                                          "num_tokens": replies[0].num_tokens}) + "\n")
                out.flush()
        print(f"thinkj eval: {2 * len(labelled)} pointwise judgments planned, {len(todo)} generated", file=sys.stderr)
    records = _read(path)
    if pairs is not None:
        wanted = {p.id for p in pairs}
        records = [r for r in records if r["pair_id"] in wanted]
    if not records:
        raise ValueError(f"{path} holds no pointwise judgments to score")
    metrics = {
        "benchmark": args.benchmark, "model": args.model, "data": args.data or str(path), "format": "pointwise",
        "judge_mode": "pointwise", "seed": args.seed, "require_think": args.require_think,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "generations_file": str(path),
        "input": {"pairs": len(pairs) if pairs is not None else None, "skipped": dict(skipped or {})},
        "scores": pointwise_scores(records, require_think=args.require_think),
    }
    write_json(out_dir / "metrics.json", metrics)
    write_text(out_dir / "report.md", render(metrics))
    return metrics
