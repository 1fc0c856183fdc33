"""Preflight of the batch arithmetic: every split verl's workers make for the cluster's GPUs."""

from __future__ import annotations

import math

from thinkj_verl.preflight.config import uses_critic
from thinkj_verl.preflight.report import Report, error_text


def batch_problems(config) -> list[tuple[str, str]]:
    """(check name, problem) for every batch split verl's workers would reject on the cluster.

    Mirrors the installed verl 0.9.1: the trainer pads a step's ``train_batch_size * rollout.n``
    samples to a multiple of lcm(dp, global mini-batch); each data-parallel rank gets
    ``mini_batch * n / dp`` samples per update and splits them into micro batches of
    ``*_micro_batch_size_per_gpu`` (``prepare_micro_batches`` asserts divisibility); the
    rollout world (tensor x data x pipeline parallel) must tile the GPUs and a tensor-parallel
    group must fit in one node. With dynamic batch sizes (the recipes' default) the micro-batch
    sizes are ignored, but the mini-batch split still applies: ``TrainingWorker.train_batch``
    (verl/workers/engine_workers.py) asserts ``mini_batch_size % dp == 0`` on every update.
    """
    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import need_reference_policy

    problems: list[tuple[str, str]] = []
    trainer, arr = config.trainer, config.actor_rollout_ref
    nnodes, per_node = int(trainer.nnodes), int(trainer.n_gpus_per_node)
    n_gpus = nnodes * per_node
    n = int(arr.rollout.n)
    train_batch = int(config.data.train_batch_size)

    rollout = arr.rollout
    tp = int(rollout.tensor_model_parallel_size)
    rollout_world = tp * int(rollout.get("data_parallel_size", 1) or 1) * int(rollout.get("pipeline_model_parallel_size", 1) or 1)
    if tp > per_node or per_node % tp:
        problems.append((
            "batch: rollout tensor parallel",
            f"actor_rollout_ref.rollout.tensor_model_parallel_size={tp} must divide "
            f"trainer.n_gpus_per_node={per_node} (a tensor-parallel group stays inside one node)",
        ))
    elif n_gpus % rollout_world:
        problems.append((
            "batch: rollout tensor parallel",
            f"rollout world tp x dp x pp = {rollout_world} must divide the {n_gpus} GPUs "
            f"({nnodes} x {per_node})",
        ))

    def split(role: str, mini: int, micro, sp: int, key: str, dynamic: bool) -> None:
        mini_key, micro_key = f"{key}.ppo_mini_batch_size", f"{key}.ppo_micro_batch_size_per_gpu"
        if n_gpus % sp:
            problems.append((f"batch: {role} mini-batch", f"{n_gpus} GPUs are not divisible by sequence parallel {sp}"))
            return
        dp = n_gpus // sp
        global_mini = mini * n
        step = dp // math.gcd(dp, n)  # mini x n splits over dp ranks exactly when mini is a multiple of this
        if global_mini % dp:
            problems.append((
                f"batch: {role} mini-batch",
                f"{role} ppo_mini_batch_size x rollout.n = {mini} x {n} = {global_mini} samples per update "
                f"is not divisible by {dp} data-parallel ranks ({nnodes} x {per_node} GPUs / sp {sp}); verl stops at "
                f"the first update: pick a GPU count that divides {global_mini}, or set {mini_key} to a multiple "
                f"of {step}",
            ))
            return
        if dynamic:  # token budgets instead of micro batches
            return
        if micro is None:
            problems.append((f"batch: {role} micro batch", f"set {micro_key} (verl needs it without dynamic batch size)"))
            return
        per_gpu = global_mini // dp
        if per_gpu % int(micro):
            problems.append((
                f"batch: {role} micro batch",
                f"{per_gpu} samples per GPU per update ({global_mini} / {dp}) are not divisible by "
                f"{micro_key}={micro}",
            ))

    actor = arr.actor
    actor_sp = int(actor.get("ulysses_sequence_parallel_size", 1) or 1)
    split("actor", int(actor.ppo_mini_batch_size), actor.ppo_micro_batch_size_per_gpu, actor_sp,
          "actor_rollout_ref.actor", bool(actor.use_dynamic_bsz))
    lcm_parts = [n_gpus // actor_sp if n_gpus % actor_sp == 0 else 1, int(actor.ppo_mini_batch_size) * n]

    if uses_critic(config):
        critic = config.critic
        critic_sp = int(critic.get("ulysses_sequence_parallel_size", 1) or 1)
        # verl's v1 trainer runs its critic on the token budget ppo_infer_max_token_len_per_gpu whatever
        # the micro batch says; only the legacy trainer splits by critic.ppo_micro_batch_size_per_gpu
        critic_dynamic = bool(critic.use_dynamic_bsz) or bool(trainer.get("use_v1", True))
        split("critic", int(critic.ppo_mini_batch_size), critic.ppo_micro_batch_size_per_gpu, critic_sp,
              "critic", critic_dynamic)
        lcm_parts.append(int(critic.ppo_mini_batch_size) * n)

    # Log-prob passes (old policy, reference) see the whole padded step batch per rank.
    multiple = math.lcm(*lcm_parts)
    padded = math.ceil(train_batch * n / multiple) * multiple
    dp = lcm_parts[0]
    per_rank = padded // dp
    roles = ["rollout", "ref"] if need_reference_policy(config) else ["rollout"]
    for role in roles:
        if OmegaConf.select(config, f"actor_rollout_ref.{role}.log_prob_use_dynamic_bsz"):
            continue
        key = f"actor_rollout_ref.{role}.log_prob_micro_batch_size_per_gpu"
        micro = OmegaConf.select(config, key)
        if micro is not None and per_rank % int(micro):
            problems.append((
                "batch: log-prob micro batch",
                f"{per_rank} samples per GPU per step ({padded} / {dp} ranks) are not divisible by {key}={micro}",
            ))
    return problems


def check_batches(report: Report, config) -> None:
    try:
        problems = batch_problems(config)
    except Exception as exc:
        report.fail("batch arithmetic", f"could not read the batch settings: {error_text(exc)}")
        return
    for name, problem in problems:
        report.fail(name, problem)
    if not problems:
        t, a = config.trainer, config.actor_rollout_ref
        dp = int(t.nnodes) * int(t.n_gpus_per_node) // int(a.actor.get("ulysses_sequence_parallel_size", 1) or 1)
        per_gpu = int(a.actor.ppo_mini_batch_size) * int(a.rollout.n) // dp
        sizing = (f"token budgets of {a.actor.ppo_max_token_len_per_gpu} per GPU (dynamic batch size)"
                  if a.actor.use_dynamic_bsz else f"micro batches of {a.actor.ppo_micro_batch_size_per_gpu}")
        report.ok(
            "batch arithmetic",
            f"{t.nnodes} x {t.n_gpus_per_node} GPUs: {config.data.train_batch_size} prompts x n={a.rollout.n} per step; "
            f"update of {a.actor.ppo_mini_batch_size} x {a.rollout.n} samples = {per_gpu} per GPU in {sizing}; "
            f"rollout TP {a.rollout.tensor_model_parallel_size}",
        )
