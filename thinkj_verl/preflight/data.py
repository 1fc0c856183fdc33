"""Preflight of the data: the files exist, hold the columns and valid labels the dataset needs,
the judge is asked for the format the reward parses, and sampled prompts fit the length limit."""

from __future__ import annotations

import os

from thinkj_verl.preflight.report import Report, error_text, quiet
from thinkj_verl.preflight.reward import reward_format


def _as_list(files) -> list[str]:
    if files is None:
        return []
    if isinstance(files, str):
        return [files]
    return [str(f) for f in files]


def _is_remote(path: str) -> bool:
    return "://" in path


def check_data_files(report: Report, config) -> bool:
    """Every train / val file exists (remote URLs are left to verl's copy_to_local).

    Returns whether the training files are there (the later data checks read them).
    """
    train_ok = True
    for key in ("train_files", "val_files"):
        files = _as_list(config.data.get(key))
        missing = [f for f in files if not _is_remote(f) and not os.path.isfile(os.path.expanduser(f))]
        if not files:
            report.fail(f"data.{key}", f"data.{key} is empty; point it at the training data (thinkj prepare)")
        elif missing:
            report.fail(f"data.{key}", f"missing: {', '.join(missing)}; fix data.{key} or run `thinkj prepare`")
        else:
            report.ok(f"data.{key}", ", ".join(files))
            continue
        train_ok = train_ok and key != "train_files"
    return train_ok



def check_format_match(report: Report, config) -> None:
    """Our dataset asks the judge for data.thinkj.format; the reward function must parse that format."""
    fmt, source = reward_format(config)
    thinkj = config.data.get("thinkj") or {}
    try:
        ours = _reads_pairs(_dataset_class(config))
    except Exception:
        return  # check_labels reports a dataset class that does not load
    if not ours or source == "data.thinkj.format":
        return
    asked = thinkj.get("format", "strength")
    if asked == "pointwise":  # J1's pointwise sessions: scored by the thinkj_pair manager, no reward function
        if config.reward.reward_manager.get("name") == "thinkj_pair":
            report.ok("judge format vs reward", "pointwise sessions, scored by the thinkj_pair manager (thinkj_verl/j1)")
        else:
            report.fail("judge format vs reward", "data.thinkj.format=pointwise is scored only by "
                                                  "reward.reward_manager.name=thinkj_pair (use +recipe=j1_pointwise_grpo)")
        return
    if asked != fmt:
        report.fail("judge format vs reward", f"{source} parses the {fmt!r} format but data.thinkj.format={asked!r} "
                                              f"asks the judge for another: add data.thinkj.format={fmt}")
    else:
        report.ok("judge format vs reward", f"prompts ask for the {fmt!r} format the reward function parses")


def _reads_pairs(dataset_cls) -> bool:
    """Our JudgePairDataset (canonical pairs, judge prompt from data.thinkj), not prepared rows."""
    import importlib

    return hasattr(importlib.import_module(dataset_cls.__module__), "validate_pair_file")


def _dataset_class(config):
    from verl.utils.dataset.rl_dataset import get_dataset_class

    with quiet():
        return get_dataset_class(config.data)


def _row_file_problems(path: str, config, fmt: str) -> list[str]:
    """Problems of one prepared RLHFDataset file: columns and every row's label."""
    import datasets

    from thinkj_verl.ground_truth import GroundTruthError, parse_ground_truth

    kind = "parquet" if path.endswith(".parquet") else "json"
    with quiet():
        table = datasets.load_dataset(kind, data_files=os.path.expanduser(path))["train"]
    needed = [config.data.get("prompt_key", "prompt"), config.data.get("reward_fn_key", "data_source"), "reward_model"]
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        return [f"{path}: missing column(s) {missing} (has {table.column_names}); write it with `thinkj prepare`"]
    problems = []
    for row, value in enumerate(table["reward_model"]):
        try:
            if not isinstance(value, dict) or "ground_truth" not in value:
                raise GroundTruthError("reward_model has no 'ground_truth'")
            parse_ground_truth(value["ground_truth"], fmt)
        except GroundTruthError as exc:
            problems.append(f"{path} row {row}: reward_model.ground_truth: {exc}")
    return problems


def check_labels(report: Report, config) -> None:
    """Columns and labels of every train file, read the way the configured dataset class reads them."""
    fmt, _ = reward_format(config)
    try:
        dataset_cls = _dataset_class(config)
    except Exception as exc:
        report.fail("dataset class", f"data.custom_cls: {error_text(exc)}")
        return
    import importlib

    from verl.utils.dataset.rl_dataset import RLHFDataset

    module = importlib.import_module(dataset_cls.__module__)
    ours = _reads_pairs(dataset_cls)
    problems: list[str] = []
    for path in _as_list(config.data.train_files):
        if _is_remote(path) or not os.path.isfile(os.path.expanduser(path)):
            continue
        try:
            if ours:
                # The dataset module's own validator: the columns it needs, every pair valid.
                problems += module.validate_pair_file(os.path.expanduser(path))
            elif dataset_cls is RLHFDataset:
                problems += _row_file_problems(path, config, fmt)
            else:
                report.skip("data columns + labels", f"custom dataset class {dataset_cls.__name__}: checked on samples only")
                return
        except Exception as exc:
            problems.append(f"{path}: {error_text(exc)}")
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        report.fail("data columns + labels", "; ".join(problems[:3]) + more)
    else:
        what = "every pair valid" if ours else f"every label valid for format {fmt!r}"
        report.ok("data columns + labels", f"{dataset_cls.__name__}: columns present, {what}")


def load_sample(config, tokenizer, rows: int):
    """Up to ``rows`` training items from the configured dataset class, no length filter."""
    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import create_rl_dataset

    data_config = OmegaConf.create(OmegaConf.to_container(config.data, resolve=True))
    # Sample without filtering so the overlong prompts can be counted; one worker (a laptop).
    data_config.filter_overlong_prompts = False
    data_config.filter_overlong_prompts_workers = 1
    data_config.shuffle = True
    if data_config.get("seed") is None:
        data_config.seed = 0
    with quiet():
        dataset = create_rl_dataset(_as_list(config.data.train_files), data_config, tokenizer, None,
                                    is_train=True, max_samples=rows)
        return [dataset[i] for i in range(min(rows, len(dataset)))]


def prompt_length(tokenizer, messages, template_kwargs) -> int:
    """Tokens of the chat-templated prompt, counted as verl's length filter counts them."""
    ids = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True, **template_kwargs)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def check_prompt_lengths(report: Report, config, tokenizer, items, max_filtered: float) -> None:
    limit = int(config.data.max_prompt_length)
    kwargs = dict(config.data.get("apply_chat_template_kwargs") or {})
    lengths = [prompt_length(tokenizer, item["raw_prompt"], kwargs) for item in items]
    over = [n for n in lengths if n > limit]
    share = len(over) / len(lengths)
    summary = (
        f"{len(over)} of {len(lengths)} sampled prompts exceed data.max_prompt_length={limit} "
        f"(longest {max(lengths)} tokens, about {share:.0%} of the data)"
    )
    filtering = bool(config.data.get("filter_overlong_prompts", False))
    if over and not filtering and config.data.get("truncation", "error") == "error":
        report.fail("prompt lengths", f"{summary}; with truncation=error the job stops on the first one: "
                                      "raise data.max_prompt_length or set data.filter_overlong_prompts=true")
    elif share > max_filtered:
        report.fail("prompt lengths", f"{summary} would be filtered; raise data.max_prompt_length "
                                      f"(more than {max_filtered:.0%} of the data would be lost)")
    else:
        action = "would be filtered" if filtering else f"would be truncated ({config.data.get('truncation')})"
        report.ok("prompt lengths", summary + (f", {action}" if over else ""))
