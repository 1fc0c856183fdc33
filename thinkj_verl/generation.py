"""Generation backends: chat conversations in, judge replies out.

Shared by ``thinkj eval`` and the offline pair builder. Two backends behind one call:

- ``"vllm"``: vLLM's offline engine (GPU; batched, tensor parallel). Kept thin on purpose:
  vLLM applies the model's chat template itself and reports why each reply stopped.
- ``"transformers"``: ``model.generate`` with left padding (CPU, tests, small GPUs).

Both apply the model's chat template with ``add_generation_prompt=True``, decode greedily when
``temperature`` is 0, and mark a reply ``truncated`` when it hit ``max_new_tokens`` without an
end-of-sequence token: the parser counts such a reply as a format failure.

``iter_generate`` yields results batch by batch so a caller can write them as they come
(``thinkj eval`` appends them to ``generations.jsonl`` and a crash loses nothing written).

>>> import tempfile
>>> from thinkj_verl.tiny import build_tiny_judge
>>> path = build_tiny_judge(tempfile.mkdtemp())
>>> [[g]] = generate(path, [[{"role": "user", "content": "Which is better?"}]],
...                  max_new_tokens=4, progress=False)
>>> g.truncated in (True, False)
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

BACKENDS = ("transformers", "vllm")


@dataclass(frozen=True)
class Generation:
    """One reply: the decoded text (special tokens removed) and whether it was cut off.

    ``num_tokens`` is the number of generated tokens (the end-of-sequence token excluded).
    """

    text: str
    truncated: bool
    num_tokens: int | None = None


def _check_options(backend: str, max_new_tokens: int, temperature: float, n: int, tensor_parallel: int) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown generation backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if n > 1 and temperature == 0:
        raise ValueError(f"n={n} samples with temperature 0 would be {n} identical greedy replies; set temperature > 0")
    if tensor_parallel < 1:
        raise ValueError(f"tensor_parallel must be at least 1, got {tensor_parallel}")
    if tensor_parallel > 1 and backend != "vllm":
        raise ValueError("tensor_parallel > 1 needs the vllm backend (--backend vllm)")


def iter_generate(
    model_path: str,
    conversations: Sequence[list[dict]],
    *,
    backend: str = "transformers",
    max_new_tokens: int = 2048,
    temperature: float = 0.0,
    n: int = 1,
    tensor_parallel: int = 1,
    batch_size: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> Iterator[tuple[list[int], list[list[Generation]]]]:
    """Yield ``(indices, generations)`` per batch; ``indices`` index into ``conversations``.

    Batches may come in any order (the transformers backend groups prompts of similar
    length); every index is yielded exactly once. ``batch_size`` defaults to 8 for
    transformers and 256 for vLLM (vLLM batches internally; the chunk only sets how often
    results are handed back).
    """
    _check_options(backend, max_new_tokens, temperature, n, tensor_parallel)
    if not conversations:
        return
    if backend == "vllm":
        yield from _iter_vllm(
            model_path, conversations, max_new_tokens, temperature, n, tensor_parallel, batch_size or 256, seed, progress
        )
    else:
        yield from _iter_transformers(
            model_path, conversations, max_new_tokens, temperature, n, batch_size or 8, seed, progress
        )


def generate(
    model_path: str,
    conversations: Sequence[list[dict]],
    *,
    backend: str = "transformers",
    max_new_tokens: int = 2048,
    temperature: float = 0.0,
    n: int = 1,
    tensor_parallel: int = 1,
    batch_size: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> list[list[Generation]]:
    """``n`` replies for every conversation, in the order of ``conversations``.

    See `iter_generate` for the options; this collects its batches.
    """
    results: list[list[Generation] | None] = [None] * len(conversations)
    for indices, generations in iter_generate(
        model_path,
        conversations,
        backend=backend,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        n=n,
        tensor_parallel=tensor_parallel,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    ):
        for index, replies in zip(indices, generations):
            results[index] = replies
    return results  # type: ignore[return-value]


# --- transformers -------------------------------------------------------------------------


def _eos_ids(tokenizer, model) -> set[int]:
    ids = set()
    for value in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
        if value is None:
            continue
        ids.update(value if isinstance(value, (list, tuple)) else [value])
    return ids


def _decode_reply(tokenizer, token_ids: list[int], eos_ids: set[int]) -> Generation:
    # generate() stops a sequence only at an end-of-sequence token or at max_new_tokens, and
    # pads finished sequences afterwards: no end token in the reply means it was cut off.
    for position, token in enumerate(token_ids):
        if token in eos_ids:
            kept = token_ids[:position]
            return Generation(tokenizer.decode(kept, skip_special_tokens=True), False, len(kept))
    return Generation(tokenizer.decode(token_ids, skip_special_tokens=True), True, len(token_ids))


def _iter_transformers(model_path, conversations, max_new_tokens, temperature, n, batch_size, seed, progress):
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.chat_template is None:
        raise ValueError(
            f"the tokenizer in {model_path} has no chat template; the judge prompt needs one "
            "(save the model with its chat template, or set tokenizer.chat_template)"
        )
    tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(
        model_path, dtype=torch.bfloat16 if device == "cuda" else torch.float32
    ).to(device)
    model.eval()
    eos_ids = _eos_ids(tokenizer, model)

    prompts = [
        tokenizer.apply_chat_template(list(conversation), add_generation_prompt=True, tokenize=False)
        for conversation in conversations
    ]
    # The chat template already writes any BOS token: do not add special tokens again.
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    # Longest first: similar lengths share a batch (less padding) and memory peaks early.
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    set_seed(seed)
    bar = tqdm(total=len(prompts), desc="generating", unit="prompt", disable=not progress)
    try:
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = tokenizer(
                [prompts[i] for i in indices], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(device)
            with torch.no_grad():
                output = model.generate(
                    **batch,
                    max_new_tokens=max_new_tokens,
                    num_return_sequences=n,
                    pad_token_id=tokenizer.pad_token_id,
                    # Sampling knobs from the model's generation_config (top_p, top_k, ...)
                    # would otherwise change what "temperature 0" and "temperature t" mean.
                    top_p=None,
                    top_k=None,
                    **sampling,
                )
            replies = output[:, batch["input_ids"].shape[1] :].tolist()
            generations = [
                [_decode_reply(tokenizer, replies[k * n + s], eos_ids) for s in range(n)] for k in range(len(indices))
            ]
            bar.update(len(indices))
            yield indices, generations
    finally:
        bar.close()


# --- vLLM (GPU only) ------------------------------------------------------------------------


def _iter_vllm(model_path, conversations, max_new_tokens, temperature, n, tensor_parallel, batch_size, seed, progress):
    try:
        from vllm import LLM, SamplingParams
    except ImportError as error:
        raise ImportError(
            "the vllm backend needs vLLM on a GPU machine: pip install 'thinkj-verl[gpu]', "
            "or use --backend transformers"
        ) from error
    from tqdm.auto import tqdm

    llm = LLM(model=model_path, tensor_parallel_size=tensor_parallel, seed=seed)
    params = SamplingParams(n=n, temperature=temperature, max_tokens=max_new_tokens, seed=seed)
    bar = tqdm(total=len(conversations), desc="generating (vllm)", unit="prompt", disable=not progress)
    try:
        for start in range(0, len(conversations), batch_size):
            indices = list(range(start, min(start + batch_size, len(conversations))))
            outputs = llm.chat(
                [list(conversations[i]) for i in indices], params, add_generation_prompt=True, use_tqdm=False
            )
            generations = [
                [Generation(o.text, o.finish_reason == "length", len(o.token_ids)) for o in output.outputs]
                for output in outputs
            ]
            bar.update(len(indices))
            yield indices, generations
    finally:
        bar.close()
