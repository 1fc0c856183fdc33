"""``thinkj pairs``: preference pairs of judgments for offline (DPO) training.

Methods (``--method``):

- ``critic`` (Think-J section 3.2.1, critic-guided): the judge judges each pair; then
  - judge right -> chosen = the judge's output; the critic is asked for reasoning that supports
    the WRONG verdict -> rejected, kept only if it really ends in the wrong verdict;
  - judge wrong (or unparsable) -> rejected = the judge's output; the critic is asked for the
    RIGHT verdict's reasoning -> chosen, kept only if it really ends in the right verdict;
  - a pair with an empty thinking trace on either side is dropped.
  ``--rounds N`` repeats judging and critiquing N times (sampled judge) and keeps distinct pairs.
- ``sampling`` (the paper's "offline (Sampling)" baseline): n judge samples per item; chosen =
  a correct one, rejected = a wrong one; items with all-right or all-wrong samples are dropped.
- ``rise`` (RISE-Judge): n samples per item in BOTH orders; SFT rows keep a correct judgment
  only when the judge is also right with the responses swapped (position consistency), then
  balanced so the better response is the longer one in exactly half of them (length bias);
  DPO rows as in ``sampling``.
- ``bt``: the Bradley-Terry baseline's rows (the responses themselves, no generation).

The rules are pure functions (`critic_pair`, `sampling_pair`, `position_consistent`,
`balance_length`); generation (`thinkj_verl.generation.generate`) happens only in `main`.
Every drop is counted by reason and written to ``DIR/report.json``.

>>> right = "<think>(a) is correct.</think> Therefore, Response (a) is better."
>>> wrong = "<think>(b) is longer.</think> Therefore, Response (b) is better."
>>> critic_verdict(right, "a", "binary"), critic_verdict(wrong, "a", "binary")
('b', 'a')
>>> critic_pair(right, wrong, "a", "binary").rule
'judge right: critic trace rejected'
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from thinkj_verl import argtypes
from thinkj_verl.generation import add_engine_arguments, engine_options
from thinkj_verl.ground_truth import is_right, other_side
from thinkj_verl.parser import parse_judgment

METHODS = ("critic", "sampling", "rise", "bt")

JUDGE_RIGHT = "judge right: critic trace rejected"
JUDGE_WRONG = "judge wrong: critic trace chosen"
JUDGE_UNPARSABLE = "judge unparsable: critic trace chosen"
CRITIC_OFF = "dropped: critic did not end in the verdict asked for"
CRITIC_EMPTY = "dropped: critic trace empty"
JUDGE_EMPTY = "dropped: judge trace empty"
ALL_RIGHT = "dropped: all samples right"
ALL_WRONG = "dropped: all samples wrong"
SAMPLED = "sampled: right chosen, wrong rejected"


@dataclass(frozen=True)
class JudgmentPair:
    """A chosen and a rejected judgment text, and the rule that made (or dropped) the pair."""

    chosen: str | None
    rejected: str | None
    rule: str

    @property
    def ok(self) -> bool:
        return self.chosen is not None


def critic_verdict(judge_text: str, label: str, fmt: str, truncated: bool = False) -> str:
    """The verdict the critic is asked to support: the wrong one if the judge is right, else the right one."""
    right = is_right(parse_judgment(judge_text, fmt, truncated=truncated), label)
    return other_side(label) if right else label


def critic_pair(
    judge_text: str,
    critic_text: str,
    label: str,
    fmt: str,
    *,
    judge_truncated: bool = False,
    critic_truncated: bool = False,
) -> JudgmentPair:
    """Think-J's critic-guided pair from one judge output and the critic's reply to it.

    ``label`` is the better side as shown ('a' or 'b'); the critic was asked for
    `critic_verdict` (judge_text, label).

    >>> j = "<think>(b) is wrong.</think> Therefore, Response (a) is better."
    >>> critic_pair(j, "<think></think> Therefore, Response (b) is better.", "a", "binary").rule
    'dropped: critic trace empty'
    """
    judge = parse_judgment(judge_text, fmt, truncated=judge_truncated)
    right = is_right(judge, label)
    asked = other_side(label) if right else label
    critic = parse_judgment(critic_text, fmt, truncated=critic_truncated)
    if not critic.format_ok or critic.verdict != asked:
        return JudgmentPair(None, None, CRITIC_OFF)
    if not critic.trace.strip():
        return JudgmentPair(None, None, CRITIC_EMPTY)
    if not judge.trace.strip():
        return JudgmentPair(None, None, JUDGE_EMPTY)
    if right:
        return JudgmentPair(judge_text, critic_text, JUDGE_RIGHT)
    return JudgmentPair(critic_text, judge_text, JUDGE_WRONG if judge.format_ok else JUDGE_UNPARSABLE)


def sampling_pair(samples: list[tuple[str, bool]], label: str, fmt: str) -> JudgmentPair:
    """Best and worst of n samples ``(text, truncated)``: the first right one and the first wrong one.

    A wrong sample is a wrong verdict or an unparsable reply; a right one needs a non-empty trace.

    >>> s = [("x. Therefore, Response (b) is better.", False), ("y. Therefore, Response (a) is better.", False)]
    >>> p = sampling_pair(s, "a", "binary"); (p.chosen[:1], p.rejected[:1])
    ('y', 'x')
    """
    right = wrong = None
    for text, truncated in samples:
        judgment = parse_judgment(text, fmt, truncated=truncated)
        if is_right(judgment, label) and judgment.trace.strip():
            right = text if right is None else right
        elif not is_right(judgment, label):
            wrong = text if wrong is None else wrong
    if right is None:
        return JudgmentPair(None, None, ALL_WRONG)
    if wrong is None:
        return JudgmentPair(None, None, ALL_RIGHT)
    return JudgmentPair(right, wrong, SAMPLED)


def position_consistent(text_ab: str, text_ba: str, label_ab: str, fmt: str) -> bool:
    """RISE-Judge's filter: right in order "ab" AND right with the responses swapped.

    >>> position_consistent("Therefore, Response (a) is better.", "Therefore, Response (b) is better.", "a", "binary")
    True
    >>> position_consistent("Therefore, Response (a) is better.", "Therefore, Response (a) is better.", "a", "binary")
    False
    """
    return is_right(parse_judgment(text_ab, fmt), label_ab) and is_right(
        parse_judgment(text_ba, fmt), other_side(label_ab)
    )


def balance_length(items: list, better_is_longer: list[bool], seed: int = 0) -> tuple[list, int]:
    """Drop items at random from the larger group so the better response is the longer one in
    exactly half of what is kept (RISE-Judge's length-bias balance). Returns (kept, dropped count).

    >>> balance_length(["a", "b", "c", "d"], [True, True, True, False])
    (['b', 'd'], 2)
    """
    longer = [i for i, flag in enumerate(better_is_longer) if flag]
    shorter = [i for i, flag in enumerate(better_is_longer) if not flag]
    big, small = (longer, shorter) if len(longer) >= len(shorter) else (shorter, longer)
    keep = set(small) | set(random.Random(seed).sample(big, len(small)))
    return [item for i, item in enumerate(items) if i in keep], len(items) - len(keep)


# Rows in trl's conversational formats


def dpo_row(prompt: list[dict], chosen: str, rejected: str, **extra) -> dict:
    """A DPO row: the judge prompt and the chosen / rejected judgments as assistant turns."""
    return {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        **extra,
    }


def bt_rows(pairs) -> list[dict]:
    """Bradley-Terry rows: the conversation, the better response as chosen, the worse as rejected.

    >>> from thinkj_verl.data.pairs import Pair

    >>> from thinkj_verl.ground_truth import GroundTruth
    >>> row = bt_rows([Pair("p", "s", [{"role": "user", "content": "2+2?"}], "5", "4", GroundTruth("b"))])[0]
    >>> row["chosen"], row["rejected"]
    ([{'role': 'assistant', 'content': '4'}], [{'role': 'assistant', 'content': '5'}])
    """
    rows = []
    for pair in pairs:
        better, worse = pair.better_and_worse()
        rows.append(dpo_row([dict(m) for m in pair.conversation], better, worse, pair_id=pair.id))
    return rows


# Generation at the edge


def build_critic_pairs(pairs, judge: str, critic: str, fmt: str, *, rounds: int = 1, orders: str = "random",
                       seed: int = 0, **generation) -> tuple[list[dict], Counter]:
    """Critic-guided DPO rows: judge every (pair, order), ask the critic, apply `critic_pair`."""
    from thinkj_verl.data.rows import pair_orders
    from thinkj_verl.generation import generate
    from thinkj_verl.prompts import critic_messages, judge_messages, label_for

    judge_temperature = generation.pop("temperature", 1.0)
    critic_temperature = generation.pop("critic_temperature", 0.0)
    shown = pair_orders(pairs, orders, seed)
    rows, counts, seen = [], Counter(), set()
    for round_no in range(rounds):
        prompts = [judge_messages(pair, fmt, order) for pair, order in shown]
        judged = [g[0] for g in generate(judge, prompts, temperature=judge_temperature, seed=seed + round_no,
                                         **generation)]
        labels = [label_for(pair, order).better for pair, order in shown]
        asked = [critic_verdict(g.text, label, fmt, g.truncated) for g, label in zip(judged, labels)]
        critic_prompts = [critic_messages(pair, fmt, order, verdict) for (pair, order), verdict in zip(shown, asked)]
        critiques = [g[0] for g in generate(critic, critic_prompts, temperature=critic_temperature,
                                            seed=seed + round_no, **generation)]
        for (pair, order), prompt, label, j, c in zip(shown, prompts, labels, judged, critiques):
            made = critic_pair(j.text, c.text, label, fmt, judge_truncated=j.truncated, critic_truncated=c.truncated)
            if made.ok and (pair.id, order, made.chosen, made.rejected) in seen:
                counts["dropped: same pair as an earlier round"] += 1
                continue
            counts[made.rule] += 1
            if made.ok:
                seen.add((pair.id, order, made.chosen, made.rejected))
                rows.append(dpo_row(prompt, made.chosen, made.rejected, pair_id=pair.id, order=order,
                                    rule=made.rule, round=round_no + 1))
    return rows, counts


def build_sampling_pairs(pairs, judge: str, fmt: str, *, n: int, orders: str = "random", seed: int = 0,
                         **generation) -> tuple[list[dict], Counter, list[tuple]]:
    """Sampling baseline rows from ``n`` judge samples per (pair, order); also returns the samples."""
    from thinkj_verl.data.rows import pair_orders
    from thinkj_verl.generation import generate
    from thinkj_verl.prompts import judge_messages, label_for

    shown = pair_orders(pairs, orders, seed)
    prompts = [judge_messages(pair, fmt, order) for pair, order in shown]
    samples = generate(judge, prompts, n=n, seed=seed, **generation)
    rows, counts = [], Counter()
    for (pair, order), prompt, outputs in zip(shown, prompts, samples):
        made = sampling_pair([(g.text, g.truncated) for g in outputs], label_for(pair, order).better, fmt)
        counts[made.rule] += 1
        if made.ok:
            rows.append(dpo_row(prompt, made.chosen, made.rejected, pair_id=pair.id, order=order, rule=made.rule))
    return rows, counts, list(zip(shown, prompts, samples))


def rise_sft_rows(sampled, fmt: str, seed: int = 0) -> tuple[list[dict], Counter]:
    """RISE-Judge SFT rows from samples in both orders: position-consistent, then length-balanced."""
    from thinkj_verl.prompts import label_for

    by_pair: dict[str, dict[str, tuple]] = {}
    for (pair, order), prompt, outputs in sampled:
        by_pair.setdefault(pair.id, {})[order] = (pair, prompt, outputs)
    rows, better_longer, counts = [], [], Counter()
    for pair_id, shown in by_pair.items():
        if set(shown) != {"ab", "ba"}:
            counts["dropped: not judged in both orders"] += 1
            continue
        pair, prompt_ab, outputs_ab = shown["ab"]
        _, prompt_ba, outputs_ba = shown["ba"]
        label_ab = label_for(pair, "ab").better
        consistent = [
            (a.text, b.text) for a, b in zip(outputs_ab, outputs_ba)
            if not a.truncated and not b.truncated and position_consistent(a.text, b.text, label_ab, fmt)
        ]
        if not consistent:
            counts["dropped: no position-consistent sample"] += 1
            continue
        text_ab, text_ba = consistent[0]
        better, worse = pair.better_and_worse()
        for prompt, text in ((prompt_ab, text_ab), (prompt_ba, text_ba)):
            rows.append({"messages": [*prompt, {"role": "assistant", "content": text}], "pair_id": pair_id})
            better_longer.append(len(better) > len(worse))
    rows, dropped = balance_length(rows, better_longer, seed)
    counts["kept: position-consistent, length-balanced"] = len(rows)
    if dropped:
        counts["dropped: length balance"] = dropped
    return rows, counts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="thinkj pairs",
        description="Preference pairs of judgments for DPO: critic-guided (Think-J), sampling, RISE-Judge; "
                    "or Bradley-Terry rows.",
    )
    parser.add_argument("--data", required=True, help="canonical pair file (.jsonl/.parquet)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--method", default="critic", choices=METHODS)
    parser.add_argument("--judge", help="judge model path (critic, sampling, rise)")
    parser.add_argument("--critic", help="critic model path (critic)")
    parser.add_argument("--format", default="strength")
    parser.add_argument("--rounds", type=argtypes.positive_int, default=1, help="critic: rounds of judging and critiquing")
    parser.add_argument("--n", type=argtypes.positive_int, default=8, help="sampling/rise: samples per item (RISE-Judge: 6)")
    parser.add_argument("--orders", default="balanced", choices=("ab", "both", "balanced", "random"),
                        help="orders each pair is shown in (rise always uses both)")
    parser.add_argument("--temperature", type=argtypes.non_negative_float, default=1.0, help="judge sampling temperature (RISE: 0.9)")
    parser.add_argument("--critic-temperature", type=argtypes.non_negative_float, default=0.0)
    parser.add_argument("--max-new-tokens", type=argtypes.positive_int, default=2048)
    add_engine_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    needs = {"critic": ("judge", "critic"), "sampling": ("judge",), "rise": ("judge",), "bt": ()}[options.method]
    missing = [f"--{name}" for name in needs if not getattr(options, name)]
    if missing:
        parser.error(f"--method {options.method} needs {' '.join(missing)}")

    from thinkj_verl.data.pairs import read_pairs
    from thinkj_verl.generation import resolve_backend
    from thinkj_verl.files import write_json, write_jsonl

    out = Path(options.out)
    generation = dict(backend=resolve_backend(options.backend), max_new_tokens=options.max_new_tokens,
                      **engine_options(options))
    try:
        pairs = read_pairs(options.data)
        written = {}
        if options.method == "bt":
            rows, counts = bt_rows(pairs), Counter({"bt rows": len(pairs)})
            written["bt.jsonl"] = rows
        elif options.method == "critic":
            rows, counts = build_critic_pairs(
                pairs, options.judge, options.critic, options.format, rounds=options.rounds, orders=options.orders,
                seed=options.seed, temperature=options.temperature, critic_temperature=options.critic_temperature,
                **generation)
            written["dpo.jsonl"] = rows
        else:
            orders = "both" if options.method == "rise" else options.orders
            rows, counts, sampled = build_sampling_pairs(
                pairs, options.judge, options.format, n=options.n, orders=orders, seed=options.seed,
                temperature=options.temperature, **generation)
            written["dpo.jsonl"] = rows
            if options.method == "rise":
                sft, sft_counts = rise_sft_rows(sampled, options.format, options.seed)
                written["sft.jsonl"] = sft
                counts.update({f"sft {k}": v for k, v in sft_counts.items()})
        for name, rows in written.items():
            write_jsonl(out / name, rows)
        report = {"method": options.method, "pairs_read": len(pairs), "format": options.format,
                  "rounds": options.rounds if options.method == "critic" else None,
                  "written": {name: len(rows) for name, rows in written.items()}, "rules": dict(counts)}
        write_json(out / "report.json", report)
    except (FileNotFoundError, ValueError) as error:
        print(f"thinkj pairs: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # --out under a file, or a folder that cannot be written
        print(f"thinkj pairs: {error.filename}: {error.strerror}; check --out", file=sys.stderr)
        return 2
    print(f"{options.method}: read {len(pairs)} pairs")
    for rule, count in counts.most_common():
        print(f"  {count:6d}  {rule}")
    for name, rows in written.items():
        print(f"wrote {len(rows)} rows to {out / name}")
    return 0
