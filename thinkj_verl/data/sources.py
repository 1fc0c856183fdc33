"""Converters: each preference set's own rows -> canonical `Pair` records.

``load_pairs(source, input, **options)`` reads ``input`` (a local .jsonl / .json / .parquet
file, or else a Hugging Face hub id loaded with ``datasets.load_dataset``) and returns the
pairs plus a `collections.Counter` of skipped rows by reason. Nothing is dropped silently:
every row becomes a pair or one count in that Counter.

Sources (the row schema each one reads):

- ``helpsteer2``: HelpSteer2-Preference: ``prompt`` (turns of a multi-turn prompt joined by
  ``<extra_id_1>Assistant`` / ``<extra_id_1>User`` markers), ``response_1``, ``response_2``,
  ``preference_strength`` -3..3 (negative: response_1 better; 0: tie), optional ``split``
  (becomes the subset; ``keep_split`` filters on it). The hub id ``nvidia/HelpSteer2`` loads its
  ``preference`` folder.
  response_1 becomes response_a.
- ``hh_rlhf``: Anthropic HH-RLHF: ``chosen`` and ``rejected`` full transcripts
  (``"\\n\\nHuman: ...\\n\\nAssistant: ..."``), split into the shared dialogue and the final
  assistant turns. No strength.
- ``skywork``: Skywork-Reward-Preference-80K-v0.2: ``chosen`` and ``rejected`` message lists
  sharing all but the last (assistant) message; ``source`` becomes the subset.
- ``thinkj_release``: the Think-J release's judgment files: ``instruction``, ``response1``,
  ``response2``, ``better``: 1 / 2 for (a) / (b), or the signed strength -3..3 (negative:
  response1 better) when any value in the file is outside 0 / 1 / 2; 0 is a tie.
- ``rewardbench``: RewardBench: ``prompt``, ``chosen``, ``rejected``, ``subset``, ``id``.
- ``rmbench``: RM-Bench: ``id``, ``prompt``, ``chosen`` and ``rejected`` (three style variants
  each: concise, detailed plain, detailed markdown), ``domain``. Each row gives the 3 x 3 = 9
  pairs chosen[i] vs rejected[j], with ``meta = {"item_id", "chosen_style": i,
  "rejected_style": j}``.
- ``judgebench``: JudgeBench (``ScalerLab/JudgeBench``, splits ``gpt`` and ``claude``):
  ``pair_id``, ``original_id``, ``source`` (e.g. ``mmlu-pro-law``, ``livebench-math``),
  ``question``, ``response_model``, ``response_A``, ``response_B``, ``label`` (``A>B`` or
  ``B>A``). response_A becomes response_a; the subset is the category the official
  ``run_judge.py`` groups by (`judgebench_category`).
- ``rewardbench2``: RewardBench 2 (``allenai/reward-bench-2``, split ``test``): ``id``,
  ``prompt``, ``chosen`` and ``rejected`` (lists of replies), ``num_correct``, ``subset``. A
  best-of-4 row (Factuality, Precise IF, Math, Safety, Focus) gives one pair per rejected
  reply, ``chosen[0]`` vs ``rejected[j]``; a Ties row (id ``ref:N`` or ``tied:N``) gives one
  pair per (correct, incorrect) reply, correct vs incorrect (``thinkj_verl.eval.rewardbench2``).
  A row gives all its pairs or none.
- ``local``: any file with prompt / chosen / rejected columns; ``columns={"prompt": "question",
  ...}`` maps other names (keys: prompt, chosen, rejected, id, subset). A prompt may be a string
  or a message list; chosen / rejected may be strings or message lists ending in the reply.

In every chosen/rejected source the chosen reply becomes response_a (``better="a"``); the
order the judge sees is decided later (`thinkj prepare --orders`, or the dataset class).

>>> pairs, skipped = load_pairs("rewardbench", [  # rows may also be passed directly
...     {"id": 7, "prompt": "2+2?", "chosen": "4", "rejected": "5", "subset": "math-prm"},
...     {"id": 8, "prompt": "Hi", "chosen": "Hello", "rejected": "Hello", "subset": "alpacaeval-easy"}])
>>> [(p.id, p.label.better, p.subset) for p in pairs], dict(skipped)
([('rewardbench:7', 'a', 'math-prm')], {'identical responses': 1})
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from thinkj_verl.data.pairs import Pair, PairError, read_records

# Skip reasons (the keys of the Counter load_pairs returns).
TIE = "tie"
EMPTY = "empty response"
IDENTICAL = "identical responses"
UNPARSABLE = "unparsable transcript"
MALFORMED = "malformed row"
OTHER_SPLIT = "other split"


class Skip(Exception):
    """Raised by a converter for a row that is kept out, with the reason."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class SourceError(ValueError):
    """The input as a whole does not fit the source (wrong columns, unknown source)."""


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _text(row: Mapping, key: str) -> str:
    value = row.get(key)
    if value is None:
        raise Skip(MALFORMED, f"{key!r} is missing")
    if not isinstance(value, str):
        raise Skip(MALFORMED, f"{key!r} is a {type(value).__name__}, not text")
    return value


def _messages(value, what: str) -> list[dict]:
    if not isinstance(value, (list, tuple)) or not value:
        raise Skip(MALFORMED, f"{what} is not a non-empty message list")
    out = []
    for m in value:
        if not isinstance(m, Mapping) or not isinstance(m.get("content"), str) or m.get("role") not in (
            "system",
            "user",
            "assistant",
        ):
            raise Skip(MALFORMED, f"{what} has a message without role/content")
        out.append({"role": m["role"], "content": m["content"]})
    return out


def _make_pair(**fields) -> Pair:
    """Build a pair, turning the content checks every source shares into skip reasons."""
    a, b = fields["response_a"], fields["response_b"]
    if not a.strip() or not b.strip():
        raise Skip(EMPTY)
    if a.strip() == b.strip():
        raise Skip(IDENTICAL)
    if not fields["conversation"] or not any(m["content"].strip() for m in fields["conversation"]):
        raise Skip(MALFORMED, "the prompt is empty")
    try:
        return Pair.from_dict(fields)
    except PairError as e:
        raise Skip(MALFORMED, str(e)) from None


def _split_dialogues(chosen: list[dict], rejected: list[dict]) -> tuple[list[dict], str, str]:
    """Shared prefix + the two final assistant replies of two full dialogues."""
    if chosen[-1]["role"] != "assistant" or rejected[-1]["role"] != "assistant":
        raise Skip(UNPARSABLE, "a dialogue does not end with an assistant reply")
    prefix = chosen[:-1]
    if prefix != rejected[:-1]:
        raise Skip(UNPARSABLE, "chosen and rejected do not share the dialogue before the last reply")
    if not prefix or prefix[-1]["role"] != "user":
        raise Skip(UNPARSABLE, "the dialogue before the last reply does not end with a user turn")
    return prefix, chosen[-1]["content"], rejected[-1]["content"]


def _prompt_messages(value, what: str = "prompt") -> list[dict]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return _messages(value, what)


# A tie kept with ``keep_ties``: a pair has to name a better side, so a tie is stored as
# better "a" marked ``meta["tie"]``; only `thinkj_verl.eval.metrics.tie_scores` reads it, and
# every accuracy leaves tie pairs out.
TIE_KEY = "tie"


def _tie_fields() -> dict:
    return {"better": "a", "strength": None, "meta": {TIE_KEY: True}}


def _signed_strength(value: int, column: str, options: Mapping) -> dict:
    """The label of a signed strength: -3..-1 (a) better, 1..3 (b) better, by ``abs``; 0 a tie
    (skipped unless ``keep_ties``). HelpSteer2's ``preference_strength`` and the Think-J release's
    ``better`` use this encoding."""
    if value == 0:
        if not options.get("keep_ties"):
            raise Skip(TIE)
        return _tie_fields()
    if not -3 <= value <= 3:
        raise Skip(MALFORMED, f"{column} {value} is outside the signed strength -3..3")
    return {"better": "a" if value < 0 else "b", "strength": abs(value)}


def is_tie(pair_or_meta) -> bool:
    """True for a tie kept with ``keep_ties`` (a pair, or its ``meta`` dict)."""
    meta = pair_or_meta if isinstance(pair_or_meta, Mapping) else pair_or_meta.meta
    return bool(meta.get(TIE_KEY))


# ---------------------------------------------------------------------------------------------
# Converters: (row, index, options) -> Pair, raising Skip


_HELPSTEER_TURN = re.compile(r"<extra_id_1>(User|Assistant)\n?")


def _helpsteer_conversation(prompt: str) -> list[dict]:
    pieces = _HELPSTEER_TURN.split(prompt)
    conversation = [{"role": "user", "content": pieces[0].strip()}]
    for marker, content in zip(pieces[1::2], pieces[2::2]):
        role = "user" if marker == "User" else "assistant"
        if role == conversation[-1]["role"]:
            raise Skip(UNPARSABLE, "two turns in a row from the same side")
        conversation.append({"role": role, "content": content.strip()})
    if conversation[-1]["role"] != "user":
        raise Skip(UNPARSABLE, "the prompt does not end with a user turn")
    return conversation


def convert_helpsteer2(row: Mapping, index: int, options: Mapping) -> Pair:
    wanted_split = options.get("keep_split")
    if wanted_split and row.get("split") not in (None, wanted_split):
        raise Skip(OTHER_SPLIT)
    strength = row.get("preference_strength")
    whole = isinstance(strength, int) or (isinstance(strength, float) and strength.is_integer())  # not nan/inf
    if isinstance(strength, bool) or not whole:
        raise Skip(MALFORMED, f"preference_strength {strength!r} is not an integer")
    label = _signed_strength(int(strength), "preference_strength", options)
    return _make_pair(
        id=f"helpsteer2:{index}",
        source="helpsteer2",
        conversation=_helpsteer_conversation(_text(row, "prompt")),
        response_a=_text(row, "response_1"),
        response_b=_text(row, "response_2"),
        **label,
        subset=row.get("split"),
    )


_HH_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):[ \t]?")


def _hh_dialogue(transcript: str) -> list[dict]:
    pieces = _HH_TURN.split(transcript)
    if pieces[0].strip() or len(pieces) < 3:
        raise Skip(UNPARSABLE, "the transcript does not start with a Human: turn")
    dialogue = []
    for marker, content in zip(pieces[1::2], pieces[2::2]):
        role = "user" if marker == "Human" else "assistant"
        if dialogue and dialogue[-1]["role"] == role:
            raise Skip(UNPARSABLE, "two turns in a row from the same side")
        dialogue.append({"role": role, "content": content.strip()})
    if dialogue[0]["role"] != "user":
        raise Skip(UNPARSABLE, "the transcript does not start with a Human: turn")
    return dialogue


def convert_hh_rlhf(row: Mapping, index: int, options: Mapping) -> Pair:
    chosen = _hh_dialogue(_text(row, "chosen"))
    rejected = _hh_dialogue(_text(row, "rejected"))
    conversation, a, b = _split_dialogues(chosen, rejected)
    return _make_pair(
        id=f"hh_rlhf:{index}", source="hh_rlhf", conversation=conversation, response_a=a, response_b=b, better="a"
    )


def convert_skywork(row: Mapping, index: int, options: Mapping) -> Pair:
    chosen = _messages(row.get("chosen"), "chosen")
    rejected = _messages(row.get("rejected"), "rejected")
    conversation, a, b = _split_dialogues(chosen, rejected)
    return _make_pair(
        id=f"skywork:{index}",
        source="skywork",
        conversation=conversation,
        response_a=a,
        response_b=b,
        better="a",
        subset=row.get("source"),
    )


_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]{1,9}\s*", re.ASCII)


def _release_better(value):
    """The ``better`` column as an int when it is one (or its plain text: "2", "-3"), else as is."""
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)  # "--2", "²" or a 5000-digit run stay text and count as malformed
    return value


def convert_thinkj_release(row: Mapping, index: int, options: Mapping) -> Pair:
    better = _release_better(row.get("better"))
    if isinstance(better, bool) or not isinstance(better, int):
        raise Skip(MALFORMED, f"better {better!r} is not 1, 2 or a signed strength")
    if better != 0 and options.get("better_encoding") == "choice":
        if better not in (1, 2):
            raise Skip(MALFORMED, f"better {better} is not 1 or 2")
        label = {"better": "a" if better == 1 else "b", "strength": None}
    else:
        label = _signed_strength(better, "better", options)
    return _make_pair(
        id=f"thinkj_release:{row.get('id', index)}",
        source="thinkj_release",
        conversation=_prompt_messages(_text(row, "instruction"), "instruction"),
        response_a=_text(row, "response1"),
        response_b=_text(row, "response2"),
        **label,
    )


def _release_encoding(rows) -> str:
    """``choice`` when every integer ``better`` is 0 (tie), 1 or 2, else ``strength`` (signed)."""
    values = set()
    for row in rows:
        better = _release_better(row.get("better")) if isinstance(row, Mapping) else None
        if isinstance(better, int) and not isinstance(better, bool):
            values.add(better)
    return "choice" if values <= {0, 1, 2} else "strength"


def convert_rewardbench(row: Mapping, index: int, options: Mapping) -> Pair:
    return _make_pair(
        id=f"rewardbench:{row.get('id', index)}",
        source="rewardbench",
        conversation=_prompt_messages(_text(row, "prompt")),
        response_a=_text(row, "chosen"),
        response_b=_text(row, "rejected"),
        better="a",
        subset=row.get("subset"),
    )


RMBENCH_STYLES = ("concise", "detailed_plain", "detailed_markdown")


def convert_rmbench(row: Mapping, index: int, options: Mapping) -> list[Pair]:
    chosen, rejected = row.get("chosen"), row.get("rejected")
    if not isinstance(chosen, (list, tuple)) or not isinstance(rejected, (list, tuple)):
        raise Skip(MALFORMED, "chosen and rejected must be lists of three style variants")
    if len(chosen) != 3 or len(rejected) != 3 or not all(isinstance(r, str) for r in (*chosen, *rejected)):
        raise Skip(MALFORMED, "chosen and rejected must each hold three texts")
    item_id = row.get("id", index)
    conversation = _prompt_messages(_text(row, "prompt"))
    # All nine cells or none: the 3 x 3 accuracy matrix needs every cell of an item.
    return [
        _make_pair(
            id=f"rmbench:{item_id}:{i}{j}",
            source="rmbench",
            conversation=conversation,
            response_a=chosen[i],
            response_b=rejected[j],
            better="a",
            subset=row.get("domain"),
            meta={"item_id": str(item_id), "chosen_style": i, "rejected_style": j},
        )
        for i in range(3)
        for j in range(3)
    ]


# JudgeBench source prefix -> category, in the order of the official run_judge.py report.
JUDGEBENCH_CATEGORIES = (
    ("mmlu-pro", "knowledge"),
    ("livebench-reasoning", "reasoning"),
    ("livebench-math", "math"),
    ("livecodebench", "coding"),
)
JUDGEBENCH_LABELS = {"A>B": "a", "B>A": "b"}


def judgebench_category(source: str) -> str:
    """The JudgeBench category of a ``source`` value, by prefix as the official report groups them.

    A source outside the four prefixes keeps its own name (it still counts in the overall score).

    >>> judgebench_category("mmlu-pro-computer science"), judgebench_category("livecodebench")
    ('knowledge', 'coding')
    """
    for prefix, category in JUDGEBENCH_CATEGORIES:
        if source.startswith(prefix):
            return category
    return source


def convert_judgebench(row: Mapping, index: int, options: Mapping) -> Pair:
    label = row.get("label")
    if label not in JUDGEBENCH_LABELS:
        raise Skip(MALFORMED, f"label {label!r} is not 'A>B' or 'B>A'")
    source = _text(row, "source")
    pair_id = row.get("pair_id")
    return _make_pair(
        id=f"judgebench:{pair_id if pair_id is not None else index}",
        source="judgebench",
        conversation=_prompt_messages(_text(row, "question"), "question"),
        response_a=_text(row, "response_A"),
        response_b=_text(row, "response_B"),
        better=JUDGEBENCH_LABELS[label],
        subset=judgebench_category(source),
        meta={"source": source, "original_id": str(row.get("original_id")),
              "response_model": row.get("response_model")},
    )


RB2_TIES = "Ties"


def _replies(row: Mapping, key: str) -> list[str]:
    value = row.get(key)
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise Skip(MALFORMED, f"{key!r} must be a list of replies")
    value = list(value)
    if not value or not all(isinstance(v, str) for v in value):
        raise Skip(MALFORMED, f"{key!r} must be a non-empty list of texts")
    return value


def convert_rewardbench2(row: Mapping, index: int, options: Mapping) -> list[Pair]:
    chosen, rejected = _replies(row, "chosen"), _replies(row, "rejected")
    subset = _text(row, "subset")
    row_id = str(row.get("id", index))
    conversation = _prompt_messages(_text(row, "prompt"))
    common = {"source": "rewardbench2", "conversation": conversation, "better": "a", "subset": subset}
    if subset != RB2_TIES:
        # Best-of-4: chosen[0] must beat every rejected reply, one comparison each. A further
        # chosen reply is not compared, as the official generative script shows only
        # texts_chosen[0]; meta says how many were left out.
        return [
            _make_pair(
                id=f"rewardbench2:{row_id}:0-{j}", response_a=chosen[0], response_b=reply,
                meta={"prompt_id": row_id, "rejected_index": j, "comparisons": len(rejected),
                      **({"chosen_not_compared": len(chosen) - 1} if len(chosen) > 1 else {})},
                **common,
            )
            for j, reply in enumerate(rejected)
        ]
    num_correct = row.get("num_correct")
    if num_correct is not None and num_correct != len(chosen):
        raise Skip(MALFORMED, f"num_correct {num_correct} but {len(chosen)} chosen replies")
    kind, _, number = row_id.partition(":")
    if kind not in ("ref", "tied") or not number.isdigit():
        raise Skip(MALFORMED, f"Ties id {row_id!r} is not 'ref:N' or 'tied:N'")
    # Ties: every correct reply against every incorrect one; the reply scores come from these.
    return [
        _make_pair(
            id=f"rewardbench2:{row_id}:{i}-{j}", response_a=good, response_b=bad,
            meta={"prompt_id": row_id, "correct_index": i, "incorrect_index": j,
                  "num_correct": len(chosen), "num_incorrect": len(rejected)},
            **common,
        )
        for i, good in enumerate(chosen)
        for j, bad in enumerate(rejected)
    ]


LOCAL_KEYS = ("prompt", "chosen", "rejected", "id", "subset")


def convert_local(row: Mapping, index: int, options: Mapping) -> Pair:
    columns = {key: key for key in LOCAL_KEYS} | dict(options.get("columns") or {})
    prompt, chosen, rejected = (row.get(columns[k]) for k in ("prompt", "chosen", "rejected"))
    if prompt is None or chosen is None or rejected is None:
        raise Skip(MALFORMED, "prompt, chosen or rejected is missing")
    if isinstance(chosen, str) and isinstance(rejected, str):
        conversation, a, b = _prompt_messages(prompt), chosen, rejected
    elif isinstance(chosen, (list, tuple)) and isinstance(rejected, (list, tuple)):
        # Message lists: either whole dialogues, or only the replies after the prompt.
        prefix = _prompt_messages(prompt) if prompt not in ("", []) else []
        chosen_msgs, rejected_msgs = _messages(chosen, "chosen"), _messages(rejected, "rejected")
        if chosen_msgs[0]["role"] == "assistant":
            chosen_msgs, rejected_msgs = prefix + chosen_msgs, prefix + rejected_msgs
        conversation, a, b = _split_dialogues(chosen_msgs, rejected_msgs)
    else:
        raise Skip(MALFORMED, "chosen and rejected must both be texts or both message lists")
    source = options.get("source_name", "local")
    row_id = row.get(columns["id"])
    subset = row.get(columns["subset"])
    return _make_pair(
        id=f"{source}:{row_id if row_id is not None else index}",
        source=source,
        conversation=conversation,
        response_a=a,
        response_b=b,
        better="a",
        subset=None if subset is None else str(subset),
    )


# name -> (converter, columns the first row must have, default hub split)
SOURCES: dict[str, tuple[Callable, tuple[str, ...], str]] = {
    "helpsteer2": (convert_helpsteer2, ("prompt", "response_1", "response_2", "preference_strength"), "train"),
    "hh_rlhf": (convert_hh_rlhf, ("chosen", "rejected"), "train"),
    "skywork": (convert_skywork, ("chosen", "rejected"), "train"),
    "thinkj_release": (convert_thinkj_release, ("instruction", "response1", "response2", "better"), "train"),
    "rewardbench": (convert_rewardbench, ("prompt", "chosen", "rejected"), "filtered"),
    "rmbench": (convert_rmbench, ("prompt", "chosen", "rejected"), "train"),
    "judgebench": (convert_judgebench, ("question", "response_A", "response_B", "label", "source"), "gpt"),
    "rewardbench2": (convert_rewardbench2, ("prompt", "chosen", "rejected", "subset"), "test"),
    "local": (convert_local, (), "train"),
}


# ---------------------------------------------------------------------------------------------
# Loading


def _is_local(value) -> bool:
    return isinstance(value, (str, os.PathLike)) and (
        os.path.exists(value) or Path(value).suffix in (".jsonl", ".json", ".parquet")
    )


def read_rows(input, *, split: str = "train", data_dir: str | None = None) -> tuple[Iterable[Mapping], str]:
    """Rows of ``input`` and a name for error messages: a list of dicts as is, a local file,
    or a Hugging Face hub id (``datasets.load_dataset(input, data_dir=data_dir, split=split)``)."""
    if isinstance(input, (list, tuple)):
        return input, "<rows>"
    if _is_local(input):
        return read_records(input), str(input)
    import datasets

    try:
        return datasets.load_dataset(str(input), data_dir=data_dir, split=split), f"{input} (split {split})"
    except Exception as e:
        raise SourceError(
            f"{input!r} is not a local file and could not be loaded from the Hugging Face hub "
            f"({type(e).__name__}: {e}); pass a local .jsonl / .json / .parquet path, or check the "
            "hub id, split and your network"
        ) from e


def load_pairs(source: str, input, **options) -> tuple[list[Pair], Counter]:
    """Convert ``input`` from ``source`` into canonical pairs.

    Options: ``split`` (hub split to load), ``data_dir`` (hub data folder; for
    ``nvidia/HelpSteer2`` it defaults to ``preference``, where the preference file lives),
    ``keep_split`` (helpsteer2: keep only rows whose ``split`` column has this value), ``columns`` (local: column mapping), ``source_name`` (local:
    the name written as ``source``), ``better_encoding`` (thinkj_release: ``"choice"`` reads 1 / 2 as
    (a) / (b); ``"strength"`` reads a signed strength -3..3, 0 a tie; ``"auto"``, the default,
    picks ``choice`` when every value in the input is 0, 1 or 2, else ``strength``;
    0 is a tie either way),
    ``limit`` (stop after this many rows), ``keep_ties`` (helpsteer2, thinkj_release: keep a
    tie as a pair with ``meta["tie"] = True`` instead of skipping it; see `is_tie`).

    Returns ``(pairs, skipped)``; ``skipped`` counts rows left out, by reason.
    """
    if source not in SOURCES:
        raise SourceError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    convert, required, default_split = SOURCES[source]
    options = dict(options)
    split = options.pop("split", None)
    data_dir = options.pop("data_dir", None)
    if source == "helpsteer2" and data_dir is None and str(input) == "nvidia/HelpSteer2":
        data_dir = "preference"
    if source == "local":
        mapping = {key: key for key in LOCAL_KEYS} | dict(options.get("columns") or {})
        unknown = set(options.get("columns") or {}) - set(LOCAL_KEYS)
        if unknown:
            raise SourceError(f"unknown column keys {sorted(unknown)}; map any of {list(LOCAL_KEYS)}")
        required = tuple(mapping[k] for k in ("prompt", "chosen", "rejected"))
    rows, name = read_rows(input, split=split or default_split, data_dir=data_dir)
    if source == "thinkj_release" and options.get("better_encoding", "auto") == "auto":
        rows = list(rows)  # two passes: the encoding is decided on the whole file
        options["better_encoding"] = _release_encoding(rows)

    pairs: list[Pair] = []
    skipped: Counter = Counter()
    seen_ids: dict[str, int] = {}
    limit = options.get("limit")
    for index, row in enumerate(rows):
        if limit is not None and index >= limit:
            break
        if index == 0:
            _check_columns(row, required, name, source)
        if not isinstance(row, Mapping):
            skipped[MALFORMED] += 1
            continue
        try:
            made = convert(row, index, options)
        except Skip as skip:
            skipped[skip.reason] += 1
            continue
        for pair in made if isinstance(made, list) else [made]:
            if pair.id in seen_ids:
                raise SourceError(
                    f"{name}, row {index}: id {pair.id!r} already used by row {seen_ids[pair.id]}; "
                    "ids must be unique (for local files, map a unique id column or drop it)"
                )
            seen_ids[pair.id] = index
            pairs.append(pair)
    return pairs, skipped


def _check_columns(row, required: tuple[str, ...], name: str, source: str):
    if not isinstance(row, Mapping):
        raise SourceError(f"{name}: rows must be objects (dicts), got {type(row).__name__} in row 0")
    missing = [c for c in required if c not in row]
    if missing:
        hint = (
            " Map your column names with --column prompt=NAME (chosen=, rejected=)."
            if source == "local"
            else f" Is this really a {source} file? For other files use --source local."
        )
        raise SourceError(
            f"{name}: row 0 has no column(s) {missing} needed by source {source!r}; it has "
            f"{sorted(row)}.{hint}"
        )
