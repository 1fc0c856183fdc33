"""The ``thinkj`` command: one entry per step of the pipeline.

Each subcommand lives in its own module with ``main(argv) -> int``; it is imported only when
run, so ``thinkj --help`` answers at once. A new subcommand is one line in ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import os
import sys

# name -> (module with main(argv), one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    # in the order of the pipeline: data -> launch check -> (offline training) -> evaluation
    "prepare": ("thinkj_verl.data.prepare", "preference data -> judge-training parquet for verl (+ canonical pairs, summary.json)"),
    "preflight": ("thinkj_verl.preflight", "check a main_ppo launch on CPU first: config, batch arithmetic, model, data, reward, cluster"),
    "smoke": ("thinkj_verl.smoke", "run a main_ppo launch for a few real steps on this CPU, on a small copy of the model"),
    "select": ("thinkj_verl.offline.select", "LIMJ-style selection funnel: difficulty -> diversity -> accuracy"),
    "clip": ("thinkj_verl.offline.clip", "clip reasoning-model judgments to <think>explanation</think> + final sentence"),
    "pairs": ("thinkj_verl.offline.dpo_pairs", "DPO pairs of judgments: critic-guided (Think-J), sampling, RISE-Judge; bt rows"),
    "train": ("thinkj_verl.offline.train", "offline judge training with trl: sft | dpo (+ SFT term) | bt, from recipes/offline"),
    "eval": ("thinkj_verl.eval.run", "benchmark a judge (RewardBench, RM-Bench, any pairs); `eval compare` runs side by side"),
    # using a judge: label pairs with a gold judge; rank policy samples into DPO pairs (RISE)
    "label": ("thinkj_verl.label", "annotate pairs with a judge over HTTP in both orders; keep consistent verdicts"),
    "tournament": ("thinkj_verl.tournament", "knock-out of policy samples by a judge -> 2 best vs 2 worst DPO pairs (trl)"),
}


def _usage() -> str:
    lines = ["usage: thinkj COMMAND [options]   (thinkj COMMAND --help for a command's options)", ""]
    lines.append("commands:")
    width = max((len(name) for name in COMMANDS), default=0)
    for name, (_, summary) in COMMANDS.items():
        lines.append(f"  {name:<{width}}  {summary}")
    if not COMMANDS:
        lines.append("  (none yet)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from thinkj_verl import __version__

        print(f"thinkj-verl {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"thinkj: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


def entry() -> int:
    """The console script: ``main`` plus a quiet exit when the reader of our output goes away."""
    try:
        return main()
    except BrokenPipeError:  # `thinkj --help | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (keep interpreter shutdown from flushing into the pipe)
        return 141


if __name__ == "__main__":
    sys.exit(entry())
