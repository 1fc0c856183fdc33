"""Per-step judge diagnostics: what a training batch says about the judge, beyond its reward.

verl logs reward components only at validation; these are computed from the training batch of
every step (`thinkj_verl.trainer` logs them as ``judge/*``). Each row is one judgment: its
reward components (``acc``, ``format``, ``verdict`` 1 = (a) / 2 = (b) / 0 = none,
``strength_pred``, ``truncated``), the label's side in the order shown, the pair id, the order
(``ab`` or ``ba``) and the reply's length in tokens.

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

>>> rows = [dict(acc=1.0, format=1.0, verdict=1, strength_pred=2, truncated=0.0, label="a", pair_id="p", order="ab",
...              reply_tokens=10),
...         dict(acc=0.0, format=1.0, verdict=1, strength_pred=1, truncated=0.0, label="b", pair_id="p", order="ba",
...              reply_tokens=12)]
>>> d = judge_diagnostics(rows)
>>> d["judge/pair_acc"], d["judge/consistency"], d["judge/verdict_a_share"], d["judge/label_a_share"]
(0.0, 0.0, 1.0, 0.5)
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

VERDICT_SIDE = {1: "a", 2: "b"}
# In order "ba" the judge sees the canonical (b) as (a): the side it picked, in canonical terms.
CANONICAL = {("ab", "a"): "a", ("ab", "b"): "b", ("ba", "a"): "b", ("ba", "b"): "a"}


def _mean(values) -> float | None:
    values = [float(v) for v in values if v is not None]
    return fmean(values) if values else None


def judge_diagnostics(rows: list[dict]) -> dict[str, float]:
    """The ``judge/*`` metrics of one batch (keys with no data are left out)."""
    if not rows:
        return {}
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
    return {key: value for key, value in out.items() if value is not None}
