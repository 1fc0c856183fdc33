"""The ``thinkj_pair`` agent loop: one J1 judgment session per pair item.

Selected with ``actor_rollout_ref.rollout.agent.default_agent_loop=thinkj_pair`` (registered in
verl's agent-loop registry by our plugin when verl imports its agent loops). For a pair row
(`thinkj_verl.data.rows.pair_row`) it renders every prompt of the session with
`thinkj_verl.prompts.session_messages` (a pairwise format: the pair in order ``ab`` and in order
``ba``; the ``pointwise`` format: each response alone), generates each with verl's own
single-turn loop, concurrently, and returns the outputs as a list, each tagged with its view in
``extra_fields["thinkj_view"]``.

What verl 0.9.1's v1 trainer does with a list (``verl/trainer/ppo/v1/agent_loop_tq.py``,
``AgentLoopWorkerTQ._agent_loop_postprocess``): all outputs of the session reach ONE reward call
(``thinkj_pair`` manager), the session's reward and reward_extra_info are copied to every
output, each output is its own training row (key ``{uid}_{session}_{i}``), and GRPO's advantage is
computed from each session's last output within the group of ``rollout.n`` sessions of the pair
and given to every output of the session (``verl/trainer/ppo/v1/utils.py``,
``compute_advantage_for_multi_trajectories``). The legacy trainer (``trainer.use_v1=false``)
takes one output per item, so this loop refuses to start there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from verl.experimental.agent_loop.agent_loop import AgentLoopOutput, register
from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop

from thinkj_verl.j1.session import VIEW_KEY, session_pair
from thinkj_verl.prompts import session_messages

NAME = "thinkj_pair"


@register(NAME)
class ThinkjPairAgentLoop(SingleTurnAgentLoop):
    """Judges one pair in every view of its session; returns one output per view."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.config.trainer.get("use_v1", True):
            raise ValueError(
                "actor_rollout_ref.rollout.agent.default_agent_loop=thinkj_pair returns several outputs "
                "per pair, which only verl's v1 trainer takes: set trainer.use_v1=true"
            )

    async def run(self, sampling_params: dict[str, Any], **kwargs) -> list[AgentLoopOutput]:
        extra_info = kwargs.get("extra_info") or {}
        pair = session_pair(extra_info)
        views = session_messages(pair, extra_info.get("format") or "strength")
        single_turn = super().run
        outputs = await asyncio.gather(
            *(single_turn(dict(sampling_params), **{**kwargs, "raw_prompt": messages}) for _, messages in views)
        )
        for (view, _), output in zip(views, outputs):
            output.extra_fields[VIEW_KEY] = view
        return list(outputs)
