"""``thinkj eval``: benchmark a judge, resumably, and write its report.

Flow: benchmark pairs (`thinkj_verl.data.sources`) -> judge prompts in one or both orders
(`thinkj_verl.prompts`, the same prompts as training) -> replies (`thinkj_verl.generation`),
appended to ``OUT/generations.jsonl`` per batch -> scored by the one parser
(`thinkj_verl.eval.scoring`) -> ``metrics.json``, ``report.md`` and plots
(`thinkj_verl.eval.report`).

``OUT/run.json`` records what the generations were made with (model, benchmark, data,
format, orders, seed, generation settings); a rerun with other settings into the same
directory is refused rather than mixing two evaluations in one file (until a first judgment is
written, a retry's settings replace the record).
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
from collections import Counter
from importlib import metadata
from pathlib import Path

from thinkj_verl import argtypes
from thinkj_verl.formats import FORMATS
from thinkj_verl.generation import add_engine_arguments, engine_options, resolve_backend

# benchmark -> (converter in thinkj_verl.data.sources, default hub id)
BENCHMARKS: dict[str, tuple[str | None, str | None]] = {
    "rewardbench": ("rewardbench", "allenai/reward-bench"),
    "rmbench": ("rmbench", "THU-KEG/RM-Bench"),
    "judgebench": ("judgebench", "ScalerLab/JudgeBench"),
    "rewardbench2": ("rewardbench2", "allenai/reward-bench-2"),
    "pairs": (None, None),
}
JUDGE_MODES = ("pairwise", "pointwise")
ORDER_CHOICES = ("both", "random")
GENERATIONS = "generations.jsonl"
RUN_FILE = "run.json"
# Settings that change what is generated: a resumed run must match them all.
RUN_IDENTITY = ("model", "benchmark", "data", "split", "source", "format", "orders", "seed", "backend", "max_new_tokens",
                "temperature", "max_model_len")


class EvalError(ValueError):
    """A request ``thinkj eval`` cannot carry out; the message says what to do."""


def load_benchmark(benchmark: str, data: str | None, *, source: str | None = None, limit: int | None = None,
                   split: str | None = None):
    """The benchmark's canonical pairs and the Counter of rows skipped while loading.

    ``pairs`` reads a canonical pair file, or converts any file or hub id with ``source``
    (a converter name of `thinkj_verl.data.sources`); ties are kept there (``meta["tie"]``)
    for the tie-aware accuracy. ``split``: the hub split (default: the converter's, e.g.
    ``gpt`` for JudgeBench, ``test`` for RewardBench 2).
    """
    from thinkj_verl.data.pairs import read_pairs
    from thinkj_verl.data.sources import load_pairs

    converter, default_data = BENCHMARKS[benchmark]
    data = data or default_data
    options = {"limit": limit, "split": split}
    if benchmark == "pairs":
        options["keep_ties"] = True
        if source:
            converter = source
        elif data and Path(data).exists():
            pairs = read_pairs(data)
            return (pairs[:limit] if limit is not None else pairs), Counter()
        else:
            raise EvalError(
                f"--benchmark pairs needs --data PATH of a canonical pair file, or --source NAME "
                f"to convert {data!r}"
            )
    if data is None:
        raise EvalError(f"--benchmark {benchmark} needs --data")
    # A row limit: an RM-Bench row (item) gives its nine style pairs, a RewardBench 2 row its comparisons.
    return load_pairs(converter, data, **{k: v for k, v in options.items() if v is not None})


def plan_orders(pair_ids: list[str], orders: str, seed: int) -> list[tuple[str, str]]:
    """The (pair_id, order) judgments to make.

    ``both``: every pair in both orders. ``random``: one order per pair from a coin seeded by
    ``seed`` and the pair id, so a rerun (or a subset of the pairs) gets the same orders.

    >>> plan_orders(["p1"], "both", 0)
    [('p1', 'ab'), ('p1', 'ba')]
    >>> plan_orders(["p1", "p2"], "random", 0) == plan_orders(["p1", "p2"], "random", 0)
    True
    """
    if orders == "both":
        return [(pid, order) for pid in pair_ids for order in ("ab", "ba")]
    if orders == "random":
        return [(pid, "ba" if random.Random(f"{seed}:{pid}").random() < 0.5 else "ab") for pid in pair_ids]
    raise EvalError(f"--orders must be one of {ORDER_CHOICES}, got {orders!r}")


def generation_record(pair, order: str, generation) -> dict:
    """One line of ``generations.jsonl`` (schema in `thinkj_verl.eval.store`)."""
    from thinkj_verl.prompts import label_for

    return {
        "pair_id": pair.id,
        "order": order,
        "source": pair.source,
        "subset": pair.subset,
        "meta": pair.meta,
        "label": label_for(pair, order).to_dict(),
        "text": generation.text,
        "truncated": generation.truncated,
        "num_tokens": generation.num_tokens,
    }


def versions() -> dict[str, str]:
    """Installed versions of the packages an evaluation depends on."""
    found = {}
    for name in ("thinkj-verl", "verl", "transformers", "torch", "vllm"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _check_run_file(out_dir: Path, settings: dict) -> None:
    import json

    from thinkj_verl.files import write_json

    path = out_dir / RUN_FILE
    if path.exists():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise EvalError(f"{path}: not readable as JSON ({error}); delete it (and {GENERATIONS}) or use a new --out") from None
        if not isinstance(before, dict):
            raise EvalError(f"{path}: not a run record (a JSON object); delete it or use a new --out")
        changed = {k: (before.get(k), settings.get(k)) for k in RUN_IDENTITY if before.get(k) != settings.get(k)}
        generations = out_dir / GENERATIONS
        if changed and not (generations.exists() and generations.stat().st_size):
            # nothing was generated under the old settings (e.g. a prompt over --max-model-len stopped
            # the run before its first judgment): the retry's settings replace them
            write_json(path, {k: settings.get(k) for k in RUN_IDENTITY})
            return
        if changed:
            detail = "; ".join(f"{k}: {old!r} before, {new!r} now" for k, (old, new) in changed.items())
            raise EvalError(
                f"{out_dir} already holds generations made with other settings ({detail}). "
                f"Use a new --out directory, or delete {path} and {out_dir / GENERATIONS} to start over."
            )
        return
    if (out_dir / GENERATIONS).exists():
        raise EvalError(
            f"{out_dir / GENERATIONS} exists without {path}: it was not written by `thinkj eval --model`. "
            f"Score it with `thinkj eval --generations {out_dir / GENERATIONS}`, or use a new --out."
        )
    write_json(path, {k: settings.get(k) for k in RUN_IDENTITY})


def check_scoring_settings(generations: Path, out_dir: Path, benchmark: str, fmt: str) -> None:
    """``--generations`` of a ``--model`` run must be scored with that run's format and benchmark.

    The run's ``run.json`` sits beside its generations file; scoring strength replies with the
    binary parser (or writing into another run's folder) would overwrite good metrics with wrong
    ones, so it is refused, as a ``--model`` rerun with other settings is.
    """
    import json

    for folder in dict.fromkeys([generations.parent, out_dir]):
        path = folder / RUN_FILE
        if not path.is_file():
            continue
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise EvalError(f"{path}: not readable as JSON ({error}); delete it or use a new --out") from None
        if not isinstance(run, dict):
            raise EvalError(f"{path}: not a run record (a JSON object); delete it or use a new --out")
        asked = {"format": fmt, "benchmark": benchmark}
        changed = {k: (run.get(k), v) for k, v in asked.items() if run.get(k) is not None and run.get(k) != v}
        if changed:
            detail = "; ".join(f"--{k} {new} but the run used {old!r}" for k, (old, new) in changed.items())
            fix = " ".join(f"--{k} {old}" for k, (old, _) in changed.items())
            raise EvalError(f"{path}: {detail}. Score it with {fix}, or write elsewhere with a new --out")


def generate_judgments(pairs, settings: dict, out_dir: Path, *, progress: bool = True) -> dict:
    """Judge every planned (pair, order) not yet in ``out_dir/generations.jsonl``; append as we go.

    Returns counts: planned, already done, generated now.
    """
    from thinkj_verl.eval.store import GenerationStore
    from thinkj_verl.generation import iter_generate
    from thinkj_verl.prompts import judge_messages

    out_dir.mkdir(parents=True, exist_ok=True)
    _check_run_file(out_dir, settings)
    by_id = {pair.id: pair for pair in pairs}
    planned = plan_orders(list(by_id), settings["orders"], settings["seed"])
    store = GenerationStore(out_dir / GENERATIONS)
    done = store.done_keys()
    todo = [key for key in planned if key not in done]
    if todo:
        conversations = [judge_messages(by_id[pid], settings["format"], order) for pid, order in todo]
        for indices, generations in iter_generate(
            settings["model"],
            conversations,
            backend=settings["backend"],
            max_new_tokens=settings["max_new_tokens"],
            temperature=settings["temperature"],
            tensor_parallel=settings["tensor_parallel"],
            max_model_len=settings["max_model_len"],
            gpu_memory_utilization=settings["gpu_memory_utilization"],
            batch_size=settings["batch_size"],
            seed=settings["seed"],
            progress=progress,
        ):
            store.append(
                generation_record(by_id[todo[i][0]], todo[i][1], replies[0]) for i, replies in zip(indices, generations)
            )
    return {"planned": len(planned), "already_done": len(planned) - len(todo), "generated": len(todo)}


NOT_PLANNED = "not planned in this run (pair_id, order)"


def score_and_report(generations_path: Path, out_dir: Path, info: dict, *, require_think: bool = False,
                     progress: bool = True, planned: set | None = None) -> dict:
    """Score ``generations_path`` and write ``metrics.json``, ``report.md`` and the plots.

    ``planned``: the (pair_id, order) keys of this run's benchmark; other records in the file
    (another --limit, pairs no longer in the data) are counted in ``lines_not_used``, not scored.
    """
    from thinkj_verl.eval import judgebench, rewardbench2
    from thinkj_verl.eval import metrics as m
    from thinkj_verl.eval.report import render_report, write_plots
    from thinkj_verl.files import write_json, write_text
    from thinkj_verl.eval.scoring import score_records
    from thinkj_verl.eval.store import read_generations

    records, skipped_lines = read_generations(generations_path, info["format"])
    if planned is not None:
        kept = [r for r in records if (r["pair_id"], r["order"]) in planned]
        if len(kept) < len(records):
            skipped_lines[NOT_PLANNED] += len(records) - len(kept)
            print(f"thinkj eval: {len(records) - len(kept)} judgment(s) in {generations_path} are not in this "
                  "run's benchmark pairs; counted in metrics.json generations.lines_not_used, not scored",
                  file=sys.stderr)
        records = kept
    if not records:
        raise EvalError(f"{generations_path} holds no judgments to score")
    scored = score_records(records, info["format"], require_think=require_think, progress=progress)
    # Tie pairs have no better response: pair_set_scores alone scores them.
    labelled = [s for s in scored if not m.is_tie(s)]
    benchmark = info["benchmark"]
    if benchmark == "rewardbench":
        scores = m.rewardbench_scores(scored)
    elif benchmark == "rmbench":
        scores = m.rmbench_scores(scored)
    elif benchmark == "judgebench":
        scores = judgebench.judgebench_scores(scored)
    elif benchmark == "rewardbench2":
        scores = rewardbench2.rewardbench2_scores(scored)
    else:
        scores = m.pair_set_scores(scored)
    metrics = {
        **info,
        "require_think": require_think,
        "versions": versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "generations_file": str(generations_path),
        "generations": {"judgments": len(records), "lines_not_used": dict(skipped_lines)},
        "scores": scores,
        "diagnostics": m.diagnostics(labelled),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics["plots"] = write_plots(metrics, labelled, out_dir)
    write_json(out_dir / "metrics.json", metrics)
    write_text(out_dir / "report.md", render_report(metrics))
    return metrics


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thinkj eval",
        description=(
            "Benchmark a judge on RewardBench, RM-Bench, JudgeBench, RewardBench 2 or any pair set and write "
            "OUT/metrics.json, "
            "OUT/report.md and plots. Generation is resumable (OUT/generations.jsonl). "
            "`thinkj eval compare DIR1 DIR2 ...` puts several runs side by side."
        ),
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="judge model directory or hub id (generate, then score)")
    what.add_argument("--generations", help="score an existing generations.jsonl (schema: thinkj_verl/eval/store.py)")
    parser.add_argument("--benchmark", choices=list(BENCHMARKS), default="rewardbench")
    parser.add_argument(
        "--data",
        help="local file or hub id (default: allenai/reward-bench, THU-KEG/RM-Bench, ScalerLab/JudgeBench, "
        "allenai/reward-bench-2 for their benchmarks)",
    )
    parser.add_argument(
        "--split", help="hub split (default: gpt for judgebench, test for rewardbench2, filtered for rewardbench)"
    )
    parser.add_argument("--source", help="pairs only: convert --data with this source of `thinkj prepare`")
    parser.add_argument(
        "--judge-mode", choices=JUDGE_MODES, default="pairwise",
        help="pairwise comparisons, or pointwise: each reply scored alone (J1; the same as --format pointwise)",
    )
    parser.add_argument("--format", default="strength", choices=list(FORMATS), help="the judge's output format")
    parser.add_argument("--out", help="output directory (default with --generations: the file's directory)")
    parser.add_argument("--orders", choices=ORDER_CHOICES, default="both")
    add_engine_arguments(parser)
    parser.add_argument("--max-new-tokens", type=argtypes.positive_int, default=4096)
    parser.add_argument("--temperature", type=argtypes.non_negative_float, default=0.0)
    parser.add_argument("--batch-size", type=argtypes.positive_int, help="prompts per batch (default 8 transformers, 256 vllm)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random order coin and of sampling")
    parser.add_argument("--limit", type=argtypes.positive_int, help="only the first N pairs (RM-Bench: N items)")
    parser.add_argument("--require-think", action="store_true", help="a verdict counts only after <think>...</think>")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def _pointwise(args, progress: bool) -> int:
    from thinkj_verl.eval.pointwise import run

    if args.generations:
        out_dir, settings, pairs, skipped = Path(args.out) if args.out else Path(args.generations).parent, None, None, None
    else:
        if not args.out:
            raise EvalError("--out DIR is required with --model")
        out_dir = Path(args.out)
        settings = {"model": args.model, "backend": resolve_backend(args.backend), "max_new_tokens": args.max_new_tokens,
                    "temperature": args.temperature, "batch_size": args.batch_size, "seed": args.seed,
                    **engine_options(args)}
        pairs, skipped = load_benchmark(args.benchmark, args.data, source=args.source, limit=args.limit, split=args.split)
    scores = run(args, pairs, skipped, out_dir, settings, progress)["scores"]
    print(" | ".join(f"{name} {'-' if scores[key] is None else f'{100 * scores[key]:.1f}'}"
                     for name, key in (("Accuracy", "accuracy"), ("Ties", "tie_rate"), ("Both read", "scored_rate"))))
    print(f"wrote {out_dir / 'metrics.json'} and {out_dir / 'report.md'}")
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "compare":
        from thinkj_verl.eval.compare import main as compare_main

        return compare_main(argv[1:])
    args = build_parser().parse_args(argv)
    progress = not args.no_progress
    try:
        if args.judge_mode == "pointwise" or args.format == "pointwise":
            return _pointwise(args, progress)  # J1's pointwise judge: thinkj_verl/eval/pointwise.py
        if args.generations:
            generations = Path(args.generations)
            out_dir = Path(args.out) if args.out else generations.parent
            check_scoring_settings(generations, out_dir, args.benchmark, args.format)
            info = {"benchmark": args.benchmark, "model": None, "data": args.data or str(generations), "format": args.format,
                    "orders": "file", "generation": None}
        else:
            if not args.out:
                raise EvalError("--out DIR is required with --model")
            out_dir = Path(args.out)
            settings = {
                "model": args.model, "benchmark": args.benchmark,
                "data": args.data or BENCHMARKS[args.benchmark][1], "split": args.split, "source": args.source,
                "format": args.format,
                "orders": args.orders, "seed": args.seed, "backend": resolve_backend(args.backend),
                "max_new_tokens": args.max_new_tokens, "temperature": args.temperature,
                "batch_size": args.batch_size, **engine_options(args),
            }
            pairs, skipped = load_benchmark(args.benchmark, args.data, source=args.source, limit=args.limit,
                                            split=args.split)
            if not pairs:
                raise EvalError(f"no pairs loaded from {settings['data']} (skipped: {dict(skipped) or 'none'})")
            counts = generate_judgments(pairs, settings, out_dir, progress=progress)
            planned = set(plan_orders(list(dict.fromkeys(p.id for p in pairs)), args.orders, args.seed))
            print(
                f"thinkj eval: {counts['planned']} judgments planned, {counts['already_done']} already in "
                f"{out_dir / GENERATIONS}, {counts['generated']} generated",
                file=sys.stderr,
            )
            generations = out_dir / GENERATIONS
            info = {
                "benchmark": args.benchmark, "model": args.model, "data": settings["data"], "split": args.split,
                "format": args.format,
                "orders": args.orders, "seed": args.seed,
                "generation": {k: settings[k] for k in ("backend", "max_new_tokens", "temperature", "tensor_parallel",
                                                        "max_model_len", "gpu_memory_utilization")},
                "input": {"pairs": len(pairs), "skipped": dict(skipped), **counts},
            }
        metrics = score_and_report(generations, out_dir, info, require_think=args.require_think, progress=progress,
                                   planned=None if args.generations else planned)
    except (EvalError, ValueError, FileNotFoundError, ImportError) as error:
        print(f"thinkj eval: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a folder given as a file, a permission or disk problem
        print(f"thinkj eval: error: {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    from thinkj_verl.eval.report import headline, pct

    top = headline(metrics)
    print(" | ".join(f"{name} {pct(value)}" for name, value in top.items()))
    print(f"wrote {out_dir / 'metrics.json'}, {out_dir / 'report.md'} and {len(metrics['plots'])} plots")
    return 0
