"""``actor_rollout_ref.rollout.name=thinkj_cpu``: verl's rollout replica and adapter for the CPU server.

Two halves, as for verl's vLLM backend:
- `ThinkjCpuReplica` (``RolloutReplicaRegistry``) starts one `ThinkjCpuServer` Ray actor per
  replica, on the node of the replica's first worker, and serves HTTP from it (so the same
  backend can be verl's generative reward model: ``reward.reward_model.rollout.name=thinkj_cpu``);
- `ThinkjCpuServerAdapter` (verl's ``_ROLLOUT_REGISTRY``) lives in each training worker. After
  every optimizer step verl's naive checkpoint engine hands it the actor's weights; every rank
  drains them (FSDP2 gathers full tensors collectively) and the replica's leader rank sends them
  to its server, with the step number the v1 trainer reads back as the weight version.
"""

from __future__ import annotations

import logging
import os

import ray
import torch
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica

from thinkj_verl.cpu.server import ThinkjCpuServer

logger = logging.getLogger(__name__)

BACKEND = "thinkj_cpu"


def _model_setting(model_config, key: str, default=None):
    value = getattr(model_config, key, None)
    if value is None and hasattr(model_config, "get"):
        value = model_config.get(key, None)
    return default if value is None else value


def server_name(replica_rank: int, is_reward_model: bool = False, is_teacher_model: bool = False, suffix: str = "") -> str:
    """The Ray actor name of a replica's server; the reward model's differs from the policy's.

    >>> server_name(0), server_name(0, is_reward_model=True)
    ('thinkj_cpu_server_0', 'thinkj_cpu_reward_server_0')
    """
    role = "reward_" if is_reward_model else "teacher_" if is_teacher_model else ""
    return f"{BACKEND}_{role}server_{replica_rank}{suffix}"


class ThinkjCpuReplica(RolloutReplica):
    """One CPU server per replica; the replica's workers train (hybrid) or only host it."""

    async def launch_servers(self):
        node_id = None
        if self.workers:
            node_id = await self.workers[0].__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id())
        options = dict(
            name=server_name(self.replica_rank, self.is_reward_model, self.is_teacher_model, self.name_suffix),
            max_concurrency=self.max_concurrency,
            # The server shares its node's cores with the training workers; it reserves none.
            num_cpus=0,
        )
        if node_id is not None:
            options["scheduling_strategy"] = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                node_id=node_id, soft=False
            )
        model_path = _model_setting(self.model_config, "local_path") or _model_setting(self.model_config, "path")
        server = (
            ray.remote(ThinkjCpuServer)
            .options(**options)
            .remote(
                model_path=model_path,
                prompt_length=self.config.prompt_length,
                response_length=self.config.response_length,
                trust_remote_code=bool(_model_setting(self.model_config, "trust_remote_code", False)),
            )
        )
        self.servers = [server]
        self._server_handle = server
        self._server_address = await server.launch_http.remote()


class ThinkjCpuServerAdapter(BaseRollout):
    """The training worker's handle on its replica's server: pushes weights after each step."""

    def __init__(self, config, model_config, device_mesh, replica_rank: int = -1, **kwargs):
        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ.get("RANK", 0))
        world = self.config.tensor_model_parallel_size * self.config.data_parallel_size * self.config.pipeline_model_parallel_size
        self.replica_rank = rank // world if replica_rank == -1 else replica_rank
        self.is_leader = rank % world == 0
        self.server_handle = None

    def _server(self):
        if self.server_handle is None:
            self.server_handle = ray.get_actor(server_name(self.replica_rank))
        return self.server_handle

    async def resume(self, tags: list[str]):
        return None

    async def release(self):
        return None

    @torch.no_grad()
    async def update_weights(self, weights, global_steps: int = None, wire_format: str = "named_tensors", **kwargs):
        if wire_format != "named_tensors":
            raise NotImplementedError(f"{BACKEND} takes full weights (wire_format='named_tensors'), got {wire_format!r}")
        named = []
        for name, tensor in weights:  # every rank drains: gathering a full tensor is collective
            if hasattr(tensor, "full_tensor"):
                tensor = tensor.full_tensor()
            if self.is_leader:
                named.append((name, tensor.detach().to("cpu", copy=True)))
        if self.is_leader:
            await self._server().update_weights.remote(named, global_steps)


def register() -> None:
    """Make ``rollout.name=thinkj_cpu`` resolve in both of verl's rollout registries."""
    from verl.workers.rollout import base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    RolloutReplicaRegistry.register(BACKEND, lambda: ThinkjCpuReplica)
    # verl/workers/rollout/base.py (~89): a plain dict of dotted paths, no register function.
    base._ROLLOUT_REGISTRY[(BACKEND, "async")] = f"{__name__}.ThinkjCpuServerAdapter"
