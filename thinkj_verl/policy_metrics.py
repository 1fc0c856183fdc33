"""Per-step metrics of a policy trained with a judge as its reward: the reward-hacking watch.

Each row is one rollout's reward components from ``reward_fns/judge_reward.py`` (plus
``score``). The ``thinkj`` trainer (`thinkj_verl.trainer`) logs these as ``policy/*`` at every
training step; verl logs the components' means at validation by itself.

- ``policy/reward``: the mean judge reward (what GRPO trained on);
- ``policy/judge_win_rate``: the policy's win rate vs the reference under the training judge
  (win 1, tie 0.5, loss 0; neutral rows, where the judge gave no verdict, left out);
- ``policy/neutral_rate``, ``policy/judge_consistency``, ``policy/judge_format_fail``,
  ``policy/judge_call_fail``, ``policy/judge_think_tokens``, ``policy/reply_chars``,
  ``policy/reply_tokens`` (the policy's tokens, from the batch);
- over the rows the gold judge also saw (``policy/gold_asked`` of them):
  ``policy/gold_win_rate``, ``policy/judge_win_rate_gold_rows`` (the training judge on the same
  rows), ``policy/gold_agreement`` and ``policy/gold_gap`` (training minus gold outcome, the
  hacking signal: it grows when the policy pleases the training judge but not the gold one);
- ``policy/length_reward_corr``: Pearson correlation of reply length and reward in the batch
  (a judge that pays for length shows it here first).

>>> rows = [dict(score=1.0, win=1.0, tie=0.0, loss=0.0, neutral=0.0, reply_chars=90.0, gold_asked=1.0,
...              gold_win=0.0, gold_tie=0.0, gold_loss=1.0, gold_neutral=0.0, gold_agree=0.0, gold_gap=1.0),
...         dict(score=-1.0, win=0.0, tie=0.0, loss=1.0, neutral=0.0, reply_chars=10.0, gold_asked=0.0)]
>>> m = policy_metrics(rows)
>>> m["policy/judge_win_rate"], m["policy/gold_win_rate"], m["policy/gold_gap"], m["policy/length_reward_corr"]
(0.5, 0.0, 1.0, 1.0)
"""

from __future__ import annotations

from statistics import fmean

POLICY_KEYS = frozenset({"win", "tie", "loss", "neutral"})


def is_policy_row(row: dict) -> bool:
    """Whether a rollout's reward components are the judge reward's."""
    return POLICY_KEYS <= row.keys()


def _mean(values) -> float | None:
    values = [float(v) for v in values if v is not None]
    return fmean(values) if values else None


def _win_rate(rows, prefix: str = "") -> float | None:
    return _mean(
        float(r.get(f"{prefix}win", 0)) + 0.5 * float(r.get(f"{prefix}tie", 0))
        for r in rows if not r.get(f"{prefix}neutral")
    )


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mx, my = fmean(xs), fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / (sxx * syy) ** 0.5


def policy_metrics(rows: list[dict]) -> dict[str, float]:
    """The ``policy/*`` metrics of one batch (keys with no data are left out)."""
    rows = [r for r in rows if is_policy_row(r)]
    if not rows:
        return {}
    gold = [r for r in rows if r.get("gold_asked")]
    scored = [r for r in rows if r.get("score") is not None and r.get("reply_chars") is not None]
    out = {
        "policy/reward": _mean(r.get("score") for r in rows),
        "policy/judge_win_rate": _win_rate(rows),
        "policy/neutral_rate": _mean(r.get("neutral") for r in rows),
        "policy/judge_consistency": _mean(r.get("consistent") for r in rows),
        "policy/judge_format_fail": _mean(r.get("judge_format_fail") for r in rows),
        "policy/judge_call_fail": _mean(r.get("judge_call_fail") for r in rows),
        "policy/judge_think_tokens": _mean(r.get("judge_think_tokens") for r in rows),
        "policy/reply_chars": _mean(r.get("reply_chars") for r in rows),
        "policy/reply_tokens": _mean(r.get("reply_tokens") for r in rows),
        "policy/length_reward_corr": _correlation([float(r["reply_chars"]) for r in scored],
                                                  [float(r["score"]) for r in scored]),
        "policy/gold_asked": float(len(gold)),
    }
    if gold:
        out.update({
            "policy/gold_win_rate": _win_rate(gold, "gold_"),
            "policy/judge_win_rate_gold_rows": _win_rate(gold),
            "policy/gold_agreement": _mean(r.get("gold_agree") for r in gold),
            "policy/gold_gap": _mean(r.get("gold_gap") for r in gold),
        })
    return {key: value for key, value in out.items() if value is not None}
