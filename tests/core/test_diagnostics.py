"""Per-step judge diagnostics on planted judges (hand-checkable batches)."""

from __future__ import annotations

import pytest

from thinkj_verl.diagnostics import judge_diagnostics
from thinkj_verl.trainer import judgment_rows

# Four pairs, each judged in both orders, two samples per order. Canonical labels: p0, p1 (a), p2, p3 (b).
LABELS = {"p0": "a", "p1": "a", "p2": "b", "p3": "b"}


def _shown_label(pair: str, order: str) -> str:
    label = LABELS[pair]
    return label if order == "ab" else {"a": "b", "b": "a"}[label]


def _batch(answer) -> list[dict]:
    rows = []
    for pair in LABELS:
        for order in ("ab", "ba"):
            for _ in range(2):
                label = _shown_label(pair, order)
                verdict = answer(label)
                rows.append({"acc": float(verdict == label), "format": 1.0, "verdict": {"a": 1, "b": 2}[verdict],
                             "strength_pred": 3 if verdict == label else 1, "truncated": 0.0, "label": label,
                             "pair_id": pair, "order": order, "reply_tokens": 20})
    return rows


def test_a_judge_that_always_answers_a():
    d = judge_diagnostics(_batch(lambda label: "a"))
    assert d["judge/pair_acc"] == 0.0
    assert d["judge/consistency"] == 0.0
    assert d["judge/verdict_a_share"] == 1.0 and d["judge/label_a_share"] == 0.5
    assert d["judge/acc_ab"] == 0.5 and d["judge/acc_ba"] == 0.5
    assert d["judge/acc"] == 0.5
    assert d["judge/pairs_in_both_orders"] == 4.0


def test_a_judge_that_is_always_right():
    d = judge_diagnostics(_batch(lambda label: label))
    assert d["judge/pair_acc"] == 1.0 and d["judge/consistency"] == 1.0
    assert d["judge/verdict_a_share"] == d["judge/label_a_share"] == 0.5
    assert d["judge/strength_right"] == 3.0 and "judge/strength_wrong" not in d


def test_a_judge_that_always_answers_b_is_consistent_nowhere_and_half_right_per_order():
    d = judge_diagnostics(_batch(lambda label: "b"))
    assert d["judge/pair_acc"] == 0.0 and d["judge/consistency"] == 0.0
    assert d["judge/verdict_a_share"] == 0.0


def test_unparsable_and_truncated_rows():
    rows = _batch(lambda label: label)
    for row in rows[:4]:
        row.update(verdict=0, acc=0.0, format=0.0, truncated=1.0)
    d = judge_diagnostics(rows)
    assert d["judge/format_rate"] == pytest.approx(12 / 16)
    assert d["judge/acc"] == pytest.approx(12 / 16)  # an unparsable judgment counts as wrong
    assert d["judge/truncation_rate"] == pytest.approx(4 / 16)
    # p0 lost its "ab" judgments (rows 0-1 unparsable) and half of its "ba" ones' worth: pair p0 is wrong
    assert d["judge/pair_acc"] == pytest.approx(3 / 4)


def test_rows_from_the_trainers_fields():
    fields = [{"reward_extra_info": {"acc": 1.0, "format": 1.0, "verdict": 1, "strength_pred": 2, "truncated": 0.0}},
              {"turn_scores": []}]
    reward_models = [{"style": "rule", "ground_truth": {"better": "a", "strength": 2, "scores": None}}] * 2
    infos = [{"pair_id": "p0", "order": "ab"}, {"pair_id": "p0", "order": "ba"}]
    [row] = judgment_rows(fields, reward_models, infos, [11, 12])
    assert row["label"] == "a" and row["pair_id"] == "p0" and row["order"] == "ab" and row["reply_tokens"] == 11


# J1 sessions: the same pair judged in both orders inside one session (thinkj_verl/j1).
def _session_rows(picks: dict[str, tuple[str, str]], label: str = "a") -> list[dict]:
    """picks: session -> (verdict shown in ab, verdict shown in ba); canonical label ``label``."""
    from thinkj_verl.diagnostics import session_row

    rows = []
    for session, (ab, ba) in picks.items():
        shown = {"ab": label, "ba": {"a": "b", "b": "a"}[label]}
        components = {}
        for order, verdict in (("ab", ab), ("ba", ba)):
            components.update({f"acc_{order}": float(verdict == shown[order]), f"format_{order}": 1.0,
                               f"verdict_{order}": {"a": 1, "b": 2}[verdict], f"truncated_{order}": 0.0})
        for order in ("ab", "ba"):
            rows.append(session_row(components, order, label, pair_id="p0", session=session, reply_tokens=9))
    return rows


def test_sessions_count_pair_accuracy_and_consistency_from_their_own_two_orders():
    # s0 right in both; s1 always "(a)"; s2 always "(b)"; s3 wrong in both (consistent, wrong)
    d = judge_diagnostics(_session_rows({"s0": ("a", "b"), "s1": ("a", "a"), "s2": ("b", "b"), "s3": ("b", "a")}))
    assert d["judge/sessions"] == 4.0
    assert d["judge/pair_acc"] == 0.25 and d["judge/consistency"] == 0.5
    assert d["judge/acc_ab"] == 0.5 and d["judge/acc_ba"] == 0.5
    assert d["judge/verdict_a_share"] == 0.5 and d["judge/label_a_share"] == 0.5


def test_pointwise_sessions_report_ties_and_the_score_gap():
    from thinkj_verl.diagnostics import session_row

    rows = []
    for session, (a, b) in {"s0": (8, 3), "s1": (5, 5), "s2": (2, 6), "s3": (4, -1)}.items():
        components = {"score_a": float(a), "score_b": float(b), "format_a": 1.0, "format_b": float(b >= 0),
                      "truncated": 0.0}
        rows += [session_row(components, view, "a", pair_id="p", session=session, reply_tokens=5) for view in "ab"]
    d = judge_diagnostics(rows)
    assert d["judge/sessions"] == 4.0 and d["judge/scored_rate"] == 0.75
    assert d["judge/pair_acc"] == 0.25  # only s0: a tie (s1) and an unread score (s3) are wrong
    assert d["judge/tie_rate"] == pytest.approx(1 / 3) and d["judge/score_gap"] == pytest.approx((5 + 0 - 4) / 3)
    assert "judge/consistency" not in d and "judge/verdict_a_share" not in d


def test_session_rows_from_the_trainers_fields():
    fields = [{"reward_extra_info": {"acc_ab": 1.0, "acc_ba": 0.0, "verdict_ab": 1, "verdict_ba": 1,
                                     "format_ab": 1.0, "format_ba": 1.0}, "thinkj_view": view} for view in ("ab", "ba")]
    reward_models = [{"style": "rule", "ground_truth": {"better": "a", "strength": None, "scores": None}}] * 2
    infos = [{"pair_id": "p0", "order": "pair"}] * 2
    rows = judgment_rows(fields, reward_models, infos, [7, 8], keys=["u1_3_0", "u1_3_1"])
    assert [(r["order"], r["label"], r["session"], r["acc"]) for r in rows] == [("ab", "a", "u1_3", 1.0), ("ba", "b", "u1_3", 0.0)]
