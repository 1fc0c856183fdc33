"""Preflight of the model and tokenizer (and the critic's): they load as verl's workers load them."""

from __future__ import annotations

from thinkj_verl.preflight.config import uses_critic
from thinkj_verl.preflight.report import Report, error_text, quiet


def _load_model_files(path: str, trust_remote_code: bool, tokenizer_path: str | None = None):
    from transformers import AutoConfig
    from verl.utils import hf_tokenizer
    from verl.utils.fs import copy_to_local

    local = copy_to_local(path)
    model_config = AutoConfig.from_pretrained(local, trust_remote_code=trust_remote_code)
    tokenizer = hf_tokenizer(copy_to_local(tokenizer_path or path), trust_remote_code=trust_remote_code)
    return model_config, tokenizer


def check_model(report: Report, config):
    model = config.actor_rollout_ref.model
    path = model.path
    trust = bool(model.get("trust_remote_code", False))
    try:
        with quiet():
            model_config, tokenizer = _load_model_files(path, trust, model.get("tokenizer_path"))
    except Exception as exc:
        report.fail(
            "model + tokenizer",
            f"actor_rollout_ref.model.path={path}: {error_text(exc)}; set it to a Hugging Face model "
            "directory (config.json and tokenizer files) or a hub id reachable from here",
        )
        return None
    report.ok("model + tokenizer", f"{path}: {model_config.model_type}, vocabulary {len(tokenizer)}")

    if uses_critic(config):
        critic_path = config.critic.model.path
        try:
            with quiet():
                _load_model_files(critic_path, bool(config.critic.model.get("trust_remote_code", False)),
                                  config.critic.model.get("tokenizer_path"))
        except Exception as exc:
            report.fail("critic model", f"critic.model.path={critic_path}: {error_text(exc)}; set critic.model.path")
        else:
            report.ok("critic model", str(critic_path))
    return tokenizer
