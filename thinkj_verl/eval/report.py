"""What an evaluation writes: ``metrics.json``, ``report.md`` and PNG plots.

Every file is written to a temporary file beside its target and moved into place, so a
reader never sees half a report. Plots use matplotlib's Agg backend (no display needed).

Columns follow the papers: RewardBench ``Chat | Chat Hard | Safety | Reasoning | Overall``;
RM-Bench ``Chat | Math | Code | Safety | Easy | Normal | Hard | Avg``; JudgeBench
``Knowledge | Reasoning | Math | Coding | Overall``; RewardBench 2 ``Factuality | Precise IF |
Math | Safety | Focus | Ties | Overall``; a pair set ``Accuracy`` (and, with ties in the input,
``Ties | Tie-aware``). Numbers in the report
are percentages with one decimal, as in the papers; ``metrics.json`` keeps fractions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from thinkj_verl.files import atomic_path
from thinkj_verl.eval import judgebench, rewardbench2
from thinkj_verl.eval.metrics import (
    REWARDBENCH_SECTIONS,
    RMBENCH_DOMAINS,
    RMBENCH_LEVELS,
    SECTION_ORDER,
    consistency_counts,
)

ORDER_NOTES = {
    "both": "both: every pair judged as (a, b) and as (b, a); single accuracy averages the two orders",
    "random": (
        "random: a seeded coin per pair chose which response is shown as (a), as the official "
        "RewardBench generative script does; one judgment per pair"
    ),
    "file": "as in the generations file",
}


def pct(value: float | None) -> str:
    """A fraction as a percentage with one decimal; an em dash for a missing value.

    >>> pct(0.9051), pct(None)
    ('90.5', '—')
    """
    return "—" if value is None else f"{100 * value:.1f}"


# --- headline tables (shared with `thinkj eval compare`) --------------------------------------


def headline(metrics: Mapping) -> dict[str, float | None]:
    """The benchmark's headline numbers in the paper's column order."""
    scores = metrics["scores"]
    if metrics["benchmark"] == "rewardbench":
        return {**{name: scores["sections"].get(name) for name in SECTION_ORDER}, "Overall": scores["overall"]}
    if metrics["benchmark"] == "rmbench":
        domains = scores["domains"]
        row = {d.capitalize(): (domains[d]["average"] if d in domains else None) for d in RMBENCH_DOMAINS}
        row.update({level.capitalize(): scores["overall"][level] for level in RMBENCH_LEVELS})
        row["Avg"] = scores["overall"]["average"]
        return row
    if metrics["benchmark"] == "judgebench":
        return judgebench.headline(scores)
    if metrics["benchmark"] == "rewardbench2":
        return rewardbench2.headline(scores)
    row = {"Accuracy": scores["accuracy"]}
    if (scores.get("ties") or {}).get("pairs"):
        row.update({"Ties": scores["ties"]["accuracy"], "Tie-aware": scores["tie_aware_accuracy"]})
    return row


def consistency_row(metrics: Mapping) -> dict[str, float | None]:
    """The order-consistency numbers every benchmark has."""
    d = metrics["diagnostics"]
    return {
        "Pair acc.": d["pair_accuracy"],
        "Agreement": d["agreement"],
        "Parse fail": d["parse_failure_rate"],
    }


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- report.md ---------------------------------------------------------------------------------


def _benchmark_section(metrics: Mapping) -> list[str]:
    scores = metrics["scores"]
    top = headline(metrics)
    out = [_table(list(top), [[pct(v) for v in top.values()]]), ""]
    if metrics["benchmark"] == "rewardbench":
        out += ["### Subsets", ""]
        rows = []
        for section, counts in REWARDBENCH_SECTIONS.items():
            for subset in counts:
                entry = scores["subsets"].get(subset)
                if entry is not None:
                    rows.append([section, subset, str(entry["pairs"]), str(counts[subset]), pct(entry["accuracy"])])
        for subset in scores["subsets_outside_sections"]:
            entry = scores["subsets"][subset]
            rows.append(["(none)", subset, str(entry["pairs"]), "—", pct(entry["accuracy"])])
        out += [_table(["Section", "Subset", "Pairs", "Official weight", "Accuracy"], rows), ""]
        if scores["missing_subsets"]:
            out += [f"Subsets not in the data: {', '.join(scores['missing_subsets'])}.", ""]
        missing = [s for s in SECTION_ORDER if scores["sections"][s] is None]
        if missing:
            out += [f"Sections without data: {', '.join(missing)}; no overall score without all four.", ""]
    elif metrics["benchmark"] == "rmbench":
        out += ["### Per domain", ""]
        rows = [
            [domain, str(d["pairs"]), *(pct(d[k]) for k in (*RMBENCH_LEVELS, "average"))]
            for domain, d in scores["domains"].items()
        ]
        out += [_table(["Domain", "Pairs", "Easy", "Normal", "Hard", "Avg"], rows), ""]
        out += ["Style matrix (rows: chosen style, columns: rejected style; "
                + ", ".join(f"{i} {s}" for i, s in enumerate(scores["styles"])) + "):", ""]
        for domain, d in scores["domains"].items():
            rows = [[f"{domain} {i}", *(pct(v) for v in row)] for i, row in enumerate(d["matrix"])]
            out += [_table(["chosen \\ rejected", "0", "1", "2"], rows), ""]
    elif metrics["benchmark"] == "judgebench":
        out += _judgebench_lines(scores)
    elif metrics["benchmark"] == "rewardbench2":
        out += _rewardbench2_lines(scores)
    else:
        rows = [[name, str(e["pairs"]), pct(e["accuracy"])] for name, e in scores["subsets"].items()]
        out += ["### Subsets", "", _table(["Subset", "Pairs", "Accuracy"], rows), ""]
        ties = scores.get("ties") or {}
        if ties.get("pairs"):
            out += [
                "### Ties",
                "",
                f"{ties['pairs']} tie pairs kept out of the accuracy above; {ties['scored']} judged in both orders "
                f"({ties['one_order_only']} in one order only, not scored). A tie is handled right when the two "
                "verdicts pick different responses (no net preference), wrong when both pick the same one, "
                f"0.5 when either is unreadable: tie accuracy {pct(ties['accuracy'])}. Tie-aware accuracy "
                f"(labelled pairs and scored ties pooled): {pct(scores['tie_aware_accuracy'])}.",
                "",
            ]
    return out


def _judgebench_lines(scores: Mapping) -> list[str]:
    rows = [
        [name, str(e["pairs"]), str(e["right"]), str(e["wrong"]), str(e["undecided"]), pct(e["accuracy"])]
        for name, e in [*scores["categories"].items(), ("overall", scores["overall"])]
    ]
    out = [
        "### Categories",
        "",
        "Official JudgeBench rule: each judgment votes +1 right, -1 wrong, 0 unreadable; a pair is right "
        "when its net vote over the orders is positive (right + unreadable is right; right + wrong is "
        "undecided). Overall is pooled over pairs.",
        "",
        _table(["Category", "Pairs", "Right", "Wrong", "Undecided", "Accuracy"], rows),
        "",
    ]
    if scores["missing_categories"]:
        out += [f"Categories not in the data: {', '.join(scores['missing_categories'])}.", ""]
    return out


def _rewardbench2_lines(scores: Mapping) -> list[str]:
    rows = []
    for name, e in scores["subsets"].items():
        rows.append([
            name, str(e["prompts"]), str(e["incomplete_prompts"]), _num(e["judgments_per_prompt"]),
            pct(e["score"]), pct(e.get("strict_accuracy")),
        ])
    out = [
        "### Subsets",
        "",
        "Best-of-4 subsets: right when the chosen reply beats all three rejected ones (3 comparisons per "
        "prompt; the score multiplies each comparison's credit, averaged over its orders). Ties: the "
        "official weighted score (rewardbench 0.1.4) on reply scores = mean credit against the other "
        "class. Overall: unweighted mean of the six subsets.",
        "",
        _table(["Subset", "Prompts", "Incomplete", "Judgments / prompt", "Score", "Strict"], rows),
        "",
        f"Judgments per prompt, all subsets: {_num(scores['judgments_per_prompt'])}.",
        "",
    ]
    ties = scores["subsets"].get(rewardbench2.TIES)
    if ties and ties.get("score") is not None:
        parts = [(k, ties[k]) for k in rewardbench2.TIES_WEIGHTS]
        out += ["### Ties components", "",
                _table(["Component", "Weight", "Value"],
                       [[k, f"{rewardbench2.TIES_WEIGHTS[k]:.2f}", f"{v:.4f}"] for k, v in parts]), ""]
    if scores["missing_subsets"]:
        out += [f"Subsets without a score: {', '.join(scores['missing_subsets'])}; no overall without all six.", ""]
    return out


def _diagnostics_section(metrics: Mapping) -> list[str]:
    d = metrics["diagnostics"]
    bias = d["position_bias"]
    rows = [
        ["Judgments / pairs / pairs in both orders", f"{d['judgments']} / {d['pairs']} / {d['pairs_with_both_orders']}"],
        ["Single accuracy (unparsable = 0.5)", pct(d["single_accuracy"])],
        ["Single accuracy (unparsable = wrong)", pct(d["strict_single_accuracy"])],
    ]
    rows += [[f"Accuracy, order {o}", pct(v)] for o, v in d["accuracy_by_order"].items()]
    rows += [
        ["Pair accuracy (right in both orders)", pct(d["pair_accuracy"])],
        ["Agreement between orders", pct(d["agreement"])],
        ["Parse failure rate", pct(d["parse_failure_rate"])],
        ["Truncated at the length limit", pct(d["truncated_rate"])],
        ["Verdicts (a) / labels (a), among readable verdicts", f"{pct(bias['verdict_share_a'])} / {pct(bias['label_share_a'])}"],
        ["Mean strength when right / wrong", f"{_num(d['mean_strength_when_right'])} / {_num(d['mean_strength_when_wrong'])}"],
        ["Mean thinking length (words / chars)", f"{_num(d['mean_thinking_words'])} / {_num(d['mean_thinking_chars'])}"],
        ["Mean reply length (tokens)", _num(d["mean_reply_tokens"])],
    ]
    out = ["## Judge diagnostics", "", _table(["Metric", "Value"], rows), ""]
    if d["parse_failures"]:
        out += ["### Parse failures by reason", ""]
        out += [_table(["Reason", "Judgments"], [[r, str(n)] for r, n in d["parse_failures"].items()]), ""]
    if d["strength_histogram"]:
        out += ["### Predicted strength", ""]
        out += [_table(["Strength", "Judgments"], [[k, str(v)] for k, v in d["strength_histogram"].items()]), ""]
    if d["calibration"]:
        out += ["### Strength calibration (labeled strength vs prediction)", ""]
        rows = [
            [level, str(c["judgments"]), pct(c["accuracy"]), _num(c["mean_predicted_strength"]),
             ", ".join(f"{k}: {v}" for k, v in c["predicted"].items()) or "—"]
            for level, c in d["calibration"].items()
        ]
        out += [_table(["Labeled", "Judgments", "Accuracy", "Mean predicted", "Predicted counts"], rows), ""]
    return out


def _num(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def render_report(metrics: Mapping) -> str:
    """``report.md`` for one evaluation, from its metrics dict."""
    lines = [
        f"# Evaluation: {metrics['benchmark']}",
        "",
        f"- Model: `{metrics.get('model') or '(generations file)'}`",
        f"- Data: `{metrics.get('data')}`",
        f"- Output format: `{metrics['format']}`",
        f"- Orders: {ORDER_NOTES.get(metrics.get('orders'), metrics.get('orders'))}",
        "- An unparsable verdict counts 0.5 (a tie), as in the official RewardBench generative script"
        + ("; in the JudgeBench scores it votes 0, as in the official JudgeBench metric."
           if metrics["benchmark"] == "judgebench" else "."),
    ]
    generation = metrics.get("generation")
    if generation:
        lines.append("- Generation: " + ", ".join(f"{k} {v}" for k, v in generation.items()))
    skipped = metrics.get("input", {}).get("skipped") or {}
    if skipped:
        lines.append("- Rows skipped when loading: " + ", ".join(f"{r}: {n}" for r, n in skipped.items()))
    lines += ["", f"## {metrics['benchmark']}", ""]
    lines += _benchmark_section(metrics)
    lines += _diagnostics_section(metrics)
    if metrics.get("plots"):
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in metrics["plots"]] + [""]
    return "\n".join(lines)


# --- plots -------------------------------------------------------------------------------------


def _save(figure, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def write_plots(metrics: Mapping, scored, out_dir: str | Path) -> list[str]:
    """Section bars, order consistency and (strength format) the strength histogram.

    Returns the file names written, relative to ``out_dir``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    written = []

    # Section bars: the headline numbers.
    top = headline(metrics)
    figure, axis = plt.subplots(figsize=(1.2 * len(top) + 2, 3.5))
    names = list(top)
    values = [100 * (v or 0.0) for v in top.values()]
    bars = axis.bar(names, values, color=["#4c72b0"] * (len(names) - 1) + ["#dd8452"])
    for bar, value in zip(bars, top.values()):
        axis.annotate(pct(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    axis.set_ylim(0, 105)
    axis.set_ylabel("accuracy (%)")
    axis.set_title(f"{metrics['benchmark']}: {metrics.get('model') or 'generations'}", fontsize=9)
    axis.tick_params(axis="x", labelrotation=20)
    _save(figure, out_dir / "sections.png")
    written.append("sections.png")

    # Order consistency: accuracy per order, and what happens to a pair when the order flips.
    d = metrics["diagnostics"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5), gridspec_kw={"wspace": 0.6})
    orders = list(d["accuracy_by_order"])
    left.bar(orders, [100 * d["accuracy_by_order"][o] for o in orders], color="#4c72b0")
    left.set_ylim(0, 105)
    left.set_ylabel("accuracy (%)")
    left.set_title("accuracy per order", fontsize=9)
    counts = consistency_counts(scored)
    if sum(counts.values()):
        right.barh(list(counts), list(counts.values()), color=["#55a868", "#c44e52", "#dd8452", "#8c8c8c"])
        right.invert_yaxis()
        right.set_xlabel("pairs")
        right.set_title("pairs judged in both orders", fontsize=9)
    else:
        right.axis("off")
        right.text(0.5, 0.5, "no pair judged in both orders", ha="center", va="center")
    _save(figure, out_dir / "order_consistency.png")
    written.append("order_consistency.png")

    if metrics["benchmark"] == "judgebench":
        written.append(_judgebench_plot(metrics["scores"], out_dir))
    elif metrics["benchmark"] == "rewardbench2":
        written.append(_rewardbench2_plot(metrics["scores"], out_dir))

    if metrics["format"] == "strength":
        figure, axis = plt.subplots(figsize=(5, 3.5))
        levels = ["1", "2", "3"]
        predicted = [d["strength_histogram"].get(k, 0) for k in levels]
        labeled = [d["calibration"].get(k, {}).get("judgments", 0) for k in levels]
        positions = range(len(levels))
        axis.bar([p - 0.2 for p in positions], predicted, width=0.4, label="predicted", color="#4c72b0")
        if sum(labeled):
            axis.bar([p + 0.2 for p in positions], labeled, width=0.4, label="labeled", color="#8c8c8c")
        axis.set_xticks(list(positions), levels)
        axis.set_xlabel("strength")
        axis.set_ylabel("judgments")
        axis.set_title("strength histogram", fontsize=9)
        axis.legend()
        _save(figure, out_dir / "strength_histogram.png")
        written.append("strength_histogram.png")
    return written


def _judgebench_plot(scores: Mapping, out_dir: Path) -> str:
    """Pairs right / undecided / wrong under the official net vote, per category and overall."""
    import matplotlib.pyplot as plt

    groups = [*scores["categories"].items(), ("overall", scores["overall"])]
    names = [name for name, _ in groups]
    figure, axis = plt.subplots(figsize=(1.3 * len(names) + 2, 3.5))
    bottom = [0.0] * len(names)
    for key, color in (("right", "#55a868"), ("undecided", "#8c8c8c"), ("wrong", "#c44e52")):
        shares = [100 * e[key] / e["pairs"] if e["pairs"] else 0.0 for _, e in groups]
        axis.bar(names, shares, bottom=bottom, color=color, label=key)
        bottom = [b + v for b, v in zip(bottom, shares)]
    axis.set_ylim(0, 100)
    axis.set_ylabel("pairs (%)")
    axis.set_title("JudgeBench: net vote over the orders per pair", fontsize=9)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _save(figure, out_dir / "judgebench_outcomes.png")
    return "judgebench_outcomes.png"


def _rewardbench2_plot(scores: Mapping, out_dir: Path) -> str:
    """Score per subset (bars) and judgments spent per prompt (points, right axis)."""
    import matplotlib.pyplot as plt

    names = list(scores["subsets"])
    figure, axis = plt.subplots(figsize=(1.3 * len(names) + 2, 3.5))
    axis.bar(names, [100 * (scores["subsets"][n]["score"] or 0.0) for n in names], color="#4c72b0")
    axis.set_ylim(0, 105)
    axis.set_ylabel("score (%)")
    spent = axis.twinx()
    per_prompt = [scores["subsets"][n]["judgments_per_prompt"] or 0 for n in names]
    spent.plot(names, per_prompt, "o", color="#dd8452")
    spent.set_ylabel("judgments per prompt", color="#dd8452")
    spent.set_ylim(0, 1.2 * max(per_prompt, default=1) or 1)
    axis.set_title(f"RewardBench 2: overall {pct(scores['overall'])}", fontsize=9)
    axis.tick_params(axis="x", labelrotation=20)
    _save(figure, out_dir / "rewardbench2_subsets.png")
    return "rewardbench2_subsets.png"
