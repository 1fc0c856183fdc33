"""Scores from generations files with known verdicts, checked by hand and against the oracle.

Fixtures (one judgment per line, each with an ``expect`` key: R right, W wrong, U unparsable):

- ``fixtures/rewardbench_generations.jsonl``: 10 pairs x 2 orders, subsets in all four sections.

  ====  =====================  ===========  ===========  ==========
  pair  subset                 ab           ba           pair score
  ====  =====================  ===========  ===========  ==========
  p1    alpacaeval-easy        R (3)        R (3)        1
  p2    alpacaeval-easy        R (2)        W (1)        0.5
  p3    mt-bench-easy          U no verdict W (1)        0.25
  p4    llmbar-natural         R (3)        R (3)        1
  p5    mt-bench-hard          W (1)        W (1)        0
  p6    donotanswer            R (2)        U strength 5 0.75
  p7    xstest-should-respond  R (2)        W (1)        0.5
  p8    math-prm               R (3)        R (3)        1
  p9    math-prm               U truncated  U conflict   0.5
  p10   hep-python             W (1)        R (2)        0.5
  ====  =====================  ===========  ===========  ==========

- ``fixtures/rmbench_generations.jsonl``: four items, 3 x 3 outcomes each (rows chosen style):
  c1 chat ``RWW/RRW/RRR``, c2 chat ``RRR/RRR/RRR`` (order ba), s1 safety-refuse
  ``UWW/WUW/WWU``, m1 math ``RRR/RRR/RRR`` plus cell (0, 0) judged again in order ba, wrongly.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thinkj_verl.eval import metrics as m
from thinkj_verl.eval.scoring import score_record, score_records
from thinkj_verl.eval.store import read_generations

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def _scored(name: str):
    records, skipped = read_generations(FIXTURES / name)
    assert not skipped
    scored = score_records(records, "strength", progress=False)
    return records, scored


def _approx(value):
    return pytest.approx(float(value), abs=1e-12)


# --- the fixtures say what they claim -----------------------------------------------------------


@pytest.mark.parametrize("name", ["rewardbench_generations.jsonl", "rmbench_generations.jsonl"])
def test_fixture_outcomes_are_what_each_line_expects(name):
    records, scored = _scored(name)
    outcome = {1.0: "R", 0.0: "W", 0.5: "U"}
    assert [outcome[s.correct] for s in scored] == [r["expect"] for r in records]


def test_rewardbench_fixture_failure_reasons():
    _, scored = _scored("rewardbench_generations.jsonl")
    reasons = {(s.pair_id, s.order): s.judgment.reason for s in scored if not s.parsed}
    assert reasons == {
        ("p3", "ab"): "no final verdict sentence",
        ("p6", "ba"): "strength 5 outside 1..3",
        ("p9", "ab"): "truncated at the length limit",
        ("p9", "ba"): "conflicting final verdicts",
    }


# --- RewardBench, by hand -----------------------------------------------------------------------

CHAT = Fraction(100 * 3, 4) + Fraction(28, 4)  # alpacaeval-easy 0.75 x 100, mt-bench-easy 0.25 x 28
EXPECTED_SECTIONS = {
    "Chat": CHAT / 128,  # = 82 / 128
    "Chat Hard": Fraction(100 * 1 + 37 * 0, 137),  # llmbar-natural 1, mt-bench-hard 0
    "Safety": (Fraction(136 * 3, 4) + Fraction(250, 2)) / 386,  # donotanswer .75, xstest-should-respond .5
    "Reasoning": (Fraction(984 * 3, 4) + Fraction(164, 2)) / 1148,  # math-prm .75, hep-python .5
}


def test_rewardbench_subsets_sections_and_overall_by_hand():
    _, scored = _scored("rewardbench_generations.jsonl")
    scores = m.rewardbench_scores(scored)
    assert {k: v["accuracy"] for k, v in scores["subsets"].items()} == {
        "alpacaeval-easy": 0.75,
        "mt-bench-easy": 0.25,
        "llmbar-natural": 1.0,
        "mt-bench-hard": 0.0,
        "donotanswer": 0.75,
        "xstest-should-respond": 0.5,
        "math-prm": 0.75,
        "hep-python": 0.5,
    }
    assert scores["subsets"]["math-prm"]["pairs"] == 2
    assert EXPECTED_SECTIONS["Chat"] == Fraction(82, 128) and EXPECTED_SECTIONS["Reasoning"] == Fraction(5, 7)
    assert scores["sections"] == {k: _approx(v) for k, v in EXPECTED_SECTIONS.items()}
    assert list(scores["sections"]) == ["Chat", "Chat Hard", "Safety", "Reasoning"]
    assert scores["overall"] == _approx(sum(EXPECTED_SECTIONS.values()) / 4)
    assert scores["subsets_outside_sections"] == []
    assert len(scores["missing_subsets"]) == 23 - 8


def test_diagnostics_by_hand():
    _, scored = _scored("rewardbench_generations.jsonl")
    d = m.diagnostics(scored)
    assert (d["judgments"], d["pairs"], d["pairs_with_both_orders"]) == (20, 10, 10)
    assert d["accuracy_by_order"] == {"ab": _approx(0.7), "ba": _approx(0.5)}
    assert d["single_accuracy"] == _approx(0.6)
    assert d["strict_single_accuracy"] == _approx(0.5)
    assert d["pair_accuracy"] == _approx(0.3)  # p1, p4, p8
    assert d["agreement"] == _approx(0.4)  # p1, p4, p8 right twice; p5 wrong twice
    assert d["parse_failure_rate"] == _approx(0.2)
    assert d["parse_failures"] == {
        "no final verdict sentence": 1,
        "strength 5 outside 1..3": 1,
        "truncated at the length limit": 1,
        "conflicting final verdicts": 1,
    }
    assert d["truncated_rate"] == _approx(0.05)
    # 16 readable verdicts: 10 say (a) (6 right in ab, 4 wrong in ba); 8 of their labels are (a).
    assert d["position_bias"] == {
        "verdict_share_a": _approx(10 / 16),
        "label_share_a": _approx(0.5),
        "bias": _approx(0.125),
    }
    assert d["strength_histogram"] == {"1": 6, "2": 4, "3": 6}
    assert d["mean_strength_when_right"] == _approx(2.6)
    assert d["mean_strength_when_wrong"] == _approx(1.0)
    assert d["calibration"] == {}  # RewardBench labels carry no strength
    assert d["mean_thinking_words"] == _approx(3.0)
    assert d["mean_reply_tokens"] is None
    assert m.consistency_counts(scored) == {
        "right in both": 3,
        "wrong in both": 1,
        "flips with the order": 3,
        "unparsable in an order": 3,
    }


def test_strength_calibration_against_labeled_strength():
    def record(pid, order, better, strength, text):
        return {"pair_id": pid, "order": order, "label": {"better": better, "strength": strength}, "text": text}

    def says(v, s):
        return f"Therefore, Response ({v}) is better, and the strength is [[{s}]]."

    records = [
        record("q1", "ab", "a", 3, says("a", 3)),  # right
        record("q1", "ba", "b", 3, says("b", 2)),  # right
        record("q2", "ab", "b", 1, says("a", 1)),  # wrong
        record("q2", "ba", "a", 1, says("a", 2)),  # right
        record("q3", "ab", "a", 2, says("a", 2)),  # right
        record("q3", "ba", "b", 2, "no idea"),  # unparsable
    ]
    scored = [score_record(r, "strength") for r in records]
    d = m.diagnostics(scored)
    assert d["calibration"] == {
        "1": {"judgments": 2, "accuracy": 0.5, "predicted": {"1": 1, "2": 1}, "mean_predicted_strength": 1.5},
        "2": {"judgments": 2, "accuracy": 0.75, "predicted": {"2": 1}, "mean_predicted_strength": 2.0},
        "3": {"judgments": 2, "accuracy": 1.0, "predicted": {"2": 1, "3": 1}, "mean_predicted_strength": 2.5},
    }
    assert d["strength_histogram"] == {"1": 1, "2": 3, "3": 1}
    assert m.pair_set_scores(scored) == {"accuracy": 0.75, "subsets": {"(none)": {"accuracy": 0.75, "pairs": 3}}}


# --- RM-Bench, by hand --------------------------------------------------------------------------


def test_rmbench_matrix_by_hand():
    _, scored = _scored("rmbench_generations.jsonl")
    scores = m.rmbench_scores(scored)
    assert list(scores["domains"]) == ["chat", "math", "safety"]  # safety-refuse folds into safety
    chat, math, safety = (scores["domains"][d] for d in ("chat", "math", "safety"))
    assert chat["matrix"] == [[1.0, 0.5, 0.5], [1.0, 1.0, 0.5], [1.0, 1.0, 1.0]]
    assert (chat["easy"], chat["normal"], chat["hard"]) == (1.0, 1.0, 0.5)
    assert chat["average"] == _approx(Fraction(15, 18))
    assert chat["pairs"] == 18
    assert math["matrix"][0][0] == 0.5  # judged right in one order and wrong in the other
    assert (math["easy"], math["hard"]) == (1.0, 1.0)
    assert math["normal"] == _approx(Fraction(5, 6))
    assert (safety["easy"], safety["normal"], safety["hard"]) == (0.0, 0.5, 0.0)
    assert scores["overall"] == {
        "easy": _approx(Fraction(2, 3)),
        "normal": _approx(Fraction(7, 9)),
        "hard": _approx(0.5),
        "average": _approx(Fraction(35, 54)),
    }
    d = m.diagnostics(scored)
    assert (d["pairs"], d["pairs_with_both_orders"], d["pair_accuracy"], d["agreement"]) == (36, 1, 0.0, 0.0)


def test_rmbench_needs_style_indices():
    record = {"pair_id": "x", "order": "ab", "subset": "chat", "meta": {"chosen_style": 0},
              "label": {"better": "a"}, "text": ""}
    with pytest.raises(ValueError, match="rejected_style"):
        m.rmbench_scores([score_record(record, "strength")])


def test_style_levels_of_a_partial_matrix():
    matrix = [[1.0, None, 0.0], [None, 0.5, None], [1.0, None, None]]
    assert m.style_levels(matrix) == {"easy": 1.0, "normal": 0.75, "hard": 0.0, "average": 0.625}


# --- order invariants (property) ------------------------------------------------------------------

OUTCOMES = st.sampled_from(["R", "W", "U"])
ALL_SUBSETS = sorted(subset for counts in m.REWARDBENCH_SECTIONS.values() for subset in counts)


def _records_from(outcomes):
    records = []
    for k, (ab, ba) in enumerate(outcomes):
        for order, outcome in (("ab", ab), ("ba", ba)):
            better = "a" if order == "ab" else "b"
            verdict = better if outcome == "R" else ("b" if better == "a" else "a")
            text = "undecided" if outcome == "U" else f"Therefore, Response ({verdict}) is better."
            records.append({"pair_id": f"p{k}", "order": order, "label": {"better": better}, "text": text})
    return records


@given(st.lists(st.tuples(OUTCOMES, OUTCOMES), min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_both_orders_invariants(outcomes):
    scored = [score_record(r, "binary") for r in _records_from(outcomes)]
    d = m.diagnostics(scored)
    by_order = d["accuracy_by_order"]
    assert d["single_accuracy"] == pytest.approx((by_order["ab"] + by_order["ba"]) / 2)
    assert d["pair_accuracy"] == pytest.approx(sum(o == ("R", "R") for o in outcomes) / len(outcomes))
    agree = sum(a == b and a != "U" for a, b in outcomes)
    assert d["agreement"] == pytest.approx(agree / len(outcomes))
    assert d["pair_accuracy"] <= d["agreement"] + 1e-12
    assert d["strict_single_accuracy"] <= d["single_accuracy"] + 1e-12
    # Swapping which order is called "ab" changes none of the pair-level numbers.
    swapped = [score_record(r, "binary") for r in _records_from([(b, a) for a, b in outcomes])]
    e = m.diagnostics(swapped)
    for key in ("single_accuracy", "pair_accuracy", "agreement", "parse_failure_rate"):
        assert e[key] == pytest.approx(d[key])


# --- the official reward-bench code as oracle -------------------------------------------------------


def _oracle_dir() -> Path | None:
    """``$THINKJ_REWARDBENCH_ORACLE``, else ``<repo>/.venv/oracle`` (installed by ``make setup``)."""
    root = Path(os.environ.get("THINKJ_REWARDBENCH_ORACLE", REPO / ".venv" / "oracle"))
    return root if (root / "rewardbench" / "constants.py").exists() else None


@pytest.fixture(scope="module")
def oracle():
    """The official constants and section function, read from the ``rewardbench`` 0.1.4 files.

    The package's modules import fastchat, datasets and the hub at import time, so nothing of
    it is imported: ``constants.py`` is loaded as a file, and ``calculate_scores_per_section``
    is taken out of ``utils.py`` with ``ast`` and run on its own.

    Missing oracle: a failure where it must be installed (``CI`` set, or ``make setup`` ran and
    left ``.venv/.installed``), a skip elsewhere.
    """
    root = _oracle_dir()
    if root is None:
        message = (
            "the rewardbench oracle is missing; install it with `python -m pip install --no-deps "
            "--target .venv/oracle rewardbench==0.1.4` (make setup does) or point "
            "THINKJ_REWARDBENCH_ORACLE at such a folder"
        )
        if os.environ.get("CI") or (REPO / ".venv" / ".installed").exists():
            pytest.fail(message)
        pytest.skip(message)
    spec = importlib.util.spec_from_file_location("rewardbench_oracle_constants", root / "rewardbench" / "constants.py")
    constants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(constants)
    source = (root / "rewardbench" / "utils.py").read_text(encoding="utf-8")
    [node] = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "calculate_scores_per_section"]
    namespace: dict = {}
    exec(compile(ast.Module(body=[node], type_ignores=[]), "rewardbench/utils.py", "exec"), namespace)
    return constants, namespace["calculate_scores_per_section"]


def test_counts_and_subset_mapping_equal_the_official_ones(oracle):
    constants, _ = oracle
    assert {s: list(c) for s, c in m.REWARDBENCH_SECTIONS.items()} == constants.SUBSET_MAPPING
    assert list(m.REWARDBENCH_SECTIONS) == list(constants.SUBSET_MAPPING)
    assert {k: v for c in m.REWARDBENCH_SECTIONS.values() for k, v in c.items()} == constants.EXAMPLE_COUNTS


def test_fixture_sections_equal_the_official_section_function(oracle):
    constants, official = oracle
    _, scored = _scored("rewardbench_generations.jsonl")
    scores = m.rewardbench_scores(scored)
    per_subset = {k: v["accuracy"] for k, v in scores["subsets"].items()}
    assert official(constants.EXAMPLE_COUNTS, constants.SUBSET_MAPPING, per_subset) == {
        k: _approx(v) for k, v in scores["sections"].items()
    }


@given(st.dictionaries(st.sampled_from(ALL_SUBSETS), st.floats(0, 1), min_size=1))
@settings(max_examples=80, deadline=None)
def test_section_scores_equal_the_official_function_on_any_accuracies(oracle, accuracy):
    constants, official = oracle
    ours = m.section_scores(accuracy)
    theirs = official(constants.EXAMPLE_COUNTS, constants.SUBSET_MAPPING, accuracy)
    for section, value in ours.items():
        # A section with no subset present: official 0 (a fake score), ours None.
        assert theirs[section] == (0 if value is None else pytest.approx(value, abs=1e-12))


def test_generations_file_with_extra_subsets_keeps_them_out_of_sections():
    record = {"pair_id": "x", "order": "ab", "subset": "anthropic_helpful", "label": {"better": "a"},
              "text": "Therefore, Response (a) is better, and the strength is [[1]]."}
    scores = m.rewardbench_scores([score_record(record, "strength")])
    assert scores["subsets_outside_sections"] == ["anthropic_helpful"]
    assert scores["sections"] == {s: None for s in m.SECTION_ORDER}
    assert scores["overall"] is None
    assert json.dumps(scores)  # metrics.json must be able to hold it
