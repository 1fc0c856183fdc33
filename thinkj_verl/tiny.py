"""A tokenizer and a random-weight model built from nothing, offline, in well under a second.

The tests, the benchmarks and ``make demo`` use them wherever a real judge would be loaded
from a hub: same loaders (``AutoTokenizer.from_pretrained``, verl's ``hf_tokenizer``), same
chat template style (ChatML), but about 100k parameters.

>>> import tempfile
>>> path = build_tiny_judge(tempfile.mkdtemp())
>>> from transformers import AutoTokenizer
>>> AutoTokenizer.from_pretrained(path).eos_token
'<|im_end|>'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from thinkj_verl.formats import FORMATS

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# ChatML; {% generation %} marks what the assistant wrote, for assistant-only SFT loss.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _training_text(formats: Sequence[str] | None = None) -> list[str]:
    sentences = []
    for fmt in (FORMATS[name] for name in (formats or FORMATS)):
        for verdict in "ab":
            for strength in (1, 2, 3):
                sentences.append(fmt.render(verdict=verdict, strength=strength, score_a=30, score_b=70))
    sentences += [
        "<think> Response (a) answers the question directly and correctly. </think>",
        "Please act as an impartial judge and evaluate the quality of the two responses.",
        "[User Question] [The Start of Response (a)] [The End of Response (b)]",
        "The quick brown fox jumps over the lazy dog. 0123456789 helpful harmless honest",
    ]
    return sentences * 4


def build_tiny_tokenizer(vocab_size: int = 512, extra_text: Sequence[str] = (), formats: Sequence[str] | None = None):
    """A byte-level BPE tokenizer with ChatML special tokens and chat template.

    ``extra_text`` joins the training text: trained on the judge prompts it will see (the demo
    does this), the tokenizer cuts each prompt into fewer tokens, so a CPU trains faster.
    ``formats``: the output formats whose final sentences join it (default: all).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    core.train_from_iterator([*_training_text(formats), *extra_text], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(tokenizer, seed: int = 0, sequence_classification: bool = False, hidden_size: int = 64,
                     num_layers: int = 2, num_heads: int | None = None):
    """A Qwen2 with random weights sized to ``tokenizer`` (two layers, width 64, unless asked).

    ``num_heads``: attention heads, each with its own keys and values (default: 4 query heads
    sharing 2 key/value heads).
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2ForSequenceClassification

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads or 4,
        num_key_value_heads=num_heads or 2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        num_labels=1,
    )
    if sequence_classification:
        return Qwen2ForSequenceClassification(config)
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def build_tiny_judge(
    directory: str | Path, seed: int = 0, vocab_size: int = 512, extra_text: Sequence[str] = (),
    formats: Sequence[str] | None = None, num_heads: int | None = None,
) -> str:
    """Save a tiny tokenizer and causal LM to ``directory``; returns the path as a string."""
    directory = Path(directory)
    tokenizer = build_tiny_tokenizer(vocab_size, extra_text, formats)
    model = build_tiny_model(tokenizer, seed=seed, num_heads=num_heads)
    tokenizer.save_pretrained(directory)
    model.save_pretrained(directory)
    return str(directory)
