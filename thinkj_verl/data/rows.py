"""Canonical pairs -> judge-training rows in verl's RLHFDataset layout, and the order policies.

Shared by ``thinkj prepare`` (which writes the rows to parquet) and `JudgePairDataset`
(which builds them at load time), so both routes give verl identical rows.

One row::

    {
      "data_source": "thinkj/<pair source>",
      "prompt": [{"role": "user", "content": <judge prompt>}],
      "ability": "judge",
      "reward_model": {"style": "rule", "ground_truth": {"better", "strength", "scores"}},
      "extra_info": {"pair_id", "order", "source", "subset", "format", "index", "meta"},
    }

``ground_truth`` is the label as the judge sees it in that order (`thinkj_verl.prompts.label_for`),
with every key present (None where absent) so parquet stores one struct type. ``meta`` is
the pair's meta as JSON text.

Order policies: ``both`` emits every pair in both orders (same pair id); ``ab`` keeps the
canonical order; ``balanced`` picks one order per pair with a seeded shuffle that puts the
better response at (a) for exactly half of the pairs (one more for an odd count), whatever
the source's own balance; ``pair`` emits one row per pair for J1 sessions (`pair_row`: the
``thinkj_pair`` agent loop renders both orders, or both responses for the pointwise format).
``random`` is the older name of ``balanced`` and is still accepted.
(``thinkj eval --orders random`` is a different draw: an independent seeded coin per pair,
so a subset of a benchmark gets the same orders; see `thinkj_verl.eval.run.plan_orders`.)

>>> from thinkj_verl.data.pairs import Pair
>>> from thinkj_verl.ground_truth import GroundTruth
>>> pairs = [Pair(f"p:{i}", "local", [{"role": "user", "content": "q"}], "x", "y", GroundTruth("a")) for i in range(4)]
>>> orders = assign_orders(pairs, "balanced", seed=0)
>>> sorted(label_for(p, o[0]).better for p, o in zip(pairs, orders))
['a', 'a', 'b', 'b']
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

from thinkj_verl.files import json_safe
from thinkj_verl.prompts import judge_messages, label_for, session_messages

BALANCED = "balanced"
# Older names still accepted, and the policy each stands for.
ORDER_POLICY_ALIASES = {"random": BALANCED}
PAIR_ORDER = "pair"  # one row per pair (J1 sessions); also the extra_info.order of such a row
ORDER_POLICIES = ("both", BALANCED, "ab", PAIR_ORDER, *ORDER_POLICY_ALIASES)
DATA_SOURCE_PREFIX = "thinkj/"
ABILITY = "judge"


def judge_row(pair, fmt: str, order: str, index: int) -> dict:
    """One verl RLHFDataset row: the judge prompt of ``pair`` in ``order`` and its label."""
    return {
        "data_source": DATA_SOURCE_PREFIX + pair.source,
        "prompt": judge_messages(pair, fmt, order),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": label_for(pair, order).to_dict()},
        "extra_info": {
            "pair_id": pair.id,
            "order": order,
            "source": pair.source,
            "subset": pair.subset,
            "format": fmt,
            "index": index,
            "meta": json.dumps(json_safe(pair.meta), sort_keys=True, allow_nan=False),
        },
    }


def pair_row(pair, fmt: str, index: int) -> dict:
    """One row per pair (``--orders pair``, J1): the session's first prompt as ``prompt`` (what
    verl's length filter and bookkeeping read), the canonical label (order ab), ``extra_info.order``
    = ``pair`` and the pair itself as JSON in ``extra_info.pair``, from which the ``thinkj_pair``
    agent loop renders every prompt of the session (`thinkj_verl.prompts.session_messages`).

    >>> from thinkj_verl.data.pairs import Pair
    >>> from thinkj_verl.ground_truth import GroundTruth
    >>> row = pair_row(Pair("p:0", "local", [{"role": "user", "content": "q"}], "x", "y", GroundTruth("b")), "pointwise", 0)
    >>> row["extra_info"]["order"], row["reward_model"]["ground_truth"]["better"], json.loads(row["extra_info"]["pair"])["response_b"]
    ('pair', 'b', 'y')
    """
    _, first_prompt = session_messages(pair, fmt)[0]
    row = judge_row(pair, fmt, "ab", index)
    row["prompt"] = first_prompt
    row["extra_info"]["order"] = PAIR_ORDER
    row["extra_info"]["pair"] = json.dumps(json_safe(pair.to_dict()), sort_keys=True, allow_nan=False)
    return row


def row_arrow_schema(pair_rows: bool = False):
    """The parquet schema of judge rows (one struct type for every row); ``pair_rows``: with
    ``extra_info.pair`` (`pair_row`)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("data_source", pa.string()),
            ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
            ("ability", pa.string()),
            (
                "reward_model",
                pa.struct(
                    [
                        ("style", pa.string()),
                        (
                            "ground_truth",
                            pa.struct(
                                [
                                    ("better", pa.string()),
                                    ("strength", pa.int64()),
                                    ("scores", pa.list_(pa.float64())),
                                ]
                            ),
                        ),
                    ]
                ),
            ),
            (
                "extra_info",
                pa.struct(
                    [
                        ("pair_id", pa.string()),
                        ("order", pa.string()),
                        ("source", pa.string()),
                        ("subset", pa.string()),
                        ("format", pa.string()),
                        ("index", pa.int64()),
                        ("meta", pa.string()),
                        *([("pair", pa.string())] if pair_rows else []),
                    ]
                ),
            ),
        ]
    )


def balanced_better_positions(count: int, seed, epoch: int = 0) -> list[str]:
    """Where the better response goes ('a' or 'b') for each of ``count`` pairs: exactly half
    each way (the odd one out by a seeded coin), in a seeded random arrangement.

    >>> sorted(balanced_better_positions(4, seed=1))
    ['a', 'a', 'b', 'b']
    >>> balanced_better_positions(6, seed=1) == balanced_better_positions(6, seed=1)
    True
    """
    rng = random.Random(f"thinkj-orders:{seed}:{epoch}")
    half = count // 2
    positions = ["a"] * half + ["b"] * half
    if count % 2:
        positions.append(rng.choice("ab"))
    rng.shuffle(positions)
    return positions


def pair_orders(pairs: Sequence, policy: str, seed=0) -> list[tuple]:
    """Every ``(pair, order)`` the judge is shown under ``policy`` (`assign_orders`, flattened).

    >>> from thinkj_verl.data.pairs import Pair
    >>> from thinkj_verl.ground_truth import GroundTruth
    >>> pair = Pair("p:0", "local", [{"role": "user", "content": "q"}], "x", "y", GroundTruth("a"))
    >>> [order for _, order in pair_orders([pair], "both")]
    ['ab', 'ba']
    """
    return [(pair, order) for pair, orders in zip(pairs, assign_orders(pairs, policy, seed)) for order in orders]


def canonical_policy(policy: str) -> str:
    """The order policy ``policy`` names, an older alias read as its current name.

    >>> canonical_policy("random"), canonical_policy("both")
    ('balanced', 'both')
    """
    return ORDER_POLICY_ALIASES.get(policy, policy)


def assign_orders(pairs: Sequence, policy: str, seed=0, epoch: int = 0) -> list[tuple[str, ...]]:
    """The orders each pair is shown in under ``policy`` (see the module docstring)."""
    policy = canonical_policy(policy)
    if policy == "both":
        return [("ab", "ba")] * len(pairs)
    if policy in ("ab", PAIR_ORDER):  # a pair row carries the canonical (ab) label
        return [("ab",)] * len(pairs)
    if policy == BALANCED:
        positions = balanced_better_positions(len(pairs), seed, epoch)
        return [("ab",) if pair.label.better == where else ("ba",) for pair, where in zip(pairs, positions)]
    raise ValueError(f"order policy must be one of {ORDER_POLICIES}, got {policy!r}")
