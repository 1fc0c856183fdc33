"""Throughput of reward scoring: the pure function, and the thinkj manager beside verl's naive one.

Builds 8192 synthetic judge replies with realistic lengths (thinking up to ~3072 tokens; mixed
formats: right, wrong, unparsable, conflicting, out-of-range strength, cut at the limit) and prints:
  (a) the pure reward function (parser + reward), outputs/s on one core;
  (b) the `thinkj` manager's run_single (real decoding with a tokenizer) and verl's built-in `naive`
      manager running the released-formula function on the same batch, samples/s and the ratio.
Targets: (a) >= 50,000 outputs/s; (b) thinkj no slower than naive.

    python benchmarks/reward_throughput.py [--n 8192]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import numpy as np
import torch

WORDS = ("the response is correct because it explains each step clearly while the other one skips the "
         "proof and makes an arithmetic error in line three so it is less helpful overall").split()


def synthetic_replies(n: int, rng: random.Random, max_words: int) -> list[tuple[str, dict]]:
    from thinkj_verl.formats import get_format

    strength = get_format("strength")
    rows = []
    for _ in range(n):
        better = rng.choice("ab")
        label = {"better": better, "strength": rng.randint(1, 3), "scores": None}
        # Most judgments think a few hundred words; a few run to the 3072-token limit.
        thinking = " ".join(rng.choices(WORDS, k=int(rng.triangular(20, max_words, 300))))
        kind = rng.random()
        verdict = better if kind < 0.5 else ("b" if better == "a" else "a")
        final = strength.render(verdict=verdict, strength=rng.randint(1, 3))
        if kind < 0.75:
            reply = f"<think>\n{thinking}\n</think>\n\n{final}"
        elif kind < 0.85:
            reply = thinking  # no verdict
        elif kind < 0.92:
            reply = f"{thinking} {final} {strength.render(verdict='a' if verdict == 'b' else 'b', strength=1)}"
        elif kind < 0.96:
            reply = f"<think>{thinking}</think>{strength.render(verdict=verdict, strength=7)}"
        else:
            reply = f"<think>{thinking}"  # cut while thinking
        rows.append((reply, label))
    return rows


def bench_pure(rows) -> float:
    from reward_fns.thinkj_strength import compute_score

    start = time.perf_counter()
    for reply, label in rows:
        compute_score("bench", reply, label)
    return len(rows) / (time.perf_counter() - start)


def make_batch(tokenizer, rows, response_length: int):
    from verl import DataProto

    responses, masks = [], []
    for reply, _ in rows:
        ids = tokenizer(reply)["input_ids"][: response_length - 1] + [tokenizer.eos_token_id]
        masks.append([1] + [1] * len(ids) + [0] * (response_length - len(ids)))
        responses.append(ids + [tokenizer.pad_token_id] * (response_length - len(ids)))
    prompts = torch.full((len(rows), 1), tokenizer.pad_token_id)
    responses = torch.tensor(responses)
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": torch.tensor(masks),
                 "input_ids": torch.cat([prompts, responses], dim=1)},
        non_tensors={
            "data_source": np.array(["bench"] * len(rows), dtype=object),
            # the naive manager's function gets the released encoding; ours the dict schema
            "reward_model": np.array([{"ground_truth": label} for _, label in rows], dtype=object),
            "extra_info": np.array([{"index": i} for i in range(len(rows))], dtype=object),
        },
    )


def released_strength(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """verl-style function for the naive manager: the released formula on the released label."""
    from reward_fns.thinkj_strength import compute_score

    return compute_score(data_source, solution_str, ground_truth, extra_info, variant="released")


def bench_manager(manager, data) -> float:
    slices = [data[i : i + 1] for i in range(len(data))]
    start = time.perf_counter()

    async def run_all():
        return await asyncio.gather(*(manager.run_single(item) for item in slices))

    manager.loop.run_until_complete(run_all())
    return len(data) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=8192)
    parser.add_argument("--max-words", type=int, default=2300, help="longest thinking in words (~3072 tokens)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    rows = synthetic_replies(args.n, random.Random(args.seed), args.max_words)
    lengths = [len(r) for r, _ in rows]
    print(f"{args.n} replies, {np.mean(lengths):,.0f} characters on average, longest {max(lengths):,}")
    pure = max(bench_pure(rows) for _ in range(3))
    print(f"(a) pure thinkj_strength.compute_score: {pure:,.0f} outputs/s  (target >= 50,000)")

    from omegaconf import OmegaConf

    from thinkj_verl.reward_manager import ThinkJRewardManager
    from thinkj_verl.tiny import build_tiny_tokenizer
    from verl.experimental.reward_loop.reward_manager import NaiveRewardManager

    tokenizer = build_tiny_tokenizer()
    # The tiny tokenizer spends more tokens per word than a real one; replies past the response
    # length are cut there, as a rollout would be.
    response_length = 3072
    config = OmegaConf.create({"reward": {"custom_reward_function": {"path": None, "reward_kwargs": {}}}})
    thinkj = ThinkJRewardManager(config, tokenizer, None)
    naive = NaiveRewardManager(config, tokenizer, released_strength)
    data = make_batch(tokenizer, rows, response_length)
    # Same rows for both, alternating runs, best of five each: damps noise from a shared machine.
    naive_rate = thinkj_rate = 0.0
    for _ in range(5):
        naive_rate = max(naive_rate, bench_manager(naive, data))
        thinkj_rate = max(thinkj_rate, bench_manager(thinkj, data))
    print(f"(b) naive manager + released formula: {naive_rate:,.0f} samples/s")
    print(f"(b) thinkj manager (decode + truncation + reward): {thinkj_rate:,.0f} samples/s")
    print(f"    thinkj / naive = {thinkj_rate / naive_rate:.2f}  (target >= 1.0)")


if __name__ == "__main__":
    main()
