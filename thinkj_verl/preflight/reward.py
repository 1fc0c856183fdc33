"""Preflight of the reward: the manager and function load through verl, and score known labels
(the right verdict through the manager as the function scores it directly, the flipped one lower)."""

from __future__ import annotations

import math

from thinkj_verl.preflight.report import Report, error_text, quiet


def reward_format(config) -> tuple[str, str]:
    """(output format, where it came from): the reward function's FORMAT, else data.thinkj.format."""
    import importlib

    from thinkj_verl.rewards import DEFAULT_REWARD_PATH

    path = config.reward.custom_reward_function.get("path") or DEFAULT_REWARD_PATH
    if path.startswith("pkg://"):
        try:
            module = importlib.import_module(path[len("pkg://"):])
            if getattr(module, "FORMAT", None):
                return module.FORMAT, path
        except Exception:
            pass
    thinkj = config.data.get("thinkj") or {}
    return thinkj.get("format", "strength"), "data.thinkj.format"



def _render_reply(fmt_name: str, verdict: str, strength) -> str:
    from thinkj_verl.formats import get_format

    fmt = get_format(fmt_name)
    score_a, score_b = (80, 20) if verdict == "a" else (20, 80)
    ending = fmt.render(verdict=verdict, strength=strength or 2, score_a=score_a, score_b=score_b)
    return f"<think>Checking both responses against the question.</think>\n\n{ending}"


def _one_sample_batch(tokenizer, item, reply: str):
    """A one-row DataProto shaped like the agent loop's output: prompt, reply + end of sequence."""
    import numpy as np
    import torch
    from verl import DataProto

    prompt_ids = tokenizer.apply_chat_template(list(item["raw_prompt"]), add_generation_prompt=True, tokenize=True)
    if hasattr(prompt_ids, "keys"):
        prompt_ids = prompt_ids["input_ids"]
    reply_ids = tokenizer.encode(reply, add_special_tokens=False) + [tokenizer.eos_token_id]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    response_length = len(reply_ids) + 4
    responses = torch.tensor([reply_ids + [pad] * 4])
    prompts = torch.tensor([list(prompt_ids)])
    mask = torch.tensor([[1] * len(prompt_ids) + [1] * len(reply_ids) + [0] * (response_length - len(reply_ids))])
    return DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": responses,
            "input_ids": torch.cat([prompts, responses], dim=1),
            "attention_mask": mask,
        },
        non_tensors={
            "data_source": np.array([item["data_source"]], dtype=object),
            "reward_model": np.array([item["reward_model"]], dtype=object),
            "extra_info": np.array([dict(item.get("extra_info") or {})], dtype=object),
        },
    )


def check_reward(report: Report, config, tokenizer, items) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn, load_reward_manager

    from thinkj_verl.ground_truth import GroundTruthError, parse_ground_truth

    try:
        with quiet():
            manager = load_reward_manager(config, tokenizer)
            function = get_custom_reward_fn(config)
    except Exception as exc:
        report.fail("reward manager + function", f"{error_text(exc)}; check reward.reward_manager.* and reward.custom_reward_function.*")
        return
    fmt, source = reward_format(config)
    report.ok("reward manager + function",
              f"{type(manager).__name__} ({config.reward.reward_manager.name}), "
              f"{config.reward.custom_reward_function.get('path') or 'default'}, format {fmt!r} from {source}")
    score = function or manager.compute_score
    if any(item.get("extra_info", {}).get("order") == "pair" for item in items):
        # A J1 pair row is scored as a whole session (both orders), which this one-reply probe cannot make.
        report.skip("reward scores known labels", "J1 pair rows: the thinkj_pair manager scores whole sessions "
                    "(tests/cpu/test_j1_reward.py checks it through verl's reward loop)")
        return

    def run(item, reply):
        result = manager.loop.run_until_complete(manager.run_single(_one_sample_batch(tokenizer, item, reply)))
        return result["reward_score"], result["reward_extra_info"]

    problems, scored = [], 0
    for index, item in enumerate(items):
        try:
            label = parse_ground_truth(item["reward_model"]["ground_truth"], fmt)
        except (GroundTruthError, KeyError, TypeError) as exc:
            problems.append(f"sampled row {index}: bad label: {exc}")
            continue
        right_text = _render_reply(fmt, label.better, label.strength)
        wrong_text = _render_reply(fmt, "b" if label.better == "a" else "a", label.strength)
        try:
            right, right_info = run(item, right_text)
            wrong, _ = run(item, wrong_text)
            expected = score(data_source=item["data_source"], solution_str=right_text,
                             ground_truth=item["reward_model"]["ground_truth"], extra_info={})
        except Exception as exc:
            problems.append(f"sampled row {index}: {error_text(exc)}")
            continue
        expected = float(expected["score"] if isinstance(expected, dict) else expected)
        scored += 1
        if right_info.get("reward_error"):
            problems.append(f"sampled row {index}: the reward function raised inside the manager")
        elif not math.isclose(right, expected, rel_tol=1e-6, abs_tol=1e-9):
            problems.append(
                f"sampled row {index}: the right verdict scored {right} through the manager but {expected} "
                "directly (is the reply mangled by the tokenizer round trip?)"
            )
        elif not right > wrong:
            problems.append(f"sampled row {index}: the right verdict scored {right}, the flipped one {wrong}: "
                            "not lower; does the reward function read this label?")
    if problems:
        report.fail("reward scores known labels", "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""))
    elif scored:
        report.ok("reward scores known labels", f"{scored} row(s): the right verdict scores through the manager as the function scores it directly, the flipped verdict lower")
    else:
        report.skip("reward scores known labels", "no training rows to score")
