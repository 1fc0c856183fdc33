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
canonical order; ``random`` picks one order per pair with a seeded shuffle that puts the
better response at (a) for exactly half of the pairs (one more for an odd count), whatever
the source's own balance.

>>> from thinkj_verl.data.pairs import Pair
>>> pairs = [Pair(f"p:{i}", "local", [{"role": "user", "content": "q"}], "x", "y", "a") for i in range(4)]
>>> orders = assign_orders(pairs, "random", seed=0)
>>> sorted(label_for(p, o[0]).better for p, o in zip(pairs, orders))
['a', 'a', 'b', 'b']
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Sequence

from thinkj_verl.data.pairs import json_safe
from thinkj_verl.prompts import judge_messages, label_for

ORDER_POLICIES = ("both", "random", "ab")
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


def row_arrow_schema():
    """The parquet schema of judge rows (one struct type for every row)."""
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


def assign_orders(pairs: Sequence, policy: str, seed=0, epoch: int = 0) -> list[tuple[str, ...]]:
    """The orders each pair is shown in under ``policy`` (see the module docstring)."""
    if policy == "both":
        return [("ab", "ba")] * len(pairs)
    if policy == "ab":
        return [("ab",)] * len(pairs)
    if policy == "random":
        positions = balanced_better_positions(len(pairs), seed, epoch)
        return [("ab",) if pair.better == where else ("ba",) for pair, where in zip(pairs, positions)]
    raise ValueError(f"order policy must be one of {ORDER_POLICIES}, got {policy!r}")


def _counting_backend(tokenizer):
    """The Rust tokenizer without the padding or truncation its tokenizer.json may switch on.

    Sentence-embedding tokenizers, for one, pad and cut every text to 128 tokens: counted as is,
    every prompt would be 128 tokens long.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    backend = copy.deepcopy(backend)
    backend.no_padding()
    backend.no_truncation()
    return backend


class PieceLengths:
    """Token counts of judge prompts with every text tokenized once, for large inputs.

    A judge prompt in chat form is fixed template text around three variable pieces: the
    conversation block and the two responses. Both orders of a pair hold the same pieces, so
    their counts are ``sum(template pieces) + conversation + response_a + response_b``; each
    piece is tokenized once, in batches, instead of every full prompt in every order (about 3x
    less tokenizer work for ``both``).

    Joining pieces can merge or split a token at each of the six joins, so a piecewise count
    can differ from the full count by a few tokens. `measure` therefore checks a sample
    against full tokenization, and `filter` re-counts every prompt within ``margin`` tokens of
    the limit in full, so keep/drop decisions are those of a full count. When the chat template
    does not reproduce the pieces verbatim (or the sample disagrees by more than half the
    margin) every prompt is counted in full.
    """

    SENTINELS = ("\x00thinkj-conversation\x00", "\x00thinkj-response-1\x00", "\x00thinkj-response-2\x00")

    def __init__(self, tokenizer, fmt: str, batch_size: int = 1024, margin: int = 48, sample: int = 64, **template_kwargs):
        self.tokenizer = tokenizer
        self.fmt = fmt
        self.batch_size = batch_size
        self.margin = margin
        self.sample = sample
        self.template_kwargs = template_kwargs
        self.max_sample_error: int | None = None
        self.exact_counts = 0
        self._backend = _counting_backend(tokenizer)
        self.template_pieces = self._template_pieces()

    def _chat_text(self, pair, order: str) -> str:
        return self.tokenizer.apply_chat_template(
            judge_messages(pair, self.fmt, order), add_generation_prompt=True, tokenize=False, **self.template_kwargs
        )

    def _template_pieces(self) -> list[str] | None:
        from thinkj_verl.data.pairs import Pair
        from thinkj_verl.prompts import render_conversation

        conversation_marker, first, second = self.SENTINELS
        probe = Pair("probe", "probe", [{"role": "user", "content": conversation_marker}], first, second, "a")
        text = self._chat_text(probe, "ab")
        block = render_conversation(probe.conversation)
        pieces, rest = [], text
        for marker in (block, first, second):
            if rest.count(marker) != 1:
                return None  # the template rewrote the content: count in full
            head, rest = rest.split(marker)
            pieces.append(head)
        pieces.append(rest)
        return pieces

    def _count(self, texts: list[str]) -> list[int]:
        backend = self._backend
        counts: list[int] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            if backend is not None and hasattr(backend, "encode_batch_fast"):
                # len() of an Encoding is its token count: no Python list of ids is built.
                counts.extend(len(e) for e in backend.encode_batch_fast(batch, add_special_tokens=False))
            else:
                counts.extend(len(ids) for ids in self.tokenizer(batch, add_special_tokens=False)["input_ids"])
        return counts

    def full(self, pairs, orders: Sequence[str]) -> list[list[int]]:
        """Exact counts: every prompt rendered and tokenized in full (per pair, per order)."""
        counts = iter(self._count([self._chat_text(pair, order) for pair in pairs for order in orders]))
        self.exact_counts += len(pairs) * len(orders)
        return [[next(counts) for _ in orders] for _ in pairs]

    def measure(self, pairs, orders: Sequence[str]) -> list[list[int]]:
        """Per pair, per order: the piecewise count (or the full one, see the class docstring)."""
        from thinkj_verl.prompts import render_conversation

        if self.template_pieces is None or not pairs:
            return self.full(pairs, orders)
        fixed = sum(self._count(self.template_pieces))
        texts = []
        for pair in pairs:
            texts += [render_conversation(pair.conversation), pair.response_a, pair.response_b]
        counts = self._count(texts)
        estimates = [fixed + sum(counts[3 * i : 3 * i + 3]) for i in range(len(pairs))]

        # Check the estimate against full counts on an evenly spread sample.
        step = max(1, len(pairs) // self.sample)
        picked = list(range(0, len(pairs), step))[: self.sample]
        exact = self.full([pairs[i] for i in picked], orders)
        self.max_sample_error = max(abs(n - estimates[i]) for i, ns in zip(picked, exact) for n in ns)
        if 2 * self.max_sample_error > self.margin:
            return self.full(pairs, orders)
        result = [[n] * len(orders) for n in estimates]
        for i, ns in zip(picked, exact):
            result[i] = ns
        return result

    def filter(self, pairs, orders: Sequence[str], limit: int) -> tuple[list[int], list[list[int]]]:
        """Indices of the pairs whose every prompt fits in ``limit`` tokens, and their counts.

        Prompts whose piecewise count is within ``margin`` of the limit are counted in full,
        so the decision is that of a full count."""
        counts = self.measure(pairs, orders)
        near = [i for i, ns in enumerate(counts) if any(abs(n - limit) <= self.margin for n in ns)]
        for i, ns in zip(near, self.full([pairs[i] for i in near], orders)):
            counts[i] = ns
        kept = [i for i, ns in enumerate(counts) if max(ns) <= limit]
        return kept, [counts[i] for i in kept]
