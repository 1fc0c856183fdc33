"""``thinkj eval compare DIR1 DIR2 ...``: several evaluations side by side, with differences.

One table per benchmark: a row per run with the headline numbers in the paper's column order
(RewardBench: Chat, Chat Hard, Safety, Reasoning, Overall; JudgeBench: Knowledge, Reasoning,
Math, Coding, Overall; RewardBench 2: Factuality, Precise IF, Math, Safety, Focus, Ties,
Overall), then the order-consistency numbers
(pair accuracy, agreement, parse failures). Every run after the first shows its difference to
the first in points, e.g. ``91.2 (+3.4)``: list the baseline first (direct prompt, then SFT,
then Think-J, as in the paper's Table 3).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from thinkj_verl.eval.report import consistency_row, headline, pct
from thinkj_verl.files import write_text


def load_metrics(directory: str | Path) -> dict:
    """``DIR/metrics.json`` of one evaluation, with a clear error when it is not there."""
    path = Path(directory) / "metrics.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run `thinkj eval ... --out {directory}` first")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}); rerun the evaluation") from None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("benchmark"), str):
        raise ValueError(f"{path} is not a `thinkj eval` metrics file (no 'benchmark'); rerun the evaluation")
    return metrics


def _cell(value: float | None, base: float | None, first: bool) -> str:
    if first or value is None or base is None:
        return pct(value)
    return f"{pct(value)} ({100 * (value - base):+.1f})"


def compare_table(runs: Sequence[tuple[str, Mapping]]) -> str:
    """Markdown: one table per benchmark, differences to the first run of that benchmark.

    >>> m = {"benchmark": "pairs", "scores": {"accuracy": 0.5},
    ...      "diagnostics": {"pair_accuracy": None, "agreement": None, "parse_failure_rate": 0.0}}
    >>> n = {**m, "scores": {"accuracy": 0.75}}
    >>> print(compare_table([("base", m), ("rl", n)]).splitlines()[-1])
    | rl | 75.0 (+25.0) | — | — | 0.0 (+0.0) |
    """
    blocks = []
    benchmarks = list(dict.fromkeys(m["benchmark"] for _, m in runs))
    for benchmark in benchmarks:
        group = [(name, m) for name, m in runs if m["benchmark"] == benchmark]
        rows = [{**headline(m), **consistency_row(m)} for _, m in group]
        # Every column any run has (a pair set with ties has two more), in first-seen order.
        columns = list(dict.fromkeys(c for row in rows for c in row))
        lines = [f"### {benchmark}", "", "| Run | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
        for k, ((name, _), row) in enumerate(zip(group, rows)):
            cells = [_cell(row.get(c), rows[0].get(c), k == 0) for c in columns]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="thinkj eval compare",
        description="Compare evaluations side by side: one table per benchmark, differences to the first run.",
    )
    parser.add_argument("dirs", nargs="+", help="evaluation output directories (each with metrics.json)")
    parser.add_argument("--names", nargs="+", help="row names (default: the directory names)")
    parser.add_argument("--out", help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    names = args.names or [Path(d).resolve().name for d in args.dirs]
    if len(names) != len(args.dirs):
        parser.error(f"--names gives {len(names)} names for {len(args.dirs)} directories")
    try:
        runs = [(name, load_metrics(d)) for name, d in zip(names, args.dirs)]
    except (FileNotFoundError, ValueError) as error:
        print(f"thinkj eval compare: error: {error}", file=sys.stderr)
        return 2
    table = compare_table(runs)
    print(table)
    if args.out:
        write_text(args.out, table + "\n")
    return 0
