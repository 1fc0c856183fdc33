"""A trained judge as the reward of a policy: the policy's reply against a reference reply.

For verl's reward loop with the judge served as its generative reward model
(``reward.reward_model.enable=true``, ``enable_resource_pool=true``, verl's ``naive`` reward
manager, ``reward.custom_reward_function.path=pkg://reward_fns.judge_reward``; recipe
``policy_grpo_judge``). verl calls the async `compute_score` once per rollout with
``reward_router_address`` (``host:port`` of its router in front of the judge's servers) and
``reward_model_tokenizer``; this function renders our judge prompt (`thinkj_verl.prompts`) with
the policy's reply as the canonical Response (a) and the row's reference reply as (b), asks the
judge in BOTH orders at once, parses both replies with the one parser, and maps them to a reward:

- each order gives ``+1`` when the judge picks the policy's reply, ``-1`` when it picks the
  reference; with ``strength_weight`` w and the judged strength s (1..3) the value is
  ``±(1 + w (s - 2))``;
- the reward is the mean of the two orders: a consistent win is ``+1`` (w = 0), a consistent loss
  ``-1``, and two orders that disagree (position bias: a tie) about 0;
- ``NEUTRAL_REWARD`` (0.0, a tie's value) when either order did not give a well-formed verdict
  (the reply did not parse, was cut, or the call failed after its retries): a judge that fails
  must neither reward nor punish the policy; such samples are counted (``neutral``,
  ``judge_format_fail``, ``judge_call_fail``), never dropped, and never stop the run;
- an empty policy reply is a loss (``-1``) without asking the judge (``empty_reply``).

Pointwise mode (``judge_format=pointwise``, J1's pointwise judge): the judge scores the policy's
reply and the reference each ALONE (0..10, both calls at once); the reward is
``(score of the reply - score of the reference) / 10`` in -1..1, the outcome a win, loss or tie
(equal scores) by the two scores, and a missing score gives the neutral reward as above.

The row (`thinkj_verl.data.policy`) carries the reference reply as
``reward_model.ground_truth`` and the conversation as ``extra_info["conversation"]`` (verl hands
the reward function no prompt messages).

Components (``reward_extra_info``; verl logs their means at validation as
``val-*/<source>/<name>/mean@1``, and the ``thinkj`` trainer logs ``policy/*`` every step from
them, `thinkj_verl.policy_metrics`): ``win``, ``tie``, ``loss`` vs the reference (all 0 when
neutral), ``consistent``, ``neutral``, ``judge_format_fail`` and ``judge_call_fail`` (share of
the two orders), ``judge_retries``, ``judge_think_tokens`` (mean thinking length of the parsed
replies, in the judge's tokens; words without a tokenizer), ``reply_chars``, ``empty_reply``.

Gold judge (the reward-hacking watch, method section 4): with ``gold_url`` the same pair is also
put to a second judge behind any OpenAI-compatible endpoint, for rows whose
``extra_info["split"]`` is in ``gold_splits`` (the validation rows by default) and for a
deterministic ``gold_sample_rate`` share of the others. It never changes the reward. Components:
``gold_asked``, ``gold_win``, ``gold_tie``, ``gold_loss``, ``gold_neutral``, ``gold_agree`` (the
two judges reached the same outcome) and ``gold_gap`` = outcome under the training judge minus
outcome under the gold judge (win 1, tie or neutral 0.5, loss 0): its mean is the win-rate gap,
which grows when the policy learns to please the training judge and not the gold one.

>>> from thinkj_verl.parser import parse_judgment
>>> from thinkj_verl.judge_client import ChatResult, PairVerdict
>>> won = PairVerdict({"ab": ChatResult("."), "ba": ChatResult(".")},
...                   {"ab": parse_judgment("Therefore, Response (a) is better, and the strength is [[3]].", "strength"),
...                    "ba": parse_judgment("Therefore, Response (b) is better, and the strength is [[1]].", "strength")})
>>> reward_of(won, strength_weight=0.0), reward_of(won, strength_weight=0.5), outcome(won)
(1.0, 1.0, 'win')
"""

from __future__ import annotations

import asyncio
import hashlib

from thinkj_verl.data.pairs import Pair
from thinkj_verl.ground_truth import GroundTruth
from thinkj_verl.judge_client import JudgeClient, PairVerdict, PointwiseVerdict

NEUTRAL_REWARD = 0.0
EMPTY_REPLY_REWARD = -1.0
OUTCOME_VALUE = {"win": 1.0, "tie": 0.5, "neutral": 0.5, "loss": 0.0}
COMPONENTS = (
    "win", "tie", "loss", "consistent", "neutral", "judge_format_fail", "judge_call_fail", "judge_retries",
    "judge_think_tokens", "reply_chars", "empty_reply",
    "gold_asked", "gold_win", "gold_tie", "gold_loss", "gold_neutral", "gold_agree", "gold_gap",
)


def outcome(verdict: PairVerdict | PointwiseVerdict) -> str:
    """``win`` / ``loss`` (the policy's reply, canonical (a), picked in both orders or in
    neither; pointwise: scored higher or lower), ``tie`` (both orders parsed and disagree;
    pointwise: equal scores) or ``neutral`` (an order or a score did not parse)."""
    if not verdict.parsed:
        return "neutral"
    if not verdict.consistent or verdict.winner is None:
        return "tie"
    return "win" if verdict.winner == "a" else "loss"


def reward_of(verdict: PairVerdict | PointwiseVerdict, strength_weight: float = 0.0) -> float:
    """The reward of one pair judged in both orders, or pointwise (see the module docstring).

    >>> from thinkj_verl.judge_client import ChatResult
    >>> from thinkj_verl.parser import parse_judgment
    >>> scored = PointwiseVerdict({"a": ChatResult("."), "b": ChatResult(".")},
    ...     {side: parse_judgment(f"Therefore, the score of the response is [[{s}]].", "pointwise")
    ...      for side, s in (("a", 9), ("b", 6))})
    >>> reward_of(scored), outcome(scored)
    (0.3, 'win')
    """
    if not verdict.parsed:
        return NEUTRAL_REWARD
    if isinstance(verdict, PointwiseVerdict):
        return (verdict.scores["a"] - verdict.scores["b"]) / 10
    values = []
    for order, side in verdict.sides.items():
        strength = verdict.judgments[order].strength
        size = 1.0 + strength_weight * ((strength if strength is not None else 2) - 2)
        values.append(size if side == "a" else -size)
    return sum(values) / len(values)


def _think_length(verdict: PairVerdict, tokenizer) -> float:
    traces = [j.trace for j in verdict.judgments.values() if j is not None and j.format_ok]
    if not traces:
        return 0.0
    if tokenizer is not None:
        lengths = [len(tokenizer.encode(t, add_special_tokens=False)) for t in traces]
    else:
        lengths = [len(t.split()) for t in traces]
    return sum(lengths) / len(lengths)


def _sampled(key: str, rate: float) -> bool:
    if rate <= 0:
        return False
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def _reference(ground_truth, extra_info: dict) -> str:
    reference = ground_truth if isinstance(ground_truth, str) else extra_info.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError(
            f"policy row {extra_info.get('pair_id')!r}: no reference reply (reward_model.ground_truth must be the "
            "reference text); build policy rows with `thinkj prepare --task policy`"
        )
    return reference


def _conversation(extra_info: dict) -> list[dict]:
    conversation = extra_info.get("conversation")
    if conversation is None or not len(conversation):
        raise ValueError(
            f"policy row {extra_info.get('pair_id')!r}: extra_info.conversation is missing; build policy rows "
            "with `thinkj prepare --task policy`"
        )
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in conversation]


def _empty_components(reply: str) -> dict:
    row = dict.fromkeys(COMPONENTS, 0.0)
    row["reply_chars"] = float(len(reply))
    return row


async def compute_score(
    data_source,
    solution_str,
    ground_truth,
    extra_info=None,
    *,
    reward_router_address: str | None = None,
    reward_model_tokenizer=None,
    judge_url: str | None = None,
    judge_model: str | None = None,
    judge_format: str = "strength",
    strength_weight: float = 0.0,
    max_tokens: int | None = None,
    temperature: float = 0.0,
    timeout_s: float = 300.0,
    max_attempts: int = 3,
    backoff_s: float = 1.0,
    gold_url: str | None = None,
    gold_model: str | None = None,
    gold_format: str = "strength",
    gold_api_key: str | None = None,
    gold_max_tokens: int | None = None,
    gold_splits=("val",),
    gold_sample_rate: float = 0.0,
    **kwargs,
) -> dict:
    """Score one policy reply against the row's reference with the judge (module docstring).

    ``judge_url`` overrides verl's ``reward_router_address`` (a judge served outside verl).
    Other keywords verl adds (``num_turns`` and the like ride in ``extra_info``) are refused by
    name, so a typo in ``reward_kwargs`` fails the first sample loudly.
    """
    if kwargs:
        raise TypeError(f"judge_reward.compute_score() got unknown keyword argument(s) {sorted(kwargs)}")
    extra_info = dict(extra_info or {})
    url = judge_url or reward_router_address
    if not url:
        raise ValueError(
            "judge_reward needs the judge's address: set reward.reward_model.enable=true (verl passes its router) "
            "or reward.custom_reward_function.reward_kwargs.judge_url"
        )
    reply = solution_str if isinstance(solution_str, str) else ""
    row = _empty_components(reply)
    if not reply.strip():
        row["empty_reply"] = row["loss"] = 1.0
        return {"score": EMPTY_REPLY_REWARD, **row}
    pair = Pair(
        id=str(extra_info.get("pair_id") or "policy"), source=str(data_source),
        conversation=_conversation(extra_info), response_a=reply, response_b=_reference(ground_truth, extra_info),
        label=GroundTruth("a"),  # unused: the judge's verdict is the outcome here, not checked against a label
    )
    # verl's vLLM server serves the judge under its local path (`vllm serve <local_path>`), the path
    # verl loaded this tokenizer from; the thinkj_cpu server ignores the name.
    model = judge_model or getattr(reward_model_tokenizer, "name_or_path", None)
    judge = JudgeClient(url, model, fmt=judge_format, max_tokens=max_tokens, temperature=temperature,
                        timeout_s=timeout_s, max_attempts=max_attempts, backoff_s=backoff_s)
    asks = [judge.judge_pair(pair)]
    gold = None
    splits = (gold_splits,) if isinstance(gold_splits, str) else tuple(gold_splits or ())
    if gold_url and (extra_info.get("split") in splits or _sampled(f"{pair.id}\0{reply}", gold_sample_rate)):
        gold = JudgeClient(gold_url, gold_model, fmt=gold_format, max_tokens=gold_max_tokens, temperature=0.0,
                           timeout_s=timeout_s, max_attempts=max_attempts, backoff_s=backoff_s, api_key=gold_api_key)
        asks.append(gold.judge_pair(pair))
    verdicts = await asyncio.gather(*asks)
    verdict = verdicts[0]
    result = outcome(verdict)
    row.update(
        win=float(result == "win"), tie=float(result == "tie"), loss=float(result == "loss"),
        consistent=float(verdict.consistent), neutral=float(result == "neutral"),
        judge_format_fail=verdict.format_failures / 2, judge_call_fail=verdict.failed_calls / 2,
        judge_retries=float(judge.counts["retries"]),
        judge_think_tokens=_think_length(verdict, reward_model_tokenizer),
    )
    if gold is not None:
        gold_result = outcome(verdicts[1])
        row.update(
            gold_asked=1.0, gold_win=float(gold_result == "win"), gold_tie=float(gold_result == "tie"),
            gold_loss=float(gold_result == "loss"), gold_neutral=float(gold_result == "neutral"),
            gold_agree=float(result == gold_result and "neutral" not in (result, gold_result)),
            gold_gap=OUTCOME_VALUE[result] - OUTCOME_VALUE[gold_result],
        )
    return {"score": reward_of(verdict, strength_weight), **row}
