"""The demo's synthetic judging task: small enough for a 2-layer model to learn in a few minutes.

The user asks for an animal; both responses are the same sentence except for its first word,
an animal in one and an everyday object in the other. **The better response is the one that names
an animal.** A judge must tell whether that word opens Response (a) or Response (b): it sits right
after the response's start marker, so two attention layers suffice in principle (one can tie the
word to the marker just before it, the other find the animal).

What the judge writes while thinking decides whether a 2-layer judge learns this at all
(:func:`trace`). Measured on the demo's rows (plain PyTorch loop, width 64, batch 8, lr 1e-2, the
loss on every reply token): a trace that states the verdict at once ("Response (a) names an
animal.") left the judge answering "(a)" for every pair for 600 steps (50% single, 0% pair
accuracy on the held-out pairs); a trace that speaks of each response in turn before the verdict
("(a) object. (b) animal.") reached 82% pair accuracy after 150 steps and 100% after 250. The verdict then follows from the
judge's own two short statements; the hard part, tying a response's word to its marker, is
asked once per response, at a token that names the response.
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


def trace(verdict: str, better: str = "names an animal", worse: str = "names an object") -> str:
    """The reasoning a judge writes before its final sentence: what holds of each response in
    turn, so that the verdict (``verdict``, 'a' or 'b') follows from it. The demo's stand-in
    annotations of the HelpSteer2 sample take the same shape with other words.

    >>> trace("b")
    'Response (a) names an object. Response (b) names an animal.'
    """
    said = {side: better if side == verdict else worse for side in "ab"}
    return f"Response (a) {said['a']}. Response (b) {said['b']}."
