"""Judge prompt lengths in the judge's tokens, for the length filter and the length statistics.

Two ways to spend less on the tokenizer:

- `PieceLengths` tokenizes each text of a pair once (the conversation block and both
  responses) instead of every full prompt in every order, and re-counts in full only the
  prompts whose piecewise count lands near the limit.
- `size_bound` reads, from the real tokenizer object, a size that its token count can never
  exceed (UTF-8 bytes for BPE, characters for WordPiece, ...). A prompt whose bound is within
  the limit is kept without tokenizing it at all; only the rest is counted.

Both are used by ``thinkj prepare`` and by `JudgePairDataset` when it drops overlong prompts.
Batches go to the Rust tokenizer's ``encode_batch``, which uses every core
(``workers=1`` keeps it to one, for comparison).
"""

from __future__ import annotations

import copy
import json
import os
import random
import statistics
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from thinkj_verl.prompts import judge_messages, render_conversation

# Normalizers that map each character on its own (no context beyond the character), so the
# normalized size of a concatenation is the sum of the normalized sizes of its parts.
_CHAR_LOCAL_NORMALIZERS = {"NFD", "NFKD", "Lowercase", "StripAccents", "BertNormalizer"}
# Composing normal forms: NFC(x) = compose(NFD(x)) and composing never makes a text longer
# (in characters or UTF-8 bytes; tests/data/test_lengths.py checks every composition in
# Unicode), so their decomposed form bounds them; only valid as the last step.
_COMPOSING = {"NFC": "NFD", "NFKC": "NFKD"}
# Pre-tokenizers that only cut the text (possibly dropping whitespace), never add to it.
_SPLITTERS = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit", "Punctuation", "Digits", "Split",
              "CharDelimiterSplit", "UnicodeScripts"}
_DROPS_WHITESPACE = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}


@dataclass(frozen=True)
class SizeBound:
    """An upper bound on a tokenizer's token count: ``tokens(t1 + t2 + ...) <= sum(bound(t_i))``.

    ``unit`` is ``"bytes"`` (UTF-8) or ``"characters"``, measured after ``normalizer`` (the
    tokenizer's own normalizer in a form that is exact per character; None: the text as is);
    with ``drops_whitespace`` spaces and newlines are not counted (the pre-tokenizer removes
    them). ASCII text is measured without normalizing: every accepted normalizer maps it to at
    most as many characters.

    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> tok = Tokenizer(models.BPE())
    >>> tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    >>> bound = size_bound(tok)[0]
    >>> bound.unit, bound("héllo")
    ('bytes', 6)
    """

    unit: str
    drops_whitespace: bool
    normalizer: object | None
    rule: str

    def __call__(self, text: str) -> int:
        if not text.isascii() and self.normalizer is not None:
            text = self.normalizer.normalize_str(text)
        if self.unit == "bytes" and not text.isascii():
            size = len(text.encode("utf-8", "surrogatepass"))
        else:
            size = len(text)
        if self.drops_whitespace:
            size -= text.count(" ") + text.count("\n")
        return size


def _state(component) -> dict | None:
    return None if component is None else json.loads(component.__getstate__())


def _flatten(state: dict | None, key: str) -> list[dict]:
    if state is None:
        return []
    if state["type"] == "Sequence":
        return [step for inner in state[key] for step in _flatten(inner, key)]
    return [state]


def _bound_normalizer(state: dict | None):
    """The normalizer to measure with (char-local steps as they are, a final NFC/NFKC as its
    decomposed form), or a string saying why there is none."""
    from tokenizers import normalizers

    steps = _flatten(state, "normalizers")
    kept = []
    for i, step in enumerate(steps):
        kind = step["type"]
        if kind in _COMPOSING and i == len(steps) - 1:
            kept.append(getattr(normalizers, _COMPOSING[kind])())
        elif kind in _CHAR_LOCAL_NORMALIZERS:
            options = {k: v for k, v in step.items() if k != "type"}
            kept.append(getattr(normalizers, kind)(**options))
        elif kind == "Strip":
            continue  # only removes text; measuring without it over-counts, which is safe
        else:
            return f"normalizer {kind} can lengthen the text"
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else normalizers.Sequence(kept)


def size_bound(tokenizer) -> tuple[SizeBound | None, str]:
    """The size bound of ``tokenizer`` (a `transformers` fast tokenizer or a `tokenizers.Tokenizer`)
    and the rule in words, or ``(None, why not)`` when no bound is known to hold for it.

    The kind is read from the tokenizer object itself: its model (BPE, WordPiece, WordLevel,
    Unigram), normalizer, pre-tokenizer and added tokens. Why the bound holds:

    - every token of a BPE or Unigram model covers at least one byte (byte-level alphabet or
      byte fallback included); a WordPiece or WordLevel token covers at least one character
      (an unknown word is one [UNK]);
    - added tokens are one token for at least one character;
    - the accepted pre-tokenizers only cut the text (ByteLevel maps one byte to one symbol;
      with ``add_prefix_space`` it adds a space, so it is refused);
    - the accepted normalizers never lengthen text beyond what the bound measures.
    """
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if not hasattr(backend, "get_added_tokens_decoder"):
        return None, "not a fast (Rust) tokenizer"
    model = type(backend.model).__name__
    if model not in ("BPE", "Unigram", "WordPiece", "WordLevel"):
        return None, f"model {model} has no known bound"
    normalizer = _bound_normalizer(_state(backend.normalizer))
    if isinstance(normalizer, str):
        return None, normalizer
    byte_symbols = False
    splitters = _flatten(_state(backend.pre_tokenizer), "pretokenizers")
    for step in splitters:
        kind = step["type"]
        if kind == "ByteLevel":
            if step.get("add_prefix_space"):
                return None, "pre-tokenizer ByteLevel(add_prefix_space=True) adds text"
            byte_symbols = True
        elif kind not in _SPLITTERS:
            return None, f"pre-tokenizer {kind} can lengthen the text"
    unit = "bytes" if model in ("BPE", "Unigram") or byte_symbols else "characters"
    added = [t.content for t in backend.get_added_tokens_decoder().values()]
    drops_whitespace = (
        len(splitters) == 1 and splitters[0]["type"] in _DROPS_WHITESPACE and not any(not t.strip() for t in added)
    )
    normalized = "normalized " if normalizer is not None else ""
    rule = (f"{model}: tokens <= {unit} of the {normalized}text"
            + (" without spaces and newlines" if drops_whitespace else ""))
    return SizeBound(unit, drops_whitespace, normalizer, rule), rule


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


@contextmanager
def _parallelism(enabled: bool):
    """Switch the Rust tokenizer's batch parallelism (read from the environment at each call)."""
    key = "TOKENIZERS_PARALLELISM"
    before = os.environ.get(key)
    os.environ[key] = "true" if enabled else "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


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

    `filter` first keeps, uncounted, every pair whose `size_bound` fits the limit (the same
    bound holds for the full prompt: it is the sum of its pieces' bounds). ``workers=1`` keeps
    the tokenizer on one core; by default its batches use every core.
    """

    SENTINELS = ("\x00thinkj-conversation\x00", "\x00thinkj-response-1\x00", "\x00thinkj-response-2\x00")

    def __init__(self, tokenizer, fmt: str, batch_size: int = 1024, margin: int = 48, sample: int = 64,
                 workers: int | None = None, **template_kwargs):
        self.tokenizer = tokenizer
        self.fmt = fmt
        self.batch_size = batch_size
        self.margin = margin
        self.sample = sample
        self.workers = workers
        self.template_kwargs = template_kwargs
        self.max_sample_error: int | None = None
        self.exact_counts = 0
        self.counted = 0  # prompts given a token count
        self.kept_by_bound = 0  # prompts kept on their size bound, never tokenized
        self._backend = _counting_backend(tokenizer)
        self.template_pieces = self._template_pieces()
        self.bound, self.bound_rule = size_bound(tokenizer)
        if self.template_pieces is None and self.bound is not None:
            self.bound, self.bound_rule = None, "the chat template rewrites the content"

    def _chat_text(self, pair, order: str) -> str:
        return self.tokenizer.apply_chat_template(
            judge_messages(pair, self.fmt, order), add_generation_prompt=True, tokenize=False, **self.template_kwargs
        )

    def _template_pieces(self) -> list[str] | None:
        from thinkj_verl.data.pairs import Pair
        from thinkj_verl.ground_truth import GroundTruth

        conversation_marker, first, second = self.SENTINELS
        probe = Pair("probe", "probe", [{"role": "user", "content": conversation_marker}], first, second, GroundTruth("a"))
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
        with _parallelism(self.workers != 1):
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
        self.counted += len(pairs) * len(orders)
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
        error = max(abs(n - estimates[i]) for i, ns in zip(picked, exact) for n in ns)
        self.max_sample_error = max(error, self.max_sample_error or 0)
        if 2 * error > self.margin:
            return self.full(pairs, orders)
        result = [[n] * len(orders) for n in estimates]
        for i, ns in zip(picked, exact):
            result[i] = ns
        return result

    def bounds(self, pairs) -> list[int] | None:
        """Per pair, the size bound of each of its prompts (one value: every order holds the same
        pieces), or None when the tokenizer has no known bound."""
        if self.bound is None:
            return None
        bound = self.bound
        fixed = sum(bound(piece) for piece in self.template_pieces)
        return [fixed + bound(render_conversation(p.conversation)) + bound(p.response_a) + bound(p.response_b)
                for p in pairs]

    def filter(self, pairs, orders: Sequence[str], limit: int) -> tuple[list[int], list[list[int] | None]]:
        """Indices of the pairs whose every prompt fits in ``limit`` tokens, and their counts
        (None for a pair kept on its size bound, never tokenized).

        Prompts whose piecewise count is within ``margin`` of the limit are counted in full,
        so the decision is that of a full count."""
        bounds = self.bounds(pairs)
        if bounds is None:
            fits, rest = [], list(range(len(pairs)))
        else:
            fits = [i for i, b in enumerate(bounds) if b <= limit]
            rest = [i for i, b in enumerate(bounds) if b > limit]
        self.kept_by_bound += len(fits) * len(orders)
        counted = [pairs[i] for i in rest]
        counts = self.measure(counted, orders)
        near = [i for i, ns in enumerate(counts) if any(abs(n - limit) <= self.margin for n in ns)]
        for i, ns in zip(near, self.full([counted[i] for i in near], orders)):
            counts[i] = ns
        found: dict[int, list[int] | None] = dict.fromkeys(fits)
        found.update((rest[i], ns) for i, ns in enumerate(counts) if max(ns) <= limit)
        kept = sorted(found)
        return kept, [found[i] for i in kept]

    def describe(self) -> dict:
        """How this counter's prompts were counted, for ``summary.json``."""
        return {
            "method": "full" if self.template_pieces is None else "piecewise, full near the limit",
            "size_bound": self.bound_rule if self.bound is not None else f"none ({self.bound_rule})",
            "kept_by_size_bound": self.kept_by_bound,
            "counted": self.counted,
            "full_counts": self.exact_counts,
            "max_piecewise_error_on_sample": self.max_sample_error,
        }


def length_stats(lengths: list[int], unit: str) -> dict:
    """Count, min, mean, p50, p95 and max of ``lengths``.

    >>> length_stats([3, 1, 2], "tokens")
    {'unit': 'tokens', 'count': 3, 'min': 1, 'mean': 2.0, 'p50': 2, 'p95': 3, 'max': 3}
    """
    if not lengths:
        return {"unit": unit, "count": 0}
    ordered = sorted(lengths)
    return {
        "unit": unit,
        "count": len(ordered),
        "min": ordered[0],
        "mean": round(statistics.fmean(ordered), 1),
        "p50": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


STATS_SAMPLE = 1000


def token_length_stats(rows: list[tuple], counters: dict, seed, sample: int = STATS_SAMPLE) -> dict:
    """Token length statistics of the written prompts.

    ``rows`` holds ``(format, pair, order, count or None)`` per written prompt. When every
    prompt was counted the statistics cover them all; otherwise they are computed on a seeded
    random sample of ``sample`` prompts (any uncounted one counted now), never on the counted
    prompts alone, which are the long ones, and say so under ``sample``.
    """
    counted = {fmt: counter.describe() for fmt, counter in counters.items()}  # before the sample adds to it
    if all(count is not None for *_, count in rows):
        stats = length_stats([count for *_, count in rows], "tokens")
    else:
        picked = sorted(random.Random(f"thinkj-lengths:{seed}").sample(range(len(rows)), min(sample, len(rows))))
        lengths = [rows[i][3] for i in picked if rows[i][3] is not None]
        for fmt, counter in counters.items():
            for order in ("ab", "ba"):
                todo = [rows[i][1] for i in picked if rows[i][3] is None and rows[i][0] == fmt and rows[i][2] == order]
                lengths += [ns[0] for ns in counter.measure(todo, (order,))] if todo else []
        stats = length_stats(lengths, "tokens")
        if len(picked) < len(rows):
            stats["sample"] = {"prompts": len(picked), "of": len(rows), "seed": seed,
                               "why": "prompts kept on their size bound were not counted"}
    stats["counted"] = counted
    return stats
