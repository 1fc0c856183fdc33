"""``thinkj preflight``: every check in order, one table, exit status 1 when any check fails."""

from __future__ import annotations

import argparse
import math
import sys

from thinkj_verl import memory_plan
from thinkj_verl.hydra_recipes import recipe_listing
from thinkj_verl.preflight.batches import check_batches
from thinkj_verl.preflight.cluster import check_cluster
from thinkj_verl.preflight.config import check_config, check_legacy_keys, check_logger, check_verl_validation
from thinkj_verl.preflight.data import (
    check_data_files,
    check_format_match,
    check_labels,
    check_prompt_lengths,
    load_sample,
)
from thinkj_verl.preflight.model import check_model
from thinkj_verl.preflight.report import Report, error_text
from thinkj_verl.preflight.reward import check_reward

DEFAULT_SAMPLE_ROWS = 64
DEFAULT_SCORE_ROWS = 4
DEFAULT_MAX_FILTERED = 0.10


def run_checks(overrides: list[str], ray_address: str | None = None, sample_rows: int = DEFAULT_SAMPLE_ROWS,
               score_rows: int = DEFAULT_SCORE_ROWS, max_filtered: float = DEFAULT_MAX_FILTERED,
               gpu_memory: float = memory_plan.DEFAULT_GPU_GIB) -> Report:
    """Every check, in order; later checks that need an earlier result are skipped with the reason."""
    report = Report()
    config = check_config(report, overrides)
    if config is None:
        return report
    check_verl_validation(report, config)
    check_legacy_keys(report, config)
    check_logger(report, config)
    check_batches(report, config)
    tokenizer = check_model(report, config)
    if tokenizer is not None:  # the per-GPU memory plan, from config.json (thinkj_verl/memory_plan.py)
        for row in memory_plan.preflight_rows(config, gpu_memory):
            report.add(*row)
    files_ok = check_data_files(report, config)
    if files_ok:
        check_labels(report, config)
    check_format_match(report, config)
    items = None
    if tokenizer is None or not files_ok:
        reason = "needs the tokenizer (see model + tokenizer)" if tokenizer is None else "needs the data files"
        report.skip("prompt lengths", reason)
        report.skip("reward scores known labels", reason)
    else:
        try:
            items = load_sample(config, tokenizer, sample_rows)
        except Exception as exc:
            report.fail("dataset loads", f"{error_text(exc)}; the dataset class could not read data.train_files")
        if items == []:
            report.fail("dataset loads", "data.train_files hold no rows")
        elif items:
            check_prompt_lengths(report, config, tokenizer, items, max_filtered)
            check_reward(report, config, tokenizer, items[:score_rows])
    if ray_address:
        check_cluster(report, config, ray_address)
    return report


def build_parser() -> argparse.ArgumentParser:
    from thinkj_verl import argtypes

    parser = argparse.ArgumentParser(
        prog="thinkj preflight",
        description="Check a main_ppo launch on CPU: config, batch arithmetic, model, data, reward, cluster.",
    )
    parser.add_argument("overrides", nargs="*", help="main_ppo overrides, e.g. +recipe=thinkj_grpo data.train_files=...")
    parser.add_argument("--list-recipes", action="store_true", help="list the recipes +recipe= accepts, and exit")
    parser.add_argument("--ray-address", help="ip:port of a running Ray head: check its alive nodes and GPUs")
    parser.add_argument("--sample-rows", type=int, default=DEFAULT_SAMPLE_ROWS,
                        help=f"training rows sampled for prompt lengths (default {DEFAULT_SAMPLE_ROWS})")
    parser.add_argument("--score-rows", type=int, default=DEFAULT_SCORE_ROWS,
                        help=f"of those, rows scored through the reward manager (default {DEFAULT_SCORE_ROWS})")
    parser.add_argument("--max-filtered", type=argtypes.fraction, default=DEFAULT_MAX_FILTERED,
                        help="fail when more than this share of prompts would be filtered as too long "
                             f"(default {DEFAULT_MAX_FILTERED})")
    parser.add_argument("--gpu-memory", type=float, default=memory_plan.DEFAULT_GPU_GIB, metavar="GIB",
                        help=f"memory of one GPU in GiB for the memory plan (default {memory_plan.DEFAULT_GPU_GIB:g})")
    return parser



def main(argv: list[str]) -> int:
    # Options may sit anywhere among the overrides, as on a main_ppo command line.
    args = build_parser().parse_intermixed_args(argv)
    if args.list_recipes:
        print(recipe_listing())
        return 0
    if args.sample_rows < 1 or args.score_rows < 0:
        print("thinkj preflight: --sample-rows must be >= 1 and --score-rows >= 0", file=sys.stderr)
        return 2
    if not (math.isfinite(args.gpu_memory) and args.gpu_memory > 0):
        print(f"thinkj preflight: --gpu-memory must be a positive number of GiB, got {args.gpu_memory}", file=sys.stderr)
        return 2
    report = run_checks(args.overrides, args.ray_address, args.sample_rows, args.score_rows, args.max_filtered,
                        args.gpu_memory)
    print(report.table())
    return 1 if report.failed else 0
