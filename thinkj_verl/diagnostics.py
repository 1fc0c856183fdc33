"""Per-step judge diagnostics: what a training batch says about the judge, beyond its reward.

verl logs reward components only at validation; these are computed from the training batch of
every step (`thinkj_verl.trainer` logs them as ``judge/*``). Each row is one judgment: its
reward components (``acc``, ``format``, ``verdict`` 1 = (a) / 2 = (b) / 0 = none,
``strength_pred``, ``truncated``), the label's side in the order shown, the pair id, the order
(``ab`` or ``ba``) and the reply's length in tokens.

- ``judge/acc``: accuracy over every judgment of the batch (both orders);
- ``judge/acc_ab``, ``judge/acc_ba``: accuracy in each order;
- ``judge/pair_acc``: over pairs judged in both orders in this batch, the chance that a judgment
  in each order is right (mean over pairs of acc_ab x acc_ba, several samples per order allowed);
- ``judge/consistency``: over the same pairs, the chance that a judgment in each order picks the
  same response (whatever the label);
- ``judge/verdict_a_share`` vs ``judge/label_a_share``: position bias (a judge that always says
  "(a)" has 1.0 against the data's share);
- ``judge/format_rate``, ``judge/truncation_rate``;
- ``judge/strength_right``, ``judge/strength_wrong``: mean predicted strength of right and of
  wrong verdicts (calibration: a judge should be surer when right);
- ``judge/reply_tokens``: mean reply length (thinking plus verdict).

J1 sessions (`thinkj_verl.j1`: one pair judged in both orders, or both responses scored alone,
in one session) carry a ``session`` key on each row (`session_row` builds the rows from the
session's reward components). Then ``judge/pair_acc`` and ``judge/consistency`` are counted per
session from its own two orders (right in both; same response picked in both, unparsable = not
consistent), over every session with both orders, and ``judge/sessions`` counts them. Pointwise
sessions (views ``a``/``b``, a ``score`` per row) give instead:

- ``judge/pair_acc``: share of sessions where the better response got the higher score;
- ``judge/tie_rate``: share of sessions (both scores read) with equal scores;
- ``judge/score_gap``: mean of the better response's score minus the worse one's (both read);
- ``judge/scored_rate``: share of sessions with both scores read.

>>> rows = [dict(acc=1.0, format=1.0, verdict=1, strength_pred=2, truncated=0.0, label="a", pair_id="p", order="ab",
...              reply_tokens=10),
...         dict(acc=0.0, format=1.0, verdict=1, strength_pred=1, truncated=0.0, label="b", pair_id="p", order="ba",
...              reply_tokens=12)]
>>> d = judge_diagnostics(rows)
>>> d["judge/acc"], d["judge/pair_acc"], d["judge/consistency"], d["judge/verdict_a_share"], d["judge/label_a_share"]
(0.5, 0.0, 0.0, 1.0, 0.5)
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

from thinkj_verl.ground_truth import other_side

VERDICT_SIDE = {1: "a", 2: "b"}
# extra_fields key of each output of a J1 session (`thinkj_verl.j1`): which view it is
# ("ab"/"ba": the pair in that order; "a"/"b": that response scored alone).
SESSION_VIEW = "thinkj_view"
# In order "ba" the judge sees the canonical (b) as (a): the side it picked, in canonical terms.
CANONICAL = {("ab", "a"): "a", ("ab", "b"): "b", ("ba", "a"): "b", ("ba", "b"): "a"}


def _mean(values) -> float | None:
    values = [float(v) for v in values if v is not None]
    return fmean(values) if values else None


def session_row(components: dict, view: str, canonical_label: str | None, **fields) -> dict:
    """One output of a J1 session as a diagnostics row: the session's reward components hold
    every view's (``acc_ab``, ``verdict_ba``, ``score_a``...); pick this ``view``'s, with the
    label as shown in it. ``fields``: ``pair_id``, ``session``, ``reply_tokens``.

    >>> c = {"acc_ab": 1.0, "acc_ba": 0.0, "format_ab": 1.0, "format_ba": 1.0, "verdict_ab": 1.0,
    ...      "verdict_ba": 1.0, "truncated_ab": 0.0, "truncated_ba": 0.0}
    >>> r = session_row(c, "ba", "a", pair_id="p", session="u_0")
    >>> r["order"], r["label"], r["acc"], r["verdict"]
    ('ba', 'b', 0.0, 1.0)
    """
    if view in ("a", "b"):  # pointwise: one response scored alone
        score = components.get(f"score_{view}")
        return {"view": view, "score": None if score is None or score < 0 else float(score),
                "format": components.get(f"format_{view}"), "truncated": components.get("truncated"),
                "better": canonical_label, **fields}  # no position: no shown label, no position bias
    label = canonical_label if view == "ab" or canonical_label is None else other_side(canonical_label)
    row = {"order": view, "label": label, **fields}
    for key in ("acc", "format", "verdict", "strength_pred", "truncated"):
        if f"{key}_{view}" in components:
            row[key] = components[f"{key}_{view}"]
    return row


def _session_metrics(rows: list[dict]) -> dict[str, float | None]:
    sessions: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        view = row.get("order") or row.get("view")
        if row.get("session") is not None and view is not None:
            sessions[row["session"]][view] = row
    pair_acc, consistency, ties, gaps, scored, point_acc = [], [], [], [], [], []
    for views in sessions.values():
        if "ab" in views and "ba" in views:
            ab, ba = views["ab"], views["ba"]
            pair_acc.append(1.0 if ab.get("acc") and ba.get("acc") else 0.0)
            sides = [VERDICT_SIDE.get(int(r.get("verdict") or 0)) for r in (ab, ba)]
            same = None not in sides and CANONICAL[("ab", sides[0])] == CANONICAL[("ba", sides[1])]
            consistency.append(1.0 if same else 0.0)
        elif "a" in views and "b" in views:
            a, b = views["a"].get("score"), views["b"].get("score")
            better = views["a"].get("better")
            both = a is not None and b is not None
            scored.append(1.0 if both else 0.0)
            point_acc.append(1.0 if both and a != b and ("a" if a > b else "b") == better else 0.0)
            if both:
                ties.append(1.0 if a == b else 0.0)
                if better in ("a", "b"):
                    gaps.append((a - b) if better == "a" else (b - a))
    out = {"judge/sessions": float(len(pair_acc) + len(point_acc)) if (pair_acc or point_acc) else None}
    if pair_acc or point_acc:
        out["judge/pair_acc"] = _mean(pair_acc + point_acc)
    out["judge/consistency"] = _mean(consistency)
    out["judge/tie_rate"] = _mean(ties)
    out["judge/score_gap"] = _mean(gaps)
    out["judge/scored_rate"] = _mean(scored)
    return out


def judge_diagnostics(rows: list[dict]) -> dict[str, float]:
    """The ``judge/*`` metrics of one batch (keys with no data are left out)."""
    if not rows:
        return {}
    if any(r.get("session") is not None for r in rows):
        return _judge_diagnostics(rows, sessions=True)
    return _judge_diagnostics(rows, sessions=False)


def _judge_diagnostics(rows: list[dict], sessions: bool) -> dict[str, float]:
    out: dict[str, float | None] = {
        "judge/format_rate": _mean(r.get("format") for r in rows),
        "judge/truncation_rate": _mean(r.get("truncated") for r in rows),
        "judge/reply_tokens": _mean(r.get("reply_tokens") for r in rows),
        "judge/verdict_a_share": _mean(
            1.0 if VERDICT_SIDE.get(int(r.get("verdict") or 0)) == "a" else 0.0
            for r in rows if int(r.get("verdict") or 0) in VERDICT_SIDE
        ),
        "judge/label_a_share": _mean(1.0 if r.get("label") == "a" else 0.0 for r in rows if r.get("label") in ("a", "b")),
    }
    out["judge/acc"] = _mean(r.get("acc") for r in rows)
    for order in ("ab", "ba"):
        out[f"judge/acc_{order}"] = _mean(r.get("acc") for r in rows if r.get("order") == order)
    parsed = [r for r in rows if int(r.get("verdict") or 0) in VERDICT_SIDE]
    out["judge/strength_right"] = _mean(r.get("strength_pred") for r in parsed if r.get("acc") and r.get("strength_pred"))
    out["judge/strength_wrong"] = _mean(
        r.get("strength_pred") for r in parsed if not r.get("acc") and r.get("strength_pred")
    )
    by_pair: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.get("pair_id") is not None and row.get("order") in ("ab", "ba"):
            by_pair[row["pair_id"]][row["order"]].append(row)
    pair_acc, consistency = [], []
    for orders in by_pair.values():
        if not (orders["ab"] and orders["ba"]):
            continue
        pair_acc.append(_mean(r.get("acc") for r in orders["ab"]) * _mean(r.get("acc") for r in orders["ba"]))
        picks = {}
        for order in ("ab", "ba"):
            sides = [CANONICAL[(order, VERDICT_SIDE[int(r.get("verdict") or 0)])]
                     for r in orders[order] if int(r.get("verdict") or 0) in VERDICT_SIDE]
            picks[order] = _mean(1.0 if side == "a" else 0.0 for side in sides)
        if picks["ab"] is None or picks["ba"] is None:
            consistency.append(0.0)  # an unparsable order is not consistent
        else:
            consistency.append(picks["ab"] * picks["ba"] + (1 - picks["ab"]) * (1 - picks["ba"]))
    out["judge/pair_acc"] = _mean(pair_acc)
    out["judge/consistency"] = _mean(consistency)
    out["judge/pairs_in_both_orders"] = float(len(pair_acc))
    if sessions:  # J1: pair accuracy and consistency from each session's own orders
        out.update(_session_metrics(rows))
    return {key: value for key, value in out.items() if value is not None}
