"""Token-in, token-out generation with transformers on a CPU: the engine behind ``thinkj_cpu``.

It does for small models what vLLM does for verl on a GPU: takes prompt token ids and verl's
sampling parameters, batches the requests that arrive together, and returns the new token ids,
their log-probs when asked, and why generation stopped.

- Sampling: ``temperature`` (0 = greedy), ``top_p``, ``top_k`` (-1 or 0 = off),
  ``max_tokens``, ``n`` and ``seed`` are honoured; ``repetition_penalty`` too.
- Stopping: on EVERY end-of-sequence id the model's generation config lists, plus the
  tokenizer's; the stop token is part of the reply (as vLLM returns it).
- ``finish_reason`` is ``"stop"`` (a stop id was produced) or ``"length"`` (``max_tokens``
  reached first).
- Log-probs are of the sampled token under the distribution it was sampled from
  (``log_softmax(logits / temperature)``; raw logits when greedy), which is what verl's actor
  recomputes.

>>> import tempfile
>>> from thinkj_verl.tiny import build_tiny_judge
>>> engine = GenerationEngine.from_pretrained(build_tiny_judge(tempfile.mkdtemp()))
>>> [result] = engine.generate([[1, 2, 3]], SamplingParams(max_tokens=4, temperature=0.0, logprobs=True))
>>> len(result.token_ids) <= 4, len(result.log_probs) == len(result.token_ids), result.finish_reason in ("stop", "length")
(True, True, True)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import torch

GREEDY_BELOW = 1e-5


class SamplingParamsError(ValueError):
    """A sampling parameter the engine cannot honour, named."""


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    n: int = 1
    seed: int | None = None
    logprobs: bool = False
    repetition_penalty: float = 1.0

    @classmethod
    def from_request(cls, params: dict[str, Any], default_max_tokens: int) -> SamplingParams:
        """verl's (or an OpenAI request's) sampling dict -> SamplingParams; unknown keys ignored.

        >>> SamplingParams.from_request({"temperature": 0, "top_k": -1, "logprobs": False}, 16).max_tokens
        16
        """
        max_tokens = params.get("max_tokens", params.get("max_new_tokens"))
        values = dict(
            max_tokens=int(default_max_tokens if max_tokens is None else max_tokens),
            temperature=float(params.get("temperature", 1.0) if params.get("temperature") is not None else 1.0),
            top_p=float(params.get("top_p", 1.0) if params.get("top_p") is not None else 1.0),
            top_k=int(params.get("top_k", -1) if params.get("top_k") is not None else -1),
            n=int(params.get("n", 1) or 1),
            seed=None if params.get("seed") is None else int(params["seed"]),
            logprobs=bool(params.get("logprobs") or False),
            repetition_penalty=float(params.get("repetition_penalty", 1.0) or 1.0),
        )
        if values["max_tokens"] < 1:
            raise SamplingParamsError(f"max_tokens must be at least 1, got {values['max_tokens']}")
        if values["n"] < 1:
            raise SamplingParamsError(f"n must be at least 1, got {values['n']}")
        if values["temperature"] < 0 or not 0 < values["top_p"] <= 1:
            raise SamplingParamsError(
                f"temperature must be >= 0 and top_p in (0, 1], got {values['temperature']} and {values['top_p']}"
            )
        return cls(**values)

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_BELOW


@dataclass
class Completion:
    token_ids: list[int]
    finish_reason: str  # "stop" | "length"
    log_probs: list[float] | None = None
    prompt_tokens: int = 0
    extra: dict = field(default_factory=dict)


def stop_token_ids(tokenizer, generation_config) -> list[int]:
    """Every end-of-sequence id: the generation config's (an int or a list) and the tokenizer's.

    >>> from types import SimpleNamespace
    >>> stop_token_ids(SimpleNamespace(eos_token_id=2), SimpleNamespace(eos_token_id=[7, 2]))
    [7, 2]
    """
    ids: list[int] = []
    for source in (getattr(generation_config, "eos_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        for token in source if isinstance(source, (list, tuple)) else [source]:
            if token is not None and int(token) not in ids:
                ids.append(int(token))
    return ids


class GenerationEngine:
    """A causal LM and its tokenizer, generating batches under one lock (one model, one CPU)."""

    def __init__(self, model, tokenizer):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.stop_ids = stop_token_ids(tokenizer, getattr(model, "generation_config", None))
        if not self.stop_ids:
            raise ValueError("the model has no end-of-sequence id (generation_config.eos_token_id, tokenizer.eos_token)")
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else self.stop_ids[0]
        self._lock = threading.Lock()

    @classmethod
    def from_pretrained(cls, path: str, trust_remote_code: bool = False) -> GenerationEngine:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=torch.float32, attn_implementation="sdpa", trust_remote_code=trust_remote_code
        )
        return cls(model, tokenizer)

    def load_weights(self, named_tensors) -> int:
        """Copy ``(name, tensor)`` pairs into the model; every name must be one of its parameters."""
        state = self.model.state_dict()
        unknown = []
        count = 0
        with self._lock, torch.no_grad():
            for name, tensor in named_tensors:
                target = state.get(name)
                if target is None:
                    unknown.append(name)
                    continue
                target.copy_(tensor.to(dtype=target.dtype, device=target.device))
                count += 1
        if unknown:
            raise KeyError(f"weights not in the rollout model: {unknown[:5]} ({len(unknown)} in all)")
        return count

    def generate(self, prompts: list[list[int]], params: SamplingParams) -> list[Completion]:
        """One completion per prompt per ``params.n`` (prompt-major order)."""
        expanded = [list(map(int, prompt)) for prompt in prompts for _ in range(params.n)]
        with self._lock:
            return self._generate(expanded, params)

    @torch.no_grad()
    def _generate(self, prompts: list[list[int]], params: SamplingParams) -> list[Completion]:
        from transformers import GenerationConfig

        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        for row, prompt in enumerate(prompts):  # left padding: every reply starts at column `width`
            input_ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            attention_mask[row, width - len(prompt) :] = 1
        config = GenerationConfig(
            max_new_tokens=params.max_tokens,
            do_sample=not params.greedy,
            temperature=None if params.greedy else params.temperature,
            top_p=None if params.greedy or params.top_p >= 1 else params.top_p,
            top_k=None if params.greedy or params.top_k <= 0 else params.top_k,
            repetition_penalty=None if params.repetition_penalty == 1.0 else params.repetition_penalty,
            eos_token_id=self.stop_ids,
            pad_token_id=self.pad_id,
            return_dict_in_generate=True,
            output_logits=params.logprobs,
        )
        if params.seed is not None:
            torch.manual_seed(params.seed)
        output = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config)
        new_tokens = output.sequences[:, width:]
        step_logprobs = None
        if params.logprobs:
            logits = torch.stack(output.logits, dim=1).float()  # (batch, steps, vocab), before any processor
            if not params.greedy:
                logits = logits / params.temperature
            step_logprobs = torch.log_softmax(logits, dim=-1).gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
        stop_ids = set(self.stop_ids)
        completions = []
        for row, prompt in enumerate(prompts):
            tokens = new_tokens[row].tolist()
            end = next((i + 1 for i, token in enumerate(tokens) if token in stop_ids), None)
            finish_reason = "stop" if end is not None else "length"
            tokens = tokens[: end if end is not None else params.max_tokens]
            completions.append(
                Completion(
                    token_ids=tokens,
                    finish_reason=finish_reason,
                    log_probs=step_logprobs[row, : len(tokens)].tolist() if step_logprobs is not None else None,
                    prompt_tokens=len(prompt),
                )
            )
        return completions
