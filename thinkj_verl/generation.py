"""Generation backends: chat conversations in, judge replies out.

Shared by ``thinkj eval`` and the offline pair builder. Two backends behind one call:

- ``"vllm"``: vLLM's offline engine (GPU; batched, tensor parallel). Kept thin on purpose:
  vLLM applies the model's chat template itself and reports why each reply stopped.
- ``"transformers"``: ``model.generate`` with left padding (CPU, tests, small GPUs).

Both apply the model's chat template with ``add_generation_prompt=True``, decode greedily when
``temperature`` is 0, and mark a reply ``truncated`` when it hit ``max_new_tokens`` (or the end
of ``max_model_len``, prompt included) without an end-of-sequence token: the parser counts such a
reply as a format failure. ``Generation.num_tokens`` counts the reply's tokens without the
end-of-sequence token in both backends. A prompt that leaves no room for a reply in
``max_model_len`` is an error (vLLM refuses it too). Engine sizing (``tensor_parallel``, ``max_model_len``, ``gpu_memory_utilization``) goes
to vLLM's ``LLM``; every command that generates exposes it (``add_engine_arguments``).

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

    ``num_tokens`` is the number of generated tokens, the end-of-sequence (or stop) token
    excluded, in both backends: a reply that ended on its own has as many tokens as its text,
    a truncated one exactly ``max_new_tokens``.
    """

    text: str
    truncated: bool
    num_tokens: int | None = None


def add_engine_arguments(parser) -> None:
    """The backend and engine-sizing options every generating command takes (``thinkj select / pairs / eval``).

    >>> import argparse
    >>> parser = argparse.ArgumentParser(); add_engine_arguments(parser)
    >>> engine_options(parser.parse_args(["--max-model-len", "8192"]))
    {'tensor_parallel': 1, 'max_model_len': 8192, 'gpu_memory_utilization': None}
    """
    parser.add_argument("--backend", choices=("auto", *BACKENDS), default="auto",
                        help="auto: vLLM when it is installed and a GPU is visible, else transformers")
    group = parser.add_argument_group("generation engine (vLLM)")
    from thinkj_verl import argtypes

    group.add_argument("--tensor-parallel", type=argtypes.positive_int, default=1, help="GPUs per vLLM engine (a large judge: 4 or 8)")
    group.add_argument("--max-model-len", type=argtypes.positive_int,
                       help="prompt + reply tokens per sequence (vLLM's max_model_len; default: the model's); "
                            "lower it when the KV cache does not fit; the transformers backend keeps it too")
    group.add_argument("--gpu-memory-utilization", type=argtypes.fraction,
                       help="share of each GPU vLLM may take, weights and KV cache (vLLM's default 0.9)")


def engine_options(args) -> dict:
    """The keyword arguments of `generate` / `iter_generate` from `add_engine_arguments`' options."""
    return {"tensor_parallel": args.tensor_parallel, "max_model_len": args.max_model_len,
            "gpu_memory_utilization": args.gpu_memory_utilization}


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``vllm`` when vLLM is installed and CUDA is visible, else ``transformers``.

    >>> resolve_backend("transformers")
    'transformers'
    """
    if backend != "auto":
        return backend
    import importlib.util

    import torch

    return "vllm" if torch.cuda.is_available() and importlib.util.find_spec("vllm") else "transformers"


def _check_options(backend: str, max_new_tokens: int, temperature: float, n: int, tensor_parallel: int,
                   max_model_len: int | None = None, gpu_memory_utilization: float | None = None) -> None:
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
    if max_model_len is not None and max_model_len < 2:
        raise ValueError(f"max_model_len must be at least 2 (a prompt token and a reply token), got {max_model_len}")
    if gpu_memory_utilization is not None:
        if not 0 < gpu_memory_utilization <= 1:
            raise ValueError(f"gpu_memory_utilization is a share of the GPU in (0, 1], got {gpu_memory_utilization}")
        if backend != "vllm":
            raise ValueError("gpu_memory_utilization sizes the vLLM engine: use it with --backend vllm")


def iter_generate(
    model_path: str,
    conversations: Sequence[list[dict]],
    *,
    backend: str = "transformers",
    max_new_tokens: int = 2048,
    temperature: float = 0.0,
    n: int = 1,
    tensor_parallel: int = 1,
    max_model_len: int | None = None,
    gpu_memory_utilization: float | None = None,
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
    _check_options(backend, max_new_tokens, temperature, n, tensor_parallel, max_model_len, gpu_memory_utilization)
    if not conversations:
        return
    if backend == "vllm":
        engine = {"tensor_parallel_size": tensor_parallel, "max_model_len": max_model_len,
                  "gpu_memory_utilization": gpu_memory_utilization}
        yield from _iter_vllm(
            model_path, conversations, max_new_tokens, temperature, n, engine, batch_size or 256, seed, progress
        )
    else:
        yield from _iter_transformers(
            model_path, conversations, max_new_tokens, temperature, n, max_model_len, batch_size or 8, seed, progress
        )


def generate(model_path: str, conversations: Sequence[list[dict]], **options) -> list[list[Generation]]:
    """``n`` replies for every conversation, in the order of ``conversations``.

    ``options`` are the keyword arguments of `iter_generate`; this collects its batches.
    """
    results: list[list[Generation] | None] = [None] * len(conversations)
    for indices, generations in iter_generate(model_path, conversations, **options):
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


def _decode_reply(tokenizer, token_ids: list[int], eos_ids: set[int], limit: int | None = None) -> Generation:
    # generate() stops a sequence only at an end-of-sequence token or at max_new_tokens, and
    # pads finished sequences afterwards: no end token in the reply means it was cut off.
    # ``limit``: the room this prompt leaves in max_model_len (vLLM stops there too).
    if limit is not None:
        token_ids = token_ids[:limit]  # the end token counts within the limit, as in vLLM
    for position, token in enumerate(token_ids):
        if token in eos_ids:
            kept = token_ids[:position]
            return Generation(tokenizer.decode(kept, skip_special_tokens=True), False, len(kept))
    return Generation(tokenizer.decode(token_ids, skip_special_tokens=True), True, len(token_ids))


def _iter_transformers(model_path, conversations, max_new_tokens, temperature, n, max_model_len, batch_size, seed,
                       progress):
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
    if max_model_len is not None:
        too_long = [i for i, length in enumerate(lengths) if length >= max_model_len]
        if too_long:
            raise ValueError(f"{len(too_long)} prompt(s) have max_model_len={max_model_len} tokens or more (conversation "
                             f"{too_long[0]}: {lengths[too_long[0]]} tokens); raise --max-model-len")
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
            # Each reply may use max_new_tokens, and at most what its prompt leaves of max_model_len.
            limits = [max_new_tokens if max_model_len is None else min(max_new_tokens, max_model_len - lengths[i])
                      for i in indices]
            with torch.no_grad():
                output = model.generate(
                    **batch,
                    max_new_tokens=max(limits),
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
                [_decode_reply(tokenizer, replies[k * n + s], eos_ids, limits[k]) for s in range(n)]
                for k in range(len(indices))
            ]
            bar.update(len(indices))
            yield indices, generations
    finally:
        bar.close()


# --- vLLM (GPU only) ------------------------------------------------------------------------


def _vllm_generation(output) -> Generation:
    """A vLLM ``CompletionOutput`` as a `Generation`, counting tokens as the transformers backend does.

    vLLM keeps the token it stopped on in ``token_ids`` when that was the end-of-sequence token
    or one of ``stop_token_ids`` (``finish_reason == "stop"`` with ``stop_reason`` None or that
    token id); a stop *string* is not a token of the reply.
    """
    stopped_on_token = output.finish_reason == "stop" and (output.stop_reason is None or isinstance(output.stop_reason, int))
    count = len(output.token_ids) - (1 if stopped_on_token and output.token_ids else 0)
    return Generation(output.text, output.finish_reason == "length", count)


def _iter_vllm(model_path, conversations, max_new_tokens, temperature, n, engine, batch_size, seed, progress):
    try:
        from vllm import LLM, SamplingParams
    except ImportError as error:
        raise ImportError(
            "the vllm backend needs vLLM on a GPU machine: pip install 'thinkj-verl[gpu]', "
            "or use --backend transformers"
        ) from error
    from tqdm.auto import tqdm

    # None: vLLM's own default (max_model_len from the model config, gpu_memory_utilization 0.9).
    llm = LLM(model=model_path, seed=seed, **{key: value for key, value in engine.items() if value is not None})
    params = SamplingParams(n=n, temperature=temperature, max_tokens=max_new_tokens, seed=seed)
    bar = tqdm(total=len(conversations), desc="generating (vllm)", unit="prompt", disable=not progress)
    try:
        for start in range(0, len(conversations), batch_size):
            indices = list(range(start, min(start + batch_size, len(conversations))))
            outputs = llm.chat(
                [list(conversations[i]) for i in indices], params, add_generation_prompt=True, use_tqdm=False
            )
            generations = [
                [_vllm_generation(o) for o in output.outputs]
                for output in outputs
            ]
            bar.update(len(indices))
            yield indices, generations
    finally:
        bar.close()
