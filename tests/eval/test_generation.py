"""Generation backends: transformers on CPU for real; vLLM only on a GPU machine."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from thinkj_verl.generation import Generation, _decode_reply, _vllm_generation, generate, iter_generate

PROMPTS = [[{"role": "user", "content": "Which is better? " * k + "Response (a) fox"}] for k in range(1, 6)]


def test_batched_greedy_replies_equal_one_prompt_at_a_time(noisy_judge_path):
    # Prompts of five lengths: left padding must not change what the model says.
    one_by_one = generate(noisy_judge_path, PROMPTS, max_new_tokens=12, batch_size=1, progress=False)
    batched = generate(noisy_judge_path, PROMPTS, max_new_tokens=12, batch_size=5, progress=False)
    assert batched == one_by_one
    assert len({g[0].text for g in batched}) > 1  # the replies really depend on the prompt
    assert all(g[0].truncated and g[0].num_tokens == 12 for g in batched)


def test_reply_is_what_greedy_generate_says_after_the_chat_template(noisy_judge_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(noisy_judge_path)
    model = AutoModelForCausalLM.from_pretrained(noisy_judge_path)
    ids = tokenizer.apply_chat_template(PROMPTS[2], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    expected = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    [[reply]] = generate(noisy_judge_path, [PROMPTS[2]], max_new_tokens=8, progress=False)
    assert reply.text == expected


def test_reply_stops_at_any_end_token_of_the_generation_config(tiny_judge_path, tmp_path, tiny_tokenizer):
    # The plain tiny judge answers "\n" forever; declare "\n" an end token and it stops at once.
    path = tmp_path / "judge"
    shutil.copytree(tiny_judge_path, path)
    config = json.loads((path / "generation_config.json").read_text())
    newline = tiny_tokenizer("\n", add_special_tokens=False)["input_ids"]
    assert len(newline) == 1
    config["eos_token_id"] = [tiny_tokenizer.eos_token_id, newline[0]]
    (path / "generation_config.json").write_text(json.dumps(config))
    [[reply]] = generate(str(path), PROMPTS[:1], max_new_tokens=8, progress=False)
    assert reply == Generation(text="", truncated=False, num_tokens=0)
    [[cut]] = generate(tiny_judge_path, PROMPTS[:1], max_new_tokens=8, progress=False)
    assert cut == Generation(text="\n" * 8, truncated=True, num_tokens=8)


@pytest.mark.parametrize(
    "pieces, text, truncated, num_tokens",
    [
        (["Therefore", "<|im_end|>", "<|endoftext|>", "<|endoftext|>"], "Therefore", False, 1),
        (["Therefore", " fox"], "Therefore fox", True, 2),
        (["<|im_end|>"], "", False, 0),
        (["fox", "<|endoftext|>"], "fox", True, 2),  # padding is not an end token here
    ],
)
def test_decode_reply(tiny_tokenizer, pieces, text, truncated, num_tokens):
    ids = [i for piece in pieces for i in tiny_tokenizer(piece, add_special_tokens=False)["input_ids"]]
    eos = {tiny_tokenizer.eos_token_id}
    assert _decode_reply(tiny_tokenizer, ids, eos) == Generation(text, truncated, len(ids) if truncated else num_tokens)


def test_sampling_n_replies_reproducible_by_seed(noisy_judge_path):
    first = generate(noisy_judge_path, PROMPTS[:2], max_new_tokens=6, temperature=1.0, n=3, seed=1, progress=False)
    again = generate(noisy_judge_path, PROMPTS[:2], max_new_tokens=6, temperature=1.0, n=3, seed=1, progress=False)
    other = generate(noisy_judge_path, PROMPTS[:2], max_new_tokens=6, temperature=1.0, n=3, seed=2, progress=False)
    assert [len(r) for r in first] == [3, 3]
    assert first == again
    assert first != other
    assert len({g.text for g in first[0]}) > 1


def test_iter_generate_yields_every_index_once(tiny_judge_path):
    seen = []
    for indices, generations in iter_generate(tiny_judge_path, PROMPTS, max_new_tokens=2, batch_size=2, progress=False):
        assert len(indices) == len(generations) <= 2
        seen += indices
    assert sorted(seen) == list(range(len(PROMPTS)))
    assert list(iter_generate(tiny_judge_path, [], max_new_tokens=2)) == []


@pytest.mark.parametrize(
    "options, message",
    [
        ({"backend": "hf"}, "unknown generation backend 'hf'"),
        ({"n": 2}, "temperature 0 would be 2 identical greedy replies"),
        ({"tensor_parallel": 2}, "tensor_parallel > 1 needs the vllm backend"),
        ({"max_new_tokens": 0}, "max_new_tokens must be at least 1"),
        ({"temperature": -1.0}, "temperature must be >= 0"),
        ({"max_model_len": 1}, "max_model_len must be at least 2"),
        ({"gpu_memory_utilization": 1.5, "backend": "vllm"}, "gpu_memory_utilization is a share of the GPU"),
        ({"gpu_memory_utilization": 0.5}, "gpu_memory_utilization sizes the vLLM engine"),
    ],
)
def test_bad_options_are_refused_before_loading(options, message):
    with pytest.raises(ValueError, match=message):
        generate("/nonexistent/model", PROMPTS[:1], **options)


def test_model_without_chat_template_is_a_clear_error(tiny_judge_path, tmp_path):
    path = tmp_path / "judge"
    shutil.copytree(tiny_judge_path, path)
    config = json.loads((path / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (path / "tokenizer_config.json").write_text(json.dumps(config))
    for extra in ("chat_template.jinja", "chat_template.json"):
        (path / extra).unlink(missing_ok=True)
    with pytest.raises(ValueError, match="has no chat template"):
        generate(str(path), PROMPTS[:1], max_new_tokens=2, progress=False)


def _prompt_lengths(tokenizer, prompts) -> list[int]:
    return [len(tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"])
            for p in prompts]


def test_max_model_len_leaves_each_reply_the_room_its_prompt_leaves(tiny_judge_path, tiny_tokenizer):
    """As in vLLM: a sequence stops at max_model_len tokens, prompt included, and counts as cut off.
    The plain tiny judge answers "\n" forever, so every reply runs to its limit."""
    lengths = _prompt_lengths(tiny_tokenizer, PROMPTS)
    assert len(set(lengths)) == len(PROMPTS)
    max_model_len = max(lengths) + 2
    replies = generate(tiny_judge_path, PROMPTS, max_new_tokens=8, max_model_len=max_model_len, batch_size=5,
                       progress=False)
    for length, [reply] in zip(lengths, replies):
        room = min(8, max_model_len - length)
        assert reply == Generation(text="\n" * room, truncated=True, num_tokens=room)
    assert replies[-1][0].num_tokens == 2 and replies[0][0].num_tokens == 8


def test_an_end_token_within_the_room_ends_the_reply(tiny_judge_path, tmp_path, tiny_tokenizer):
    # "\n" declared an end token: the first reply token ends it, inside a room of one token.
    path = tmp_path / "judge"
    shutil.copytree(tiny_judge_path, path)
    config = json.loads((path / "generation_config.json").read_text())
    config["eos_token_id"] = [tiny_tokenizer.eos_token_id, tiny_tokenizer("\n", add_special_tokens=False)["input_ids"][0]]
    (path / "generation_config.json").write_text(json.dumps(config))
    [length] = _prompt_lengths(tiny_tokenizer, PROMPTS[:1])
    [[reply]] = generate(str(path), PROMPTS[:1], max_new_tokens=8, max_model_len=length + 1, progress=False)
    assert reply == Generation(text="", truncated=False, num_tokens=0)


def test_a_prompt_that_fills_max_model_len_is_a_clear_error(tiny_judge_path, tiny_tokenizer):
    lengths = _prompt_lengths(tiny_tokenizer, PROMPTS)
    with pytest.raises(ValueError, match=rf"conversation 4: {lengths[4]} tokens\); raise --max-model-len"):
        generate(tiny_judge_path, PROMPTS, max_new_tokens=4, max_model_len=lengths[4], progress=False)


@pytest.mark.parametrize(
    "finish_reason, stop_reason, count",
    [
        ("stop", None, 3),       # ended on the model's end-of-sequence token: vLLM keeps it in token_ids
        ("stop", 151643, 3),     # ended on one of stop_token_ids: kept too
        ("stop", "###", 4),      # ended on a stop string: no extra token
        ("length", None, 4),     # cut at max_tokens / max_model_len
    ],
)
def test_vllm_num_tokens_leave_out_the_end_token(finish_reason, stop_reason, count):
    """The fields of vLLM's ``CompletionOutput`` (vllm/outputs.py) that decide the count."""
    from types import SimpleNamespace

    output = SimpleNamespace(text="fox", token_ids=[11, 12, 13, 151643 if finish_reason == "stop" else 14],
                             finish_reason=finish_reason, stop_reason=stop_reason)
    assert _vllm_generation(output) == Generation("fox", finish_reason == "length", count)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="the vLLM backend needs a CUDA GPU (and vllm installed)")
def test_vllm_backend_replies_and_truncation(tiny_judge_path):
    pytest.importorskip("vllm", reason="vllm is not installed (pip install 'thinkj-verl[gpu]')")
    replies = generate(tiny_judge_path, PROMPTS, backend="vllm", max_new_tokens=4, progress=False)
    assert len(replies) == len(PROMPTS)
    assert all(len(r) == 1 and isinstance(r[0].text, str) for r in replies)
    assert all(r[0].truncated == (r[0].num_tokens == 4) for r in replies)
    sampled = generate(tiny_judge_path, PROMPTS[:1], backend="vllm", max_new_tokens=4, temperature=1.0, n=3, progress=False)
    assert len(sampled[0]) == 3
