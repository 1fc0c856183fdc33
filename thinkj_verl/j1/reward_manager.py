"""The ``thinkj_pair`` reward manager: one reward per J1 session (`thinkj_verl.j1.session`).

Select it with ``reward.reward_manager.name=thinkj_pair`` together with
``actor_rollout_ref.rollout.agent.default_agent_loop=thinkj_pair``. verl calls ``run_single``
once per session with every output of the session (each tagged with its view by the agent
loop), and gives the reward returned here to EVERY output of the session:

- pairwise formats: each order's reply is scored by the configured reward function
  (``reward.custom_reward_function.path``, else ``reward_fns.thinkj_strength``) against the
  label as shown in that order, then ``R = consistency_weight * [right in both orders] +
  order_weight * mean(per-order rewards)``. So the ``ab`` judgment and the ``ba`` judgment of a
  session receive the same R: a judgment right in its order but inconsistent with its sibling
  gets no consistency credit.
- the ``pointwise`` format: ``R = accuracy_weight * [the better response scored higher] +
  format_weight * share of the two replies in format``; both score replies receive R.

Reward kwargs (``reward.custom_reward_function.reward_kwargs``): ``consistency_weight`` and
``order_weight`` (default 1.0 each) are the session's; every other key goes to the reward
function, which checks it. A bad key or a weight that is not a finite number fails when the
manager is built (the ``thinkj`` trainer builds it at launch, `check_reward_manager`). Per-order
truncation and reward-function failures are handled as in the ``thinkj`` manager, which this
one extends; ``reward_extra_info`` holds each order's components (``acc_ab``, ``verdict_ba``,
...) and the session's (``pair_acc``, ``consistent``, ``r_order``; pointwise: ``tie``,
``score_gap``, ``score_a``, ``score_b``), which the per-step diagnostics read.

Needs verl's v1 trainer (``trainer.use_v1=true``, the default): only its agent-loop path takes
several outputs per item.
"""

from __future__ import annotations

import inspect

from omegaconf import OmegaConf
from verl.experimental.reward_loop.reward_manager import register

from thinkj_verl.formats import get_format
from thinkj_verl.j1.session import (
    PAIRWISE_VIEWS,
    POINTWISE_VIEWS,
    SESSION_WEIGHTS,
    VIEW_KEY,
    SessionError,
    combine_orders,
    score_pointwise,
    session_pair,
    split_reward_kwargs,
)
from thinkj_verl.prompts import label_for
from thinkj_verl.reward_manager import ThinkJRewardManager, _COLOCATED_HELP, MissingLabelsError

NAME = "thinkj_pair"
AGENT_LOOP_HELP = (
    "the thinkj_pair reward manager got outputs without a session view: select the agent loop "
    "with actor_rollout_ref.rollout.agent.default_agent_loop=thinkj_pair"
)


def _function_config(config):
    """A copy of ``config`` whose reward_kwargs hold only the reward function's keys."""
    copy = OmegaConf.create(OmegaConf.to_container(config, resolve=False)) if OmegaConf.is_config(config) else config
    function_config = copy.reward.get("custom_reward_function") or {}
    reward_kwargs = function_config.get("reward_kwargs") or {}
    session, function_kwargs = split_reward_kwargs(
        OmegaConf.to_container(reward_kwargs, resolve=True) if OmegaConf.is_config(reward_kwargs) else reward_kwargs
    )
    if OmegaConf.is_config(copy) and "custom_reward_function" in copy.reward:
        with _open(copy):
            copy.reward.custom_reward_function.reward_kwargs = function_kwargs
    return copy, session, function_kwargs


class _open:
    """Lift struct mode while a key is replaced (verl's config is a struct)."""

    def __init__(self, config):
        self.config = config

    def __enter__(self):
        self.was = OmegaConf.is_struct(self.config)
        OmegaConf.set_struct(self.config, False)

    def __exit__(self, *exc):
        OmegaConf.set_struct(self.config, self.was)


@register(NAME)
class ThinkjPairRewardManager(ThinkJRewardManager):
    """Scores a whole J1 session (both orders, or both pointwise scores) in one call."""

    def __init__(
        self, config, tokenizer, compute_score=None, reward_router_address=None, reward_model_tokenizer=None
    ):
        from verl.trainer.ppo.reward import get_custom_reward_fn

        try:
            function_config, self.session_weights, self.function_kwargs = _function_config(config)
        except SessionError as error:
            raise ValueError(str(error)) from error
        # verl bound every reward kwarg (the session's too) to the function it passed in; rebuild
        # it with the function's own kwargs (None without a path: the thinkj default applies).
        compute_score = get_custom_reward_fn(function_config)
        super().__init__(function_config, tokenizer, compute_score, reward_router_address, reward_model_tokenizer)
        if OmegaConf.select(config, "data.thinkj.format", default=None) == "pointwise":
            self._probe_pointwise()

    def _probe_pointwise(self) -> None:
        from thinkj_verl.rewards import RewardKwargsError, check_kwargs

        kwargs = dict(self.function_kwargs)
        weights = {k: kwargs.pop(k) for k in ("accuracy_weight", "format_weight") if k in kwargs}
        require_think = kwargs.pop("require_think", False)
        variant = kwargs.pop("variant", "weighted")
        try:
            check_kwargs("thinkj_pair pointwise", variant, kwargs, weights, require_think)
        except RewardKwargsError as error:
            key = f".{error.key}" if getattr(error, "key", None) else ""
            raise ValueError(f"reward.custom_reward_function.reward_kwargs{key}: {error}") from error

    async def run_single(self, data) -> dict:
        items = [data[i : i + 1][0] for i in range(len(data))]
        first = items[0].non_tensor_batch
        if "data_source" not in first:
            raise MissingLabelsError(_COLOCATED_HELP)
        views = []
        for item in items:
            fields = item.non_tensor_batch.get("tool_extra_fields")
            views.append(fields.get(VIEW_KEY) if isinstance(fields, dict) else None)
        if None in views:
            raise SessionError(AGENT_LOOP_HELP)
        extra_info = dict(first.get("extra_info") or {})
        pair = session_pair(extra_info)
        by_view = dict(zip(views, items))
        if get_format(extra_info.get("format") or "strength").pointwise:
            return self._score_pointwise(pair, by_view)
        return await self._score_pairwise(pair, by_view)

    def _score_pointwise(self, pair, by_view) -> dict:
        if sorted(by_view) != sorted(POINTWISE_VIEWS):
            raise SessionError(f"a pointwise session needs the views {POINTWISE_VIEWS}, got {sorted(by_view)}")
        calls = {view: self._call(by_view[view]) for view in POINTWISE_VIEWS}
        result = score_pointwise(
            calls["a"]["solution_str"], calls["b"]["solution_str"], pair.label,
            truncated_a=calls["a"]["extra_info"]["truncated"], truncated_b=calls["b"]["extra_info"]["truncated"],
            **{k: v for k, v in self.function_kwargs.items() if k not in SESSION_WEIGHTS},
        )
        score = result.pop("score")
        return {"reward_score": score, "reward_extra_info": {**result, "reward_error": 0.0}}

    async def _score_pairwise(self, pair, by_view) -> dict:
        if sorted(by_view) != sorted(PAIRWISE_VIEWS):
            raise SessionError(f"a pairwise session needs the orders {PAIRWISE_VIEWS}, got {sorted(by_view)}")
        per_order, errors = {}, 0.0
        for order in PAIRWISE_VIEWS:
            call = self._call(by_view[order])
            call["ground_truth"] = label_for(pair, order).to_dict()
            call["extra_info"]["order"] = order
            try:
                result = self.compute_score(**call)
                if inspect.isawaitable(result):
                    result = await result
                exception = None
            except Exception as error:  # one bad sample must not kill the job
                result, exception = None, error
            if exception is not None:
                result = await self._failure_result(call, exception, by_view[order].non_tensor_batch)
                errors = 1.0
            result = dict(result) if isinstance(result, dict) else {"score": float(result), "acc": float(result)}
            result["truncated"] = 1.0 if call["extra_info"]["truncated"] else 0.0
            per_order[order] = result
        combined = combine_orders(per_order, **self.session_weights)
        score = combined.pop("score")
        return {"reward_score": float(score), "reward_extra_info": {**combined, "reward_error": errors}}
