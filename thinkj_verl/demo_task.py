"""The demo's synthetic judging task: small enough for a 2-layer model to learn in a minute.

The user asks for an animal; both responses are the same sentence except for its first word,
an animal in one and an everyday object in the other. **The better response is the one that names
an animal.** A judge must tell whether that word opens Response (a) or Response (b): it sits right
after the response's start marker, so two attention layers suffice in principle (one can tie the
word to the marker just before it, the other find the animal). Measured: with the word in the
middle of the sentence, the demo's 2-layer judge stayed at chance after 600 steps; with the word
first, its teacher-forced verdict was right in both orders on 60-80% of held-out pairs after
100-150 steps (plain PyTorch loop, batch 8, lr 1e-2).
The verdict is read in both orders.

Rows are ``thinkj prepare --source local`` rows (``prompt``, ``chosen``, ``rejected``, ``id``),
generated from a seed; the held-out set comes from another seed with every row already in the
training set dropped, so no pair is in both.

>>> train = generate(8, seed=0)
>>> held_out = generate(8, seed=1, exclude=train)
>>> {_key(r) for r in train} & {_key(r) for r in held_out}
set()
>>> row = train[0]
>>> row["chosen"].split()[0].strip(".,:").lower() in ANIMALS, row["rejected"].split()[0].strip(".,:").lower() in OBJECTS
(True, True)
"""

from __future__ import annotations

import random
from collections.abc import Iterable

RULE = "the better response is the one that names an animal (the other names an everyday object)"

ANIMALS = ("cat", "dog", "horse", "tiger", "rabbit", "eagle", "shark", "frog", "lion", "sheep", "mouse", "goat")
OBJECTS = ("chair", "spoon", "lamp", "table", "bottle", "hammer", "pencil", "window", "candle", "basket",
           "shoe", "clock")
QUESTIONS = ("Name an animal.", "Name one animal, please.", "Tell me an animal.", "Which animal comes to mind?",
             "Give me the name of an animal.", "Can you name an animal?")
# The word comes first: right after the response's start marker.
SENTENCES = ("{}.", "{}, I would say.", "{} is my answer.", "{} comes to mind.", "{}: a good example.",
             "{}, for instance.", "{} would be one.", "{} is the one I pick.")


def _key(row: dict) -> tuple[str, str, str]:
    return row["prompt"], row["chosen"], row["rejected"]


def generate(n: int, seed: int, exclude: Iterable[dict] = (), prefix: str = "animal") -> list[dict]:
    """``n`` distinct rows drawn with ``seed``, none equal to a row of ``exclude``."""
    rng = random.Random(seed)
    seen = {_key(row) for row in exclude}
    space = len(QUESTIONS) * len(SENTENCES) * len(ANIMALS) * len(OBJECTS)
    if n > space - len(seen):
        raise ValueError(f"at most {space - len(seen)} distinct rows are left; asked for {n}")
    rows = []
    while len(rows) < n:
        sentence = rng.choice(SENTENCES)
        row = {
            "id": f"{prefix}-{seed}-{len(rows)}",
            "prompt": rng.choice(QUESTIONS),
            "chosen": sentence.format(rng.choice(ANIMALS).capitalize()),
            "rejected": sentence.format(rng.choice(OBJECTS).capitalize()),
        }
        if _key(row) not in seen:
            seen.add(_key(row))
            rows.append(row)
    return rows


def trace(verdict: str) -> str:
    """The reasoning a judge of this task writes before its final sentence (verdict 'a' or 'b')."""
    return f"Response ({verdict}) names an animal."
