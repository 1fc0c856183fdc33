"""A CPU stand-in for the online RL run: trl's GRPOTrainer with the SAME reward functions.

verl needs GPUs for a training step (its rollout runs on vLLM/SGLang servers and its workers
on NCCL), so on a CPU ``make demo`` runs a few GRPO steps with trl instead. What is shared with
the verl run is what decides the result: the training rows (the parquet ``thinkj prepare``
writes for verl), the judge prompt inside them, and the reward function itself, loaded from
the same ``pkg://reward_fns.<name>`` path a verl recipe names and called with verl's
signature ``compute_score(data_source, solution_str, ground_truth, extra_info, **reward_kwargs)``.
It is a smoke test of the pipeline, not a substitute for the verl recipes.

>>> fn = trl_reward("pkg://reward_fns.thinkj_strength")
>>> fn.__name__
'thinkj_strength'
>>> reply = "<think>(a) is right.</think> Therefore, Response (a) is better, and the strength is [[2]]."
>>> fn(prompts=[None], completions=[[{"role": "assistant", "content": reply}]],
...    ground_truth=[{"better": "a", "strength": 2, "scores": None}], data_source=["demo"])
[2.2]
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path


def load_compute_score(path: str, name: str = "compute_score"):
    """The reward function at ``path`` (``pkg://dotted.module`` or a .py file), as verl loads it."""
    if path.startswith("pkg://"):
        module = importlib.import_module(path[len("pkg://") :])
    else:
        spec = importlib.util.spec_from_file_location(Path(path).stem, path)
        if spec is None:
            raise FileNotFoundError(f"reward function file {path} not found; use pkg://module or a .py path")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"{path} has no function {name!r}") from None


def trl_reward(path: str, name: str = "compute_score", *, max_completion_length: int | None = None,
               eos_token_id: int | None = None, **reward_kwargs):
    """Wrap a verl ``compute_score`` as a trl reward function ``f(prompts, completions, **columns)``.

    The dataset's ``ground_truth`` and ``data_source`` columns arrive as keyword lists. A
    completion that used all ``max_completion_length`` tokens without ``eos_token_id`` is marked
    truncated (``extra_info["truncated"]``), as verl's reward manager does for a cut response.
    """
    compute_score = load_compute_score(path, name)

    def reward(prompts, completions, ground_truth, data_source=None, completion_ids=None, **_):
        scores = []
        for i, completion in enumerate(completions):
            text = completion[-1]["content"] if isinstance(completion, list) else completion
            truncated = False
            if completion_ids is not None and max_completion_length is not None:
                ids = completion_ids[i]
                truncated = len(ids) >= max_completion_length and (not ids or ids[-1] != eos_token_id)
            result = compute_score(
                data_source=data_source[i] if data_source else None,
                solution_str=text,
                ground_truth=ground_truth[i],
                extra_info={"truncated": truncated},
                **reward_kwargs,
            )
            scores.append(float(result["score"] if isinstance(result, dict) else result))
        return scores

    reward.__name__ = path.rsplit(".", 1)[-1].removesuffix(".py").rsplit("/", 1)[-1]
    return reward


def verl_rows_to_trl(parquet_files):
    """verl's training parquet (``prompt``, ``reward_model.ground_truth``, ``data_source``) as a
    trl dataset with ``prompt``, ``ground_truth`` and ``data_source`` columns."""
    from datasets import load_dataset

    rows = load_dataset("parquet", data_files=[str(f) for f in parquet_files], split="train")
    missing = [c for c in ("prompt", "reward_model", "data_source") if c not in rows.column_names]
    if missing:
        raise ValueError(f"{parquet_files}: not verl training rows, missing {missing} (write them with thinkj prepare)")
    return rows.map(
        lambda row: {"ground_truth": row["reward_model"]["ground_truth"]},
        remove_columns=[c for c in rows.column_names if c not in ("prompt", "data_source")],
    )


@dataclass
class GRPOResult:
    output_dir: str
    steps: int
    rewards: list[float] = field(default_factory=list)
    log_history: list[dict] = field(default_factory=list)


def run_grpo(model: str, train_files, output_dir: str, *, reward: str = "pkg://reward_fns.thinkj_strength",
             steps: int = 4, num_generations: int = 4, prompts_per_step: int = 2, max_completion_length: int = 64,
             learning_rate: float = 1e-3, kl_coef: float = 0.001, seed: int = 0, **reward_kwargs) -> GRPOResult:
    """A few GRPO steps on CPU with trl; saves the model to ``output_dir``.

    ``kl_coef`` is the paper's KL coefficient (Table 11: 0.001), trl's ``beta``.
    """
    from transformers import AutoTokenizer

    import trl

    tokenizer = AutoTokenizer.from_pretrained(model)
    rows = verl_rows_to_trl(train_files if isinstance(train_files, (list, tuple)) else [train_files])
    args = trl.GRPOConfig(
        output_dir=output_dir,
        max_steps=steps,
        per_device_train_batch_size=num_generations * prompts_per_step,
        num_generations=num_generations,
        max_completion_length=max_completion_length,
        learning_rate=learning_rate,
        beta=kl_coef,
        temperature=1.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        bf16=False,
        gradient_checkpointing=False,
        seed=seed,
    )
    reward_fn = trl_reward(reward, max_completion_length=max_completion_length,
                           eos_token_id=tokenizer.eos_token_id, **reward_kwargs)
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[reward_fn], args=args, train_dataset=rows,
                              processing_class=tokenizer)
    trainer.train()
    trainer.save_model(output_dir)
    tokenizer.save_pretrained(output_dir)
    history = list(trainer.state.log_history)
    key = f"rewards/{reward_fn.__name__}/mean"
    return GRPOResult(output_dir, trainer.state.global_step, [h[key] for h in history if key in h], history)
