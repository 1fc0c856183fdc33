"""``thinkj tournament``: a judge ranks each prompt's policy samples by knock-out; DPO pairs for trl.

::

    thinkj tournament --judge URL [--model NAME] --samples FILE --out DIR [--format strength] [--seed 0]

RISE-Judge's use of its judge (method.md section 3): for each prompt's N policy samples, a
knock-out of pairwise judgments, and the 2 best against the 2 worst as DPO pairs.

- A match is one pair of samples judged in BOTH orders; a sample loses only when it loses in
  both. A match the judge does not decide (the orders disagree, or a reply did not parse) lets
  both samples through to the next round.
- The winners' bracket: samples are paired at random (seeded), winners advance, until 2 remain
  (the 2 best). The losers' bracket starts from the first round's losers, and there the LOSER of
  each match advances, until 2 remain (the 2 worst). A bracket with more than 2 samples left and
  no decided match in a round stops: the prompt gives no pairs (counted).
- Output: ``DIR/dpo.jsonl``, trl's conversational preference rows
  (``{"prompt": [messages], "chosen": [assistant], "rejected": [assistant]}``), 2 x 2 per prompt;
  ``DIR/tournament.jsonl``, per prompt the best, the worst, the matches and the judgments spent;
  ``DIR/summary.json`` with the totals and the judgments per prompt (also printed).

FILE rows: ``{"id": ..., "prompt": "text" or [messages], "responses": ["...", ...]}`` (.jsonl,
.json or .parquet).

>>> dpo_rows([{"role": "user", "content": "Hi"}], ["a", "b", "c", "d"], [0, 1], [2, 3])[0]["chosen"]
[{'role': 'assistant', 'content': 'a'}]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Callable

from thinkj_verl.data.pairs import Pair, read_records
from thinkj_verl.files import atomic_folder, write_json, write_jsonl
from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.judge_client import JudgeClient, add_judge_arguments, finish


async def _knockout(entrants: list, decide: Callable, advance: str) -> tuple[list, list, int]:
    """Rounds until 2 remain; each round's matches are asked at once. ``await decide(x, y)`` ->
    'a' (x wins), 'b' (y wins) or None (undecided). Returns (the samples left: 2, or more when a
    round decided nothing; the first round's losers; matches played)."""
    alive, first_losers, matches, first = list(entrants), [], 0, True
    while len(alive) > 2:
        games = [(alive[i], alive[i + 1]) for i in range(0, len(alive) - 1, 2)]
        results = await asyncio.gather(*(decide(x, y) for x, y in games))
        matches += len(games)
        next_round = []
        for (x, y), result in zip(games, results):
            if result is None:
                next_round += [x, y]
                continue
            winner, loser = (x, y) if result == "a" else (y, x)
            next_round.append(winner if advance == "winner" else loser)
            if first:
                first_losers.append(loser)
        if len(alive) % 2:
            next_round.append(alive[-1])  # a bye
        if all(result is None for result in results):
            return alive, first_losers, matches
        alive, first = next_round, False
    return alive, first_losers, matches


async def bracket(samples: list, decide: Callable, seed=0) -> tuple[list, list, int]:
    """``(best, worst, matches)``: a winners' and a losers' knock-out over ``samples`` (module
    docstring); best or worst has more than 2 entries when a round decided nothing.

    >>> async def longer(x, y):
    ...     return "a" if x > y else "b"
    >>> best, worst, matches = asyncio.run(bracket(list(range(8)), longer, seed=0))
    >>> 7 in best, 0 in worst, len(best), len(worst), matches
    (True, True, 2, 2, 8)
    """
    order = list(samples)
    random.Random(f"thinkj-tournament:{seed}").shuffle(order)
    best, first_losers, matches = await _knockout(order, decide, "winner")
    if len(order) <= 3 or len(best) > 2:
        return best, [s for s in order if s not in best] or list(best), matches
    worst, _, more = await _knockout(first_losers, decide, "loser")
    return best, worst, matches + more


# The Pair record needs a label; the judge's verdict is what a tournament wants, so it is never read.
UNJUDGED = GroundTruth("a")


async def _rank_prompt(client: JudgeClient, row_id: str, conversation, responses: list[str], seed, http) -> dict:
    asked: dict[tuple[int, int], str | None] = {}

    async def decide(i: int, j: int):
        key = (min(i, j), max(i, j))
        if key not in asked:
            pair = Pair(f"{row_id}:{key[0]}-{key[1]}", "tournament", conversation, responses[key[0]],
                        responses[key[1]], UNJUDGED)
            asked[key] = (await client.judge_pair(pair, http)).winner  # None unless both orders agree
        winner = asked[key]
        if winner is None or key == (i, j):
            return winner
        return "a" if winner == "b" else "b"

    best, worst, matches = await bracket(list(range(len(responses))), decide, seed)
    return {"best": best, "worst": worst, "matches": matches, "judgments": 2 * len(asked),
            "undecided": sum(v is None for v in asked.values())}


def dpo_rows(conversation, responses: list[str], best: list[int], worst: list[int]) -> list[dict]:
    """trl's conversational preference rows: each of the best against each of the worst."""
    return [
        {"prompt": conversation, "chosen": [{"role": "assistant", "content": responses[b]}],
         "rejected": [{"role": "assistant", "content": responses[w]}]}
        for b in best for w in worst if b != w
    ]


def _messages(prompt, where: str) -> list[dict]:
    if isinstance(prompt, str) and prompt.strip():
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, list) and prompt and all(isinstance(m, dict) and {"role", "content"} <= m.keys() for m in prompt):
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in prompt]
    raise ValueError(f"{where}: 'prompt' must be a non-empty string or a list of {{role, content}} messages")


def read_samples(path) -> list[tuple[str, list[dict], list[str]]]:
    rows = []
    for number, row in enumerate(read_records(path), start=1):
        where = f"{path}, row {number}"
        if not isinstance(row, dict) or "id" not in row:
            raise ValueError(f"{where}: needs 'id', 'prompt' and 'responses'")
        responses = row.get("responses")
        if not isinstance(responses, list) or not all(isinstance(r, str) and r.strip() for r in responses):
            raise ValueError(f"{where}: 'responses' must be a list of non-empty strings")
        rows.append((str(row["id"]), _messages(row.get("prompt"), where), list(responses)))
    return rows


def tournament(samples, out, *, judge_url: str, model: str | None = None, fmt: str = "strength",
               max_tokens: int | None = None, max_concurrency: int = 8, seed=0, timeout_s: float = 300.0,
               max_attempts: int = 3) -> dict:
    """Rank every prompt's samples and write the DPO pairs; returns the summary."""
    import httpx

    rows = read_samples(samples)
    client = JudgeClient(judge_url, model, fmt=fmt, max_tokens=max_tokens, timeout_s=timeout_s,
                         max_attempts=max_attempts, max_concurrency=max_concurrency)

    async def run():
        async with httpx.AsyncClient() as http:
            return await asyncio.gather(*(_rank_prompt(client, row_id, conversation, responses, seed, http)
                                          for row_id, conversation, responses in rows))

    ranked = asyncio.run(run())
    pairs, per_prompt, stuck, too_few = [], [], 0, 0
    for (row_id, conversation, responses), result in zip(rows, ranked):
        if len(responses) < 4:
            too_few += 1
            result["pairs"] = 0
        elif len(result["best"]) > 2 or len(result["worst"]) > 2:
            stuck += 1
            result["pairs"] = 0
        else:
            rows_out = dpo_rows(conversation, responses, result["best"], result["worst"])
            pairs += rows_out
            result["pairs"] = len(rows_out)
        per_prompt.append({"id": row_id, "samples": len(responses), **result})
    judgments = [p["judgments"] for p in per_prompt]
    summary = {
        "samples": str(samples),
        "judge_url": judge_url,
        "model": model,
        "prompts": len(rows),
        "dpo_pairs": len(pairs),
        "prompts_with_pairs": sum(p["pairs"] > 0 for p in per_prompt),
        "prompts_undecided": stuck,
        "prompts_with_fewer_than_4_samples": too_few,
        "judgments": sum(judgments),
        "judgments_per_prompt": round(sum(judgments) / len(judgments), 2) if judgments else None,
        "calls": dict(client.counts),
    }
    with atomic_folder(out) as stage:
        write_jsonl(stage / "dpo.jsonl", pairs)
        write_jsonl(stage / "tournament.jsonl", per_prompt)
        write_json(stage / "summary.json", summary)
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thinkj tournament", description=__doc__.split("\n\n")[0])
    add_judge_arguments(parser, "--judge", "the judge's OpenAI-compatible endpoint (host:port or URL)")
    parser.add_argument("--samples", required=True, help="rows with id, prompt, responses (.jsonl/.json/.parquet)")
    parser.add_argument("--out", required=True, help="output folder (replaced as a whole)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = tournament(args.samples, args.out, judge_url=args.judge, model=args.model, fmt=args.format,
                             max_tokens=args.max_tokens, max_concurrency=args.max_concurrency, seed=args.seed)
    except (ValueError, OSError) as error:
        print(f"thinkj tournament: {error}", file=sys.stderr)
        return 1
    return finish("thinkj tournament", summary, args.judge, args.out)
