"""``thinkj clip``: trace clipping of reasoning-model judgments (Think-J section 3.1).

A reasoning model (DeepSeek-R1 in the paper) answers with a long reasoning part and then a
short summarizing explanation that ends in the final sentence. Clipping keeps only the
explanation as the thinking trace:

    <think>\\n{explanation}\\n</think>\\n\\n{final sentence}

The final sentence is read by the one parser (`thinkj_verl.parser.parse_judgment`) and written
back in its canonical form (`OutputFormat.render`), so a clipped trace always parses.
An output that cannot be clipped gets a reason, and ``thinkj clip`` counts them.

>>> r = clip_trace("<think>Long musing...</think>\\n(a) is correct; (b) is not. "
...                "Therefore, Response (a) is better, and the strength is [[3]].")
>>> print(r.text)
<think>
(a) is correct; (b) is not.
</think>
<BLANKLINE>
Therefore, Response (a) is better, and the strength is [[3]].
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from thinkj_verl.files import write_json, write_jsonl
from thinkj_verl.formats import THINK_CLOSE, THINK_OPEN, get_format
from thinkj_verl.parser import Judgment, parse_judgment

# Reasons an output cannot be clipped, besides the parser's own (no final sentence, ...).
EMPTY_EXPLANATION = "empty explanation before the final sentence"
UNFINISHED_REASONING = "reasoning never closed with </think>"
NOT_TEXT = "output is not text"
NOT_OBJECT = "row is not a JSON object"
BAD_TRUNCATED = "truncated is not true or false"


@dataclass(frozen=True)
class Clipped:
    """A clipping outcome: ``text`` is None exactly when ``reason`` says why it failed."""

    text: str | None
    reason: str
    judgment: Judgment | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


def render_judgment(explanation: str, final_sentence: str) -> str:
    """The judge's target text: the explanation as thinking, then the final sentence.

    >>> render_judgment("(b) is wrong.", "Therefore, Response (a) is better.")
    '<think>\\n(b) is wrong.\\n</think>\\n\\nTherefore, Response (a) is better.'
    """
    return f"{THINK_OPEN}\n{explanation.strip()}\n{THINK_CLOSE}\n\n{final_sentence}"


def _summary(text: str) -> str | None:
    # The explanation is what follows the reasoning part; without a reasoning part the
    # whole output is the explanation (an API that returns the reasoning separately).
    close = text.rfind(THINK_CLOSE)
    if close >= 0:
        return text[close + len(THINK_CLOSE) :]
    if THINK_OPEN in text:
        return None
    return text


def _drop_final_lead_in(explanation: str) -> str:
    # Some final sentences match from their middle (the scores sentence matches from "are
    # [[..]]"); the lead-in "Therefore, the quality scores ..." then ends the explanation.
    at = explanation.rfind("Therefore")
    if at >= 0 and "." not in explanation[at:].rstrip(" :,"):
        return explanation[:at].rstrip()
    return explanation


def clip_trace(output, fmt: str = "strength", *, truncated: bool = False) -> Clipped:
    """Clip one reasoning-model output in output format ``fmt``.

    ``truncated``: the output was cut at its generation limit (never clipped).

    >>> clip_trace("<think>hmm", "binary").reason
    'reasoning never closed with </think>'
    >>> clip_trace("Therefore, Response (b) is better.", "binary").reason
    'empty explanation before the final sentence'
    """
    if not isinstance(output, str):
        return Clipped(None, NOT_TEXT)
    summary = _summary(output)
    if summary is None:
        return Clipped(None, UNFINISHED_REASONING)
    judgment = parse_judgment(summary, fmt, truncated=truncated)
    if not judgment.format_ok:
        return Clipped(None, judgment.reason, judgment)
    explanation = _drop_final_lead_in(judgment.trace)
    if not explanation.strip():
        return Clipped(None, EMPTY_EXPLANATION, judgment)
    scores = judgment.scores or (0, 0)
    final = get_format(fmt).render(
        verdict=judgment.verdict, strength=judgment.strength or 0, score_a=scores[0], score_b=scores[1]
    )
    return Clipped(render_judgment(explanation, final), "", judgment)


def clip_rows(rows, fmt: str, field: str = "output") -> tuple[list[dict], Counter]:
    """Clip ``row[field]`` of every row; returns the clipped rows and a Counter of failures.

    A clipped row keeps its keys and gains ``clipped``, ``verdict`` and ``strength``; when the
    row carries the judge prompt as ``prompt`` (chat messages), it also gains ``messages``
    (prompt + the clipped reply), ready for ``thinkj train sft``.

    >>> rows, skipped = clip_rows([{"output": "x"}, {"output": "ok. Therefore, Response (a) is better."}], "binary")
    >>> len(rows), dict(skipped)
    (1, {'no final verdict sentence': 1})
    """
    kept, skipped = [], Counter()
    for row in rows:
        if not isinstance(row, dict):
            skipped[NOT_OBJECT] += 1
            continue
        truncated = row.get("truncated")
        if truncated is not None and not isinstance(truncated, bool):
            skipped[BAD_TRUNCATED] += 1  # "false" is a non-empty string: bool() would read it as true
            continue
        result = clip_trace(row.get(field), fmt, truncated=bool(truncated))
        if not result.ok:
            skipped[result.reason] += 1
            continue
        out = dict(row)
        out.update(clipped=result.text, verdict=result.judgment.verdict, strength=result.judgment.strength)
        if isinstance(row.get("prompt"), list):
            out["messages"] = [*row["prompt"], {"role": "assistant", "content": result.text}]
        kept.append(out)
    return kept, skipped


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="thinkj clip",
        description=(
            "Clip reasoning-model judgments to <think>explanation</think> + final sentence. "
            "Input rows: jsonl/json/parquet with the output text (--field) and optionally the "
            "judge prompt as `prompt` (chat messages) and `truncated`."
        ),
    )
    parser.add_argument("--input", required=True, help="file of reasoning-model outputs")
    parser.add_argument("--out", required=True, help="output .jsonl of clipped rows")
    parser.add_argument("--format", default="strength", help="output format of the final sentence")
    parser.add_argument("--field", default="output", help="column holding the output text (default: output)")
    options = parser.parse_args(argv)
    from thinkj_verl.data.pairs import read_records

    try:
        get_format(options.format)
        rows = list(read_records(options.input))  # parquet rows arrive as a stream
        first = next((row for row in rows if isinstance(row, dict)), None)
        if first is not None and options.field not in first:
            raise ValueError(f"{options.input}, row {rows.index(first)} has no column {options.field!r} "
                             f"(columns: {sorted(first)}); pass --field NAME")
        kept, skipped = clip_rows(rows, options.format, options.field)
        write_jsonl(options.out, kept)
        report = {"read": len(rows), "clipped": len(kept), "not_clipped": dict(skipped)}
        write_json(Path(options.out).with_suffix(".report.json"), report)
    except (FileNotFoundError, ValueError) as error:
        print(f"thinkj clip: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # --out at a folder, under a file, or not writable
        print(f"thinkj clip: {error.filename}: {error.strerror}; check --input and --out", file=sys.stderr)
        return 2
    print(f"read {len(rows)}, clipped {len(kept)}, not clipped {sum(skipped.values())}")
    for reason, count in skipped.most_common():
        print(f"  {count:6d}  {reason}")
    print(f"wrote {options.out}")
    return 0
