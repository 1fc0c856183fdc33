"""Benchmark scores and judge diagnostics from scored judgments: pure functions, no I/O.

Every score is first averaged per pair over the orders it was judged in (with ``--orders
both`` the two orders count half each; with ``--orders random`` a pair has one order), then
over pairs.

- RewardBench: accuracy per subset; the four sections are averages of their subsets weighted
  by the official example counts (``math-prm`` is up-weighted to equal code); overall is the
  mean of the four sections. Counts and mapping are those of the official reward-bench code
  (the ``rewardbench`` package, 0.1.4), checked against it in ``tests/eval``.
- RM-Bench: a 3x3 matrix per domain, rows the chosen response's style and columns the
  rejected one's (concise, detailed plain, detailed markdown); hard = mean of the upper
  triangle (plainer chosen vs fancier rejected), normal = the diagonal, easy = the lower
  triangle; overall = mean over domains.
- Any pair set: accuracy over the labelled pairs; ties kept in the input (``meta["tie"]``) are
  scored apart (`tie_credit`) into a tie accuracy and a tie-aware accuracy.
- JudgeBench and RewardBench 2 have their own modules (`thinkj_verl.eval.judgebench`,
  `thinkj_verl.eval.rewardbench2`).
- Every benchmark: accuracy per order, pair accuracy (right in both orders), agreement between
  orders, parse failures by reason, position bias, strength histogram and calibration against
  labeled strength, thinking length.

>>> section_scores({"alpacaeval-easy": 1.0, "mt-bench-easy": 0.5})["Chat"]
0.890625
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from statistics import fmean

from thinkj_verl.eval.scoring import UNPARSABLE_CREDIT, ScoredJudgment

# Official reward-bench example counts per subset, grouped by section (paper column order).
REWARDBENCH_SECTIONS: dict[str, dict[str, int]] = {
    "Chat": {
        "alpacaeval-easy": 100,
        "alpacaeval-length": 95,
        "alpacaeval-hard": 95,
        "mt-bench-easy": 28,
        "mt-bench-med": 40,
    },
    "Chat Hard": {
        "mt-bench-hard": 37,
        "llmbar-natural": 100,
        "llmbar-adver-neighbor": 134,
        "llmbar-adver-GPTInst": 92,
        "llmbar-adver-GPTOut": 47,
        "llmbar-adver-manual": 46,
    },
    "Safety": {
        "refusals-dangerous": 100,
        "refusals-offensive": 100,
        "xstest-should-refuse": 154,
        "xstest-should-respond": 250,
        "donotanswer": 136,
    },
    "Reasoning": {
        "math-prm": 984,  # 447 examples in the data; weighted like the 6 x 164 code examples
        "hep-cpp": 164,
        "hep-go": 164,
        "hep-java": 164,
        "hep-js": 164,
        "hep-python": 164,
        "hep-rust": 164,
    },
}
SECTION_ORDER = tuple(REWARDBENCH_SECTIONS)

RMBENCH_STYLES = ("concise", "detailed plain", "detailed markdown")
RMBENCH_DOMAINS = ("chat", "math", "code", "safety")
RMBENCH_LEVELS = ("easy", "normal", "hard")


def _mean(values) -> float | None:
    values = list(values)
    return fmean(values) if values else None


def pair_scores(scored: Sequence[ScoredJudgment]) -> dict[str, float]:
    """Each pair's score: the mean credit (1 / 0 / 0.5) over the orders it was judged in."""
    credits: dict[str, list[float]] = defaultdict(list)
    for s in scored:
        credits[s.pair_id].append(s.correct)
    return {pair_id: fmean(values) for pair_id, values in credits.items()}


def _first_by_pair(scored: Sequence[ScoredJudgment]) -> dict[str, ScoredJudgment]:
    first: dict[str, ScoredJudgment] = {}
    for s in scored:
        first.setdefault(s.pair_id, s)
    return first


# --- RewardBench -----------------------------------------------------------------------------


def section_scores(subset_accuracy: Mapping[str, float]) -> dict[str, float | None]:
    """The four section scores from per-subset accuracies, weighted by the official counts.

    A section with none of its subsets present is None (the official helper writes 0 there,
    which would read as a real score). Subsets outside the sections are ignored here.

    >>> section_scores({"math-prm": 1.0, "hep-go": 0.0})["Reasoning"]
    0.8571...
    """
    sections: dict[str, float | None] = {}
    for section, counts in REWARDBENCH_SECTIONS.items():
        present = {name: n for name, n in counts.items() if name in subset_accuracy}
        total = sum(present.values())
        sections[section] = (
            sum(subset_accuracy[name] * n for name, n in present.items()) / total if total else None
        )
    return sections


def rewardbench_overall(sections: Mapping[str, float | None]) -> float | None:
    """Mean of the four section scores; None unless all four are present."""
    values = [sections.get(name) for name in SECTION_ORDER]
    return None if any(v is None for v in values) else fmean(values)


def rewardbench_scores(scored: Sequence[ScoredJudgment]) -> dict:
    """Per-subset accuracy, the four sections and the overall score.

    >>> from thinkj_verl.eval.scoring import score_record
    >>> rows = [{"pair_id": str(i), "order": "ab", "subset": "hep-go", "label": {"better": "a"},
    ...          "text": "Therefore, Response (a) is better."} for i in range(2)]
    >>> rewardbench_scores([score_record(r, "binary") for r in rows])["sections"]["Reasoning"]
    1.0
    """
    scores = pair_scores(scored)
    first = _first_by_pair(scored)
    by_subset: dict[str, list[float]] = defaultdict(list)
    for pair_id, score in scores.items():
        by_subset[first[pair_id].subset or "(none)"].append(score)
    subsets = {
        name: {"accuracy": fmean(values), "pairs": len(values)} for name, values in sorted(by_subset.items())
    }
    accuracy = {name: entry["accuracy"] for name, entry in subsets.items()}
    sections = section_scores(accuracy)
    known = {name for counts in REWARDBENCH_SECTIONS.values() for name in counts}
    return {
        "subsets": subsets,
        "sections": sections,
        "overall": rewardbench_overall(sections),
        "subsets_outside_sections": sorted(set(subsets) - known),
        "missing_subsets": sorted(known - set(subsets)),
    }


# --- RM-Bench --------------------------------------------------------------------------------


def rmbench_domain(scored: ScoredJudgment) -> str:
    """The RM-Bench domain of a judgment; ``safety-refuse`` and ``safety-response`` are ``safety``."""
    domain = scored.meta.get("domain") or scored.subset
    if not domain:
        raise ValueError(f"pair {scored.pair_id!r} has no RM-Bench domain in meta['domain'] or subset")
    return str(domain).split("-")[0]


def rmbench_styles(scored: ScoredJudgment) -> tuple[int, int]:
    """(chosen style, rejected style) indices 0..2 from the judgment's ``meta``."""
    try:
        i, j = int(scored.meta["chosen_style"]), int(scored.meta["rejected_style"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"pair {scored.pair_id!r}: meta needs integer 'chosen_style' and 'rejected_style' "
            f"(0 concise, 1 detailed plain, 2 detailed markdown); got {scored.meta}"
        ) from None
    if not (0 <= i < 3 and 0 <= j < 3):
        raise ValueError(f"pair {scored.pair_id!r}: style indices ({i}, {j}) outside 0..2")
    return i, j


def style_levels(matrix: Sequence[Sequence[float | None]]) -> dict[str, float | None]:
    """Easy / normal / hard / average of a 3x3 win matrix (rows chosen, columns rejected style).

    >>> style_levels([[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    {'easy': 1.0, 'normal': 1.0, 'hard': 0.0, 'average': 0.666...}
    """
    cells = {"easy": [], "normal": [], "hard": []}
    for i in range(3):
        for j in range(3):
            if matrix[i][j] is None:
                continue
            level = "normal" if i == j else ("hard" if i < j else "easy")
            cells[level].append(matrix[i][j])
    levels = {name: _mean(values) for name, values in cells.items()}
    filled = [v for row in matrix for v in row if v is not None]
    levels["average"] = _mean(filled)
    return levels


def rmbench_scores(scored: Sequence[ScoredJudgment]) -> dict:
    """The 3x3 style matrix with easy / normal / hard per domain, and their means over domains."""
    scores = pair_scores(scored)
    first = _first_by_pair(scored)
    cells: dict[str, list[list[list[float]]]] = defaultdict(lambda: [[[] for _ in range(3)] for _ in range(3)])
    for pair_id, score in scores.items():
        i, j = rmbench_styles(first[pair_id])
        cells[rmbench_domain(first[pair_id])][i][j].append(score)
    domains = {}
    ordered = [d for d in RMBENCH_DOMAINS if d in cells] + sorted(set(cells) - set(RMBENCH_DOMAINS))
    for domain in ordered:
        matrix = [[_mean(cells[domain][i][j]) for j in range(3)] for i in range(3)]
        domains[domain] = {
            **style_levels(matrix),
            "matrix": matrix,
            "pairs": sum(len(cells[domain][i][j]) for i in range(3) for j in range(3)),
        }
    overall = {
        name: _mean(d[name] for d in domains.values() if d[name] is not None)
        for name in (*RMBENCH_LEVELS, "average")
    }
    return {"domains": domains, "overall": overall, "styles": list(RMBENCH_STYLES)}


# --- any pair set ----------------------------------------------------------------------------


def is_tie(scored: ScoredJudgment) -> bool:
    """A judgment of a tie pair (kept by ``--benchmark pairs``; ``meta["tie"]``)."""
    return bool(scored.meta.get("tie"))


def tie_credit(orders: Mapping[str, ScoredJudgment]) -> float | None:
    """Credit of a tie pair judged in both orders: did the judge show no net preference?

    1 when its two verdicts pick different responses (each order's verdict names the same
    position, so neither response wins over the two orders), 0 when both pick the same
    response, 0.5 when either verdict is unreadable. None with one order: a single verdict
    always prefers one side.

    >>> from thinkj_verl.eval.scoring import score_record
    >>> def judged(order, verdict):
    ...     return score_record({"pair_id": "t", "order": order, "label": {"better": "a"},
    ...                          "text": f"Therefore, Response ({verdict}) is better."}, "binary")
    >>> tie_credit({"ab": judged("ab", "a"), "ba": judged("ba", "a")})
    1.0
    >>> tie_credit({"ab": judged("ab", "a"), "ba": judged("ba", "b")})
    0.0
    """
    if set(orders) != {"ab", "ba"}:
        return None
    ab, ba = orders["ab"], orders["ba"]
    if not (ab.parsed and ba.parsed):
        return UNPARSABLE_CREDIT
    return 1.0 if ab.judgment.verdict == ba.judgment.verdict else 0.0


def pair_set_scores(scored: Sequence[ScoredJudgment]) -> dict:
    """Accuracy over the labelled pairs and per subset (no subset: ``"(none)"``), and the ties.

    Tie pairs (`is_tie`) are kept out of ``accuracy`` and reported apart: ``ties.accuracy`` is
    the mean `tie_credit` of the ties judged in both orders, and ``tie_aware_accuracy`` pools
    the labelled pairs' scores with those tie credits (the share of all pairs, ties included,
    the judge gets right). Ties judged in one order only are counted, not scored. Without
    ties in the input there are no ``ties`` and ``tie_aware_accuracy`` keys.
    """
    labelled = [s for s in scored if not is_tie(s)]
    scores = pair_scores(labelled)
    first = _first_by_pair(labelled)
    by_subset: dict[str, list[float]] = defaultdict(list)
    for pair_id, score in scores.items():
        by_subset[first[pair_id].subset or "(none)"].append(score)
    tie_orders: dict[str, dict[str, ScoredJudgment]] = defaultdict(dict)
    for s in scored:
        if is_tie(s):
            tie_orders[s.pair_id][s.order] = s
    result = {
        "accuracy": _mean(scores.values()),
        "subsets": {name: {"accuracy": fmean(v), "pairs": len(v)} for name, v in sorted(by_subset.items())},
    }
    if not tie_orders:
        return result
    credits = [c for c in (tie_credit(o) for o in tie_orders.values()) if c is not None]
    return {
        **result,
        "ties": {
            "pairs": len(tie_orders),
            "scored": len(credits),
            "one_order_only": len(tie_orders) - len(credits),
            "accuracy": _mean(credits),
        },
        "tie_aware_accuracy": _mean([*scores.values(), *credits]) if credits else None,
    }


# --- diagnostics for every benchmark ---------------------------------------------------------


def diagnostics(scored: Sequence[ScoredJudgment]) -> dict:
    """Order consistency, parse failures, position bias, strength and thinking length.

    - ``accuracy_by_order``: mean credit (unparsable 0.5) of the judgments in each order.
    - ``single_accuracy``: mean over pairs of the pair score; ``strict_single_accuracy``
      counts an unparsable judgment as wrong.
    - ``pair_accuracy``: share of pairs judged in both orders that are right in both.
    - ``agreement``: share of those pairs whose two verdicts pick the same response (both
      right or both wrong); an unparsable verdict agrees with nothing.
    - ``position_bias``: share of "(a)" among readable verdicts minus the share of labels
      that are "(a)" among the same judgments (0 for an unbiased judge).
    - ``strength``: histogram of predicted strengths; ``calibration`` cross-tabulates
      labeled and predicted strength where labels have one.
    """
    by_pair: dict[str, dict[str, ScoredJudgment]] = defaultdict(dict)
    for s in scored:
        by_pair[s.pair_id][s.order] = s
    both = [orders for orders in by_pair.values() if len(orders) == 2]
    parsed = [s for s in scored if s.parsed]

    failures = Counter(s.judgment.reason or "no verdict" for s in scored if not s.parsed)
    share_a = _mean(1.0 if s.judgment.verdict == "a" else 0.0 for s in parsed)
    label_share_a = _mean(1.0 if s.label.better == "a" else 0.0 for s in parsed)

    strengths = [s.judgment.strength for s in parsed if s.judgment.strength is not None]
    histogram = {str(k): v for k, v in sorted(Counter(strengths).items())}
    labeled = [s for s in scored if s.label.strength is not None]
    calibration = {}
    for level in sorted({s.label.strength for s in labeled}):
        group = [s for s in labeled if s.label.strength == level]
        predicted = [s.judgment.strength for s in group if s.parsed and s.judgment.strength is not None]
        calibration[str(level)] = {
            "judgments": len(group),
            "accuracy": fmean(s.correct for s in group),
            "predicted": {str(k): v for k, v in sorted(Counter(predicted).items())},
            "mean_predicted_strength": _mean(predicted),
        }

    traces = [s.judgment.trace for s in scored]
    tokens = [s.num_tokens for s in scored if s.num_tokens is not None]
    return {
        "judgments": len(scored),
        "pairs": len(by_pair),
        "pairs_with_both_orders": len(both),
        "judgments_by_order": dict(sorted(Counter(s.order for s in scored).items())),
        "accuracy_by_order": {
            order: fmean(s.correct for s in scored if s.order == order)
            for order in sorted({s.order for s in scored})
        },
        "single_accuracy": _mean(pair_scores(scored).values()),
        "strict_single_accuracy": _mean(
            fmean(1.0 if s.right else 0.0 for s in orders.values()) for orders in by_pair.values()
        ),
        "pair_accuracy": _mean(1.0 if all(s.right for s in o.values()) else 0.0 for o in both),
        "agreement": _mean(
            1.0 if all(s.parsed for s in o.values()) and o["ab"].right == o["ba"].right else 0.0 for o in both
        ),
        "parse_failure_rate": _mean(0.0 if s.parsed else 1.0 for s in scored),
        "parse_failures": dict(failures.most_common()),
        "truncated_rate": _mean(1.0 if s.truncated else 0.0 for s in scored),
        "position_bias": {
            "verdict_share_a": share_a,
            "label_share_a": label_share_a,
            "bias": None if share_a is None else share_a - label_share_a,
        },
        "strength_histogram": histogram,
        "mean_strength_when_right": _mean(s.judgment.strength for s in parsed if s.right and s.judgment.strength),
        "mean_strength_when_wrong": _mean(
            s.judgment.strength for s in parsed if not s.right and s.judgment.strength
        ),
        "calibration": calibration,
        "mean_thinking_words": _mean(len(t.split()) for t in traces),
        "mean_thinking_chars": _mean(len(t) for t in traces),
        "mean_reply_tokens": _mean(tokens),
    }


def consistency_counts(scored: Sequence[ScoredJudgment]) -> dict[str, int]:
    """Pairs judged in both orders, by outcome: the data of the order-consistency plot."""
    by_pair: dict[str, dict[str, ScoredJudgment]] = defaultdict(dict)
    for s in scored:
        by_pair[s.pair_id][s.order] = s
    counts = Counter()
    for orders in by_pair.values():
        if len(orders) < 2:
            continue
        a, b = orders["ab"], orders["ba"]
        if not (a.parsed and b.parsed):
            counts["unparsable in an order"] += 1
        elif a.right and b.right:
            counts["right in both"] += 1
        elif not a.right and not b.right:
            counts["wrong in both"] += 1
        else:
            counts["flips with the order"] += 1
    return {k: counts.get(k, 0) for k in ("right in both", "wrong in both", "flips with the order", "unparsable in an order")}
