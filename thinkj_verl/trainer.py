"""``trainer.v1.trainer_mode=thinkj``: verl's synchronous v1 trainer plus per-step judge diagnostics.

verl's v1 trainer has a registry (``verl.trainer.ppo.v1.register_trainer``); this subclass of
its default ``PPOTrainerSync`` changes one step, ``_compute_metrics``: after verl's own metrics
it reads the batch's judgments from the TransferQueue (each trajectory's reward components, its
label and its pair id and order) and logs `thinkj_verl.diagnostics.judge_diagnostics` as
``judge/*`` at every training step. It also builds the reward manager once when it starts
(`thinkj_verl.reward_manager.check_reward_manager`), so a bad reward setting ends the launch at
once instead of inside verl's reward workers. Every recipe selects it. The legacy trainer
(``trainer.use_v1=false``) has no such registry and logs none of them.
"""

from __future__ import annotations

import logging

import transfer_queue as tq
from verl.trainer.ppo.v1 import register_trainer
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync

from thinkj_verl.diagnostics import SESSION_VIEW, judge_diagnostics, session_row
from thinkj_verl.policy_metrics import is_policy_row, policy_metrics
from thinkj_verl.reward_manager import check_reward_manager

logger = logging.getLogger(__name__)

TRAINER_MODE = "thinkj"


def _label_side(reward_model) -> str | None:
    from thinkj_verl.ground_truth import GroundTruthError, parse_ground_truth

    try:
        return parse_ground_truth((reward_model or {}).get("ground_truth")).better
    except (GroundTruthError, AttributeError, TypeError, ValueError):
        return None


def judgment_rows(extra_fields, reward_models, extra_infos, reply_tokens, keys=None) -> list[dict]:
    """One row per trajectory that carries reward components (see `judge_diagnostics`).

    An output of a J1 session (``thinkj_view`` in its extra fields, `thinkj_verl.j1`) becomes
    its view's row (`session_row`), with its session from the TransferQueue key
    ``{uid}_{session}_{index}`` in ``keys``.
    """
    rows = []
    keys = list(keys) if keys is not None else [None] * len(reply_tokens)
    for fields, reward_model, extra_info, tokens, key in zip(extra_fields, reward_models, extra_infos, reply_tokens, keys):
        components = (fields or {}).get("reward_extra_info") if isinstance(fields, dict) else None
        if not components:
            continue
        info = extra_info if isinstance(extra_info, dict) else {}
        view = fields.get(SESSION_VIEW)
        if view is not None:
            session = key.rsplit("_", 1)[0] if isinstance(key, str) else None
            rows.append(session_row(components, view, _label_side(reward_model), pair_id=info.get("pair_id"),
                                    session=session, reply_tokens=tokens))
            continue
        rows.append({**components, "label": _label_side(reward_model), "pair_id": info.get("pair_id"),
                     "order": info.get("order"), "reply_tokens": tokens})
    return rows


@register_trainer(TRAINER_MODE)
class ThinkjTrainer(PPOTrainerSync):
    """verl's sync trainer; every step also logs ``judge/*`` (`thinkj_verl.diagnostics`), and a
    bad reward configuration stops the launch when the trainer is built."""

    def __init__(self, config):
        super().__init__(config)
        check_reward_manager(config)

    def _compute_metrics(self, batch, metrics, timing_raw, global_steps, epoch):
        result = super()._compute_metrics(batch, metrics, timing_raw, global_steps, epoch)
        try:
            data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id,
                                   select_fields=["extra_fields", "reward_model", "extra_info", "responses"])
            padding = [bool(tag.get("is_padding", False)) for tag in batch.tags]
            keep = [i for i, pad in enumerate(padding) if not pad]
            lengths = data["responses"].offsets().diff().tolist()
            rows = judgment_rows(
                [list(data["extra_fields"])[i] for i in keep],
                [list(data["reward_model"])[i] for i in keep],
                [list(data["extra_info"])[i] for i in keep],
                [lengths[i] for i in keep],
                [batch.keys[i] for i in keep],
            )
        except Exception as error:  # diagnostics must never stop a training run
            logger.warning("thinkj: judge diagnostics skipped at step %s: %s: %s", global_steps,
                           type(error).__name__, error)
            return result
        # a policy trained with a judge as its reward (reward_fns/judge_reward.py) logs policy/* instead
        metrics.update(judge_diagnostics([row for row in rows if not is_policy_row(row)]))
        metrics.update(policy_metrics([row for row in rows if is_policy_row(row)]))
        return result

    def _log_rollout_data(self, batch, timing_raw, rollout_data_dir):
        """verl's generation dump (``trainer.rollout_data_dir``), plus ``advantages_<step>.jsonl``:
        per trajectory its TransferQueue key (``{uid}_{session}_{index}``), pair id, session view,
        reward and the advantage verl computed (first response token; GRPO's is the same on every
        token), so a J1 run shows which outputs shared an advantage."""
        super()._log_rollout_data(batch, timing_raw, rollout_data_dir)
        import json
        import os

        try:
            data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id,
                                   select_fields=["advantages", "rm_scores", "extra_fields", "extra_info"])
            extra_fields, extra_infos = list(data["extra_fields"]), list(data["extra_info"])
            lines = []
            for i, key in enumerate(batch.keys):
                if batch.tags[i].get("is_padding", False):
                    continue
                advantages, fields, info = data["advantages"][i], extra_fields[i] or {}, extra_infos[i] or {}
                lines.append(json.dumps({
                    "key": key, "pair_id": info.get("pair_id"), "view": fields.get(SESSION_VIEW, info.get("order")),
                    "score": float(data["rm_scores"][i].sum()),
                    "advantage": float(advantages[0]) if advantages.numel() else None,
                }))
        except Exception as error:  # a dump must never stop a training run
            logger.warning("thinkj: advantages dump skipped at step %s: %s: %s", self.global_steps,
                           type(error).__name__, error)
            return
        os.makedirs(rollout_data_dir, exist_ok=True)
        path = os.path.join(rollout_data_dir, f"advantages_{self.global_steps}.jsonl")
        with open(path + ".tmp", "w") as out:
            out.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)
