"""The reward of one J1 judgment session: pure functions, no verl.

A session judges one pair. With a pairwise format it holds two judgments, the pair shown in
order ``ab`` and in order ``ba``; with the ``pointwise`` format it holds two scores, one per
response shown alone (views ``a`` and ``b``, canonical responses). The session gets ONE reward,
and verl gives it to every output of the session (`thinkj_verl.j1.reward_manager`).

Pairwise (`combine_orders`), with ``r_ab`` and ``r_ba`` the configured reward function's
score of each order against the label as shown in that order::

    R = consistency_weight * [right in ab AND right in ba] + order_weight * (r_ab + r_ba) / 2

The first term is J1's position-consistent reward (1 only when the verdict is right in both
orders); the second is the mean of the per-order rewards (J1's verdict-correctness reward when
the function is accuracy alone; with the Think-J functions it also carries their format and
strength terms).

Pointwise (`score_pointwise`): the pair's verdict is the response with the higher score; equal
scores (a tie) or an unreadable score give no verdict, which is wrong::

    R = accuracy_weight * [the better response got the higher score] + format_weight * r_format

with ``r_format`` the share of the session's two replies that hold the pointwise format.

>>> from thinkj_verl.ground_truth import GroundTruth, other_side
>>> right = {"score": 2.0, "acc": 1.0, "format": 1.0, "verdict": 1.0}
>>> wrong = {"score": 1.0, "acc": 0.0, "format": 1.0, "verdict": 1.0}
>>> out = combine_orders({"ab": right, "ba": wrong}, consistency_weight=1.0, order_weight=1.0)
>>> out["score"], out["pair_acc"], out["consistent"], out["acc_ab"], out["verdict_ba"]
(1.5, 0.0, 0.0, 1.0, 1.0)
>>> reply = "<think>fine</think>Therefore, the score of the response is [[{}]]."
>>> p = score_pointwise(reply.format(8), reply.format(3), GroundTruth("a"))
>>> p["score"], p["acc"], p["tie"], p["score_gap"]
(2.0, 1.0, 0.0, 5.0)
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from statistics import fmean

from thinkj_verl.diagnostics import CANONICAL, SESSION_VIEW, VERDICT_SIDE
from thinkj_verl.ground_truth import GroundTruth, other_side
from thinkj_verl.parser import parse_judgment, pointwise_verdict

VIEW_KEY = SESSION_VIEW  # extra_fields key of each agent-loop output: which view of the session it is
PAIRWISE_VIEWS = ("ab", "ba")
POINTWISE_VIEWS = ("a", "b")
POINTWISE_FORMAT = "pointwise"
# Reward kwargs of the session itself; every other reward kwarg goes to the reward function.
SESSION_WEIGHTS = {"consistency_weight": 1.0, "order_weight": 1.0}
NO_SCORE = -1.0


class SessionError(ValueError):
    """A session that cannot be scored: no pair in the item, a view missing or repeated."""


def session_pair(extra_info):
    """The pair a session judges, from the item's ``extra_info.pair`` (JSON text or a dict).

    >>> from thinkj_verl.data.pairs import Pair
    >>> pair = Pair("p:0", "local", [{"role": "user", "content": "q"}], "x", "y", GroundTruth("a"))
    >>> session_pair({"pair": json.dumps(pair.to_dict())}).response_b
    'y'
    """
    from thinkj_verl.data.pairs import Pair

    raw = (extra_info or {}).get("pair") if isinstance(extra_info, Mapping) else None
    if raw is None:
        raise SessionError(
            "a thinkj_pair session needs the pair in extra_info.pair: use pair rows (`thinkj prepare "
            "--orders pair`, or JudgePairDataset with data.thinkj.orders=pair)"
        )
    record = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return Pair.from_dict(record)


def split_reward_kwargs(reward_kwargs: Mapping) -> tuple[dict, dict]:
    """``(session weights, the reward function's kwargs)``; a session weight that is not a finite
    number is refused, naming its key.

    >>> split_reward_kwargs({"consistency_weight": 0.0, "format_weight": 0.5})
    ({'consistency_weight': 0.0, 'order_weight': 1.0}, {'format_weight': 0.5})
    """
    session = dict(SESSION_WEIGHTS)
    function_kwargs = {}
    for key, value in dict(reward_kwargs or {}).items():
        if key not in SESSION_WEIGHTS:
            function_kwargs[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise SessionError(
                f"reward.custom_reward_function.reward_kwargs.{key}: {value!r} is not a finite number; "
                "set a number such as 1.0"
            )
        session[key] = float(value)
    return session, function_kwargs


def _verdict_side(code) -> str | None:
    return VERDICT_SIDE.get(int(code or 0))


def combine_orders(per_order: Mapping[str, Mapping], *, consistency_weight: float, order_weight: float) -> dict:
    """The session reward of a pairwise session from each order's reward-function result.

    ``per_order`` maps ``ab`` and ``ba`` to the function's dict (``score``, ``acc``, ``format``,
    ``verdict`` as shown: 1 = (a), 2 = (b), 0 = none, and its other components). Returns
    ``score`` and, for every component ``c`` of the function, ``c_ab`` and ``c_ba``; plus
    ``acc`` / ``format`` / ``truncated`` (means over the two orders, when given), ``pair_acc``
    (right in both orders), ``consistent`` (both orders pick the same response, right or not),
    ``r_order`` (mean per-order reward) and ``r_consistency`` (= ``pair_acc``).
    """
    missing = [order for order in PAIRWISE_VIEWS if order not in per_order]
    if missing:
        raise SessionError(f"a pairwise session needs both orders {PAIRWISE_VIEWS}, got {sorted(per_order)}")
    ab, ba = per_order["ab"], per_order["ba"]
    pair_acc = 1.0 if ab.get("acc") and ba.get("acc") else 0.0
    picks = [_verdict_side(per_order[o].get("verdict")) for o in PAIRWISE_VIEWS]
    consistent = 0.0
    if None not in picks:
        consistent = 1.0 if CANONICAL[("ab", picks[0])] == CANONICAL[("ba", picks[1])] else 0.0
    r_order = fmean([float(ab["score"]), float(ba["score"])])
    out = {"score": consistency_weight * pair_acc + order_weight * r_order}
    for order in PAIRWISE_VIEWS:
        for key, value in per_order[order].items():
            if key != "score":
                out[f"{key}_{order}"] = float(value)
    for key in ("acc", "format", "truncated"):
        if key in ab and key in ba:
            out[key] = fmean([float(ab[key]), float(ba[key])])
    out.update(pair_acc=pair_acc, consistent=consistent, r_order=r_order, r_consistency=pair_acc)
    return out


def score_pointwise(
    reply_a: str,
    reply_b: str,
    label: GroundTruth,
    *,
    truncated_a: bool = False,
    truncated_b: bool = False,
    accuracy_weight: float = 1.0,
    format_weight: float = 1.0,
    require_think: bool = False,
    **ignored,
) -> dict:
    """The session reward of a pointwise session: ``reply_a`` scored response (a) alone,
    ``reply_b`` response (b); ``label`` is the canonical label. Other weights (strength, margin,
    the session weights) do not apply and are ignored, as the reward functions ignore theirs.

    Components: ``acc`` (the better response got the higher score), ``format`` (share of the
    two replies in format), ``verdict`` (1 = (a) scored higher, 2 = (b), 0 = tie or unreadable),
    ``tie`` (both read, equal), ``scored`` (both read), ``score_gap`` (better's score minus
    worse's, 0 unless both read), ``score_a`` / ``score_b`` (-1 when unreadable),
    ``format_a`` / ``format_b``, ``truncated`` (share of the two replies cut at the limit).
    """
    judgments = {
        "a": parse_judgment(reply_a, POINTWISE_FORMAT, require_think=require_think, truncated=truncated_a),
        "b": parse_judgment(reply_b, POINTWISE_FORMAT, require_think=require_think, truncated=truncated_b),
    }
    scores = {view: (j.score if j.format_ok else None) for view, j in judgments.items()}
    verdict = pointwise_verdict(scores["a"], scores["b"])
    acc = 1.0 if verdict == label.better else 0.0
    scored = scores["a"] is not None and scores["b"] is not None
    worse = other_side(label.better)
    formats = {view: 1.0 if j.format_ok else 0.0 for view, j in judgments.items()}
    r_format = fmean(formats.values())
    return {
        "score": float(accuracy_weight * acc + format_weight * r_format),
        "acc": acc,
        "format": r_format,
        "verdict": {"a": 1.0, "b": 2.0, None: 0.0}[verdict],
        "tie": 1.0 if scored and scores["a"] == scores["b"] else 0.0,
        "scored": 1.0 if scored else 0.0,
        "score_gap": float(scores[label.better] - scores[worse]) if scored else 0.0,
        "score_a": float(scores["a"]) if scores["a"] is not None else NO_SCORE,
        "score_b": float(scores["b"]) if scores["b"] is not None else NO_SCORE,
        "format_a": formats["a"],
        "format_b": formats["b"],
        "truncated": fmean([1.0 if truncated_a else 0.0, 1.0 if truncated_b else 0.0]),
    }
