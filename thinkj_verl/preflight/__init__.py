"""``thinkj preflight``: check a whole launch on a CPU machine before a cluster is booked.

    thinkj preflight +recipe=thinkj_grpo data.train_files=... actor_rollout_ref.model.path=... \\
        [any other main_ppo overrides] [--ray-address HEAD_IP:6379]

It composes exactly the config ``python -m verl.trainer.main_ppo`` would see (verl's config
module ``verl.trainer.config``, config ``ppo_trainer``, the same overrides), then checks what
would otherwise fail only after the cluster is up:

- the config composes and resolves, and passes verl's own ``validate_config``;
- batch arithmetic for ``trainer.nnodes`` x ``trainer.n_gpus_per_node``, as verl's workers
  split the batch (mini-batches over data-parallel ranks, micro batches per GPU, log-prob micro
  batches, rollout tensor parallel inside a node);
- the model config and tokenizer load (and the critic's, when there is one);
- a per-GPU memory plan from the model's config.json (``--gpu-memory GIB``, default 80; see
  ``thinkj_verl/memory_plan.py``) fits each phase of a step, else names the setting to change;
- data files exist, have the columns the dataset needs and valid labels; sampled prompts,
  rendered with the model's chat template, fit ``data.max_prompt_length`` (how many would be
  filtered);
- the reward manager and function load through verl's ``load_reward_manager`` and score rows of
  the training data with known labels: a reply with the right verdict scores through the
  manager as the function scores it directly, the flipped verdict lower;
- with ``--ray-address``: the cluster has the nodes and GPUs the config asks for, alive.

- keys of verl's legacy reward tree (``reward_model.reward_manager``, ``reward_model.reward_kwargs``,
  top-level ``custom_reward_function.*``, ...) left at verl's defaults: main_ppo composes them
  but never reads them, so a value there (as in the released Think-J scripts) is silently lost;
- ``trainer.logger`` with wandb has credentials (else a WARN row with the fix).

One table is printed (check, OK / WARN / FAIL / SKIP, detail or fix); the exit status is 1 when
any check fails, else 0.

The package has one module per concern: `report` (the rows and the table), `config`, `batches`,
`model`, `data`, `reward`, `cluster`, and `cli` (the order of the checks and the command line).
"""

from thinkj_verl.preflight.batches import batch_problems
from thinkj_verl.preflight.cli import build_parser, main, run_checks
from thinkj_verl.preflight.cluster import cluster_gpu_problem
from thinkj_verl.preflight.config import check_logger, compose_config, legacy_key_problems, legacy_replacement, wandb_credentials
from thinkj_verl.preflight.report import FAIL, OK, SKIP, WARN, Check, Report

__all__ = [
    "FAIL", "OK", "SKIP", "WARN", "Check", "Report",
    "batch_problems", "build_parser", "check_logger", "cluster_gpu_problem", "compose_config",
    "legacy_key_problems", "legacy_replacement", "main", "run_checks", "wandb_credentials",
]
