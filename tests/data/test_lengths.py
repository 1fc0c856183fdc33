"""The size bound of the length filter, proved per tokenizer kind on random unicode text, and
the filter's decisions and summary with it (CPU only, seconds)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from thinkj_verl.data.lengths import PieceLengths, size_bound
from thinkj_verl.data.pairs import Pair
from thinkj_verl.ground_truth import GroundTruth

CHATML = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "The quick brown fox jumps over the lazy dog. Response (a) is better than response (b).",
    "Il était une fois, à Paris, un café très animé. Ünïcödé àccents everywhere.",
    "한국어 텍스트와 日本語のテキスト, emojis 🙂🚀, and İstanbul ß ﬁ ligatures.",
    "def f(x):\n    return x ** 2  # code, tabs\tand  double  spaces\n\n",
] * 20


def _train(model, trainer, normalizer=None, pre_tokenizer=None, added=()):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer(model)
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    if pre_tokenizer is not None:
        tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    tokenizer.add_special_tokens(list(added))
    return tokenizer


def byte_level_bpe():
    """GPT-2 style: byte-level BPE, no normalizer."""
    from tokenizers import models, pre_tokenizers, trainers

    return _train(models.BPE(), trainers.BpeTrainer(vocab_size=400, special_tokens=CHATML,
                                                    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
                  pre_tokenizer=pre_tokenizers.ByteLevel(add_prefix_space=False))


def nfc_byte_level_bpe():
    """Qwen2 style: NFC normalizer, a regex Split, then byte-level BPE."""
    from tokenizers import Regex, models, normalizers, pre_tokenizers, trainers

    split = pre_tokenizers.Split(Regex(r"\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+"), behavior="isolated")
    return _train(models.BPE(), trainers.BpeTrainer(vocab_size=400, special_tokens=CHATML,
                                                    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
                  normalizer=normalizers.NFC(),
                  pre_tokenizer=pre_tokenizers.Sequence([split, pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                                                          use_regex=False)]))


def wordpiece(added=()):
    """BERT uncased style: lowercasing, accent-stripping normalizer, [UNK] for unknown words."""
    from tokenizers import models, normalizers, pre_tokenizers, trainers

    return _train(models.WordPiece(unk_token="[UNK]"),
                  trainers.WordPieceTrainer(vocab_size=300, special_tokens=["[UNK]", "[CLS]", "[SEP]", *CHATML]),
                  normalizer=normalizers.BertNormalizer(lowercase=True), pre_tokenizer=pre_tokenizers.BertPreTokenizer(),
                  added=added)


def byte_fallback_unigram():
    """A char-level Unigram model with byte fallback: an unknown character is one token per
    UTF-8 byte, so characters are no bound, bytes are."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = [("<unk>", 0.0)] + [(c, -1.0) for c in "abcdefghijklmnopqrstuvwxyz"] + [("th", -0.5), ("the", -0.2)]
    vocab += [(f"<0x{b:02X}>", -5.0) for b in range(256)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=True))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.add_special_tokens(CHATML)
    return tokenizer


def byte_fallback_bpe():
    """Llama-2 / Mistral style: spaces made '▁' and one prepended, BPE with byte fallback."""
    from tokenizers import models, normalizers, trainers

    return _train(models.BPE(byte_fallback=True, unk_token="<unk>"),
                  trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", *CHATML]),
                  normalizer=normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]))


def prefix_space_bpe():
    from tokenizers import models, pre_tokenizers, trainers

    return _train(models.BPE(), trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
                  pre_tokenizer=pre_tokenizers.ByteLevel(add_prefix_space=True))


def char_unigram():
    """A char-level Unigram model behind a Metaspace pre-tokenizer (SentencePiece style)."""
    from tokenizers import models, pre_tokenizers, trainers

    return _train(models.Unigram(), trainers.UnigramTrainer(vocab_size=120, special_tokens=["<unk>"], unk_token="<unk>"),
                  pre_tokenizer=pre_tokenizers.Metaspace())


BOUNDED = {"byte-level BPE": byte_level_bpe, "NFC byte-level BPE": nfc_byte_level_bpe, "WordPiece": wordpiece,
           "WordPiece, whitespace added token": lambda: wordpiece(added=["\n\n"]),
           "byte-fallback Unigram": byte_fallback_unigram}
UNBOUNDED = {"byte-fallback BPE, Prepend/Replace normalizer": byte_fallback_bpe,
             "ByteLevel(add_prefix_space=True)": prefix_space_bpe, "Unigram behind Metaspace": char_unigram}


@pytest.fixture(scope="module", params=list(BOUNDED))
def bounded(request):
    tokenizer = BOUNDED[request.param]()
    return tokenizer, size_bound(tokenizer)[0]


def tokens(tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False))


# Random unicode (every category but lone surrogates, which no tokenizer accepts), biased towards what makes bounds fail:
# combining marks, Hangul, characters whose lowercase or decomposition is longer, added tokens.
TRICKY = st.sampled_from(list("aeu İßﬁ\n\t한각\u0301\u0308\u0323\u0344\u0958\uf900ǅΣ"))
fragments = st.one_of(st.text(st.one_of(st.characters(exclude_categories=("Cs",)), TRICKY), max_size=30),
                      st.sampled_from(["<|im_start|>", "[UNK]", "\n\n"]))
texts = st.lists(st.lists(fragments, max_size=4).map("".join), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(pieces=texts)
@example(pieces=["ǘ", "\u0323"])  # NFC(ǘ + dot below) has more code points than NFC(ǘ) + NFC(dot below)
@example(pieces=["İstanbul", "한국어"])  # longer once lowercased / decomposed
@example(pieces=["x" * 150])  # one word past WordPiece's 100 characters: a single [UNK]
def test_size_bound_holds_for_any_text_and_any_cut(bounded, pieces):
    tokenizer, bound = bounded
    assert bound is not None
    assert tokens(tokenizer, "".join(pieces)) <= sum(bound(piece) for piece in pieces)


def test_tokenizer_kind_is_read_from_the_object():
    kinds = {name: size_bound(build())[0] for name, build in BOUNDED.items()}
    assert kinds["byte-level BPE"].unit == kinds["NFC byte-level BPE"].unit == "bytes"
    assert kinds["WordPiece"].unit == "characters" and kinds["WordPiece"].drops_whitespace
    # A whitespace-only added token is one token made of whitespace: whitespace must count then.
    assert not kinds["WordPiece, whitespace added token"].drops_whitespace
    # Byte fallback makes an unknown character several tokens: the unit must be bytes.
    assert kinds["byte-fallback Unigram"].unit == "bytes"
    assert tokens(byte_fallback_unigram(), "é") == 2 > len("é")


@pytest.mark.parametrize("name", list(UNBOUNDED))
def test_no_bound_where_the_text_can_grow(name):
    tokenizer = UNBOUNDED[name]()
    bound, why = size_bound(tokenizer)
    assert bound is None and why
    # The refusal is needed: measured naively (bytes of the raw text) the count can be larger.
    text = {"byte-fallback BPE, Prepend/Replace normalizer": "~",
            "ByteLevel(add_prefix_space=True)": "a",
            "Unigram behind Metaspace": "q z q z q z"}[name]
    assert tokens(tokenizer, text) > len(text.encode())


def test_composition_never_lengthens_text():
    # Why NFC/NFKC are bounded by their decomposed forms: each canonical composition step
    # (a pair of code points -> one) is never longer in UTF-8 than the pair.
    longer, checked = [], 0
    for code in range(0x110000):
        char = chr(code)
        mapping = unicodedata.decomposition(char)
        if not mapping or mapping.startswith("<"):
            continue
        parts = [chr(int(h, 16)) for h in mapping.split()]
        if len(parts) != 2 or unicodedata.normalize("NFC", "".join(parts)) != char:
            continue  # not a composition NFC makes (singletons and exclusions only decompose)
        checked += 1
        if len(char.encode()) > sum(len(p.encode()) for p in parts):
            longer.append(char)
    assert checked > 900 and not longer
    # Hangul syllables compose algorithmically: three bytes from jamo of three bytes each.
    assert all(len(unicodedata.normalize("NFD", chr(c)).encode()) >= 6 for c in range(0xAC00, 0xD7A4, 97))


def judge_tokenizer(core):
    from transformers import PreTrainedTokenizerFast

    from thinkj_verl.tiny import CHAT_TEMPLATE

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def spread_pairs(count: int) -> list[Pair]:
    """Pairs from a few words to a few thousand characters, some non-ASCII."""
    pairs = []
    for i in range(count):
        body = ("word " * (i * 7)) + ("ünï 한 " * (i % 3))
        pairs.append(Pair(f"s:{i}", "test", [{"role": "user", "content": f"Question {i}? {body[: i * 5]}"}],
                          f"Answer {i}. {body}", f"Other {i}.", GroundTruth("a")))
    return pairs


@pytest.mark.parametrize("build", [byte_level_bpe, wordpiece, byte_fallback_bpe], ids=["bpe", "wordpiece", "unbounded"])
def test_filter_keeps_what_a_full_count_keeps(build):
    tokenizer = judge_tokenizer(build())
    pairs = spread_pairs(60)
    full = PieceLengths(tokenizer, "strength").full(pairs, ("ab", "ba"))
    lengths = sorted(max(ns) for ns in full)
    for limit in (lengths[5], lengths[30], lengths[-1]):
        counter = PieceLengths(tokenizer, "strength", sample=8)
        kept, counts = counter.filter(pairs, ("ab", "ba"), limit)
        assert kept == [i for i, ns in enumerate(full) if max(ns) <= limit]
        assert all(ns is None or max(ns) <= limit for ns in counts)
        assert counter.kept_by_bound == 2 * sum(ns is None for ns in counts)
        assert counter.kept_by_bound + counter.counted == 2 * len(pairs)
        if build is byte_fallback_bpe:
            assert counter.kept_by_bound == 0 and counter.describe()["size_bound"].startswith("none (")
    if build is not byte_fallback_bpe:
        assert counter.kept_by_bound > 0  # at the longest limit most pairs need no count


def test_parallel_and_serial_counts_agree():
    tokenizer = judge_tokenizer(wordpiece())
    pairs = spread_pairs(40)
    serial = PieceLengths(tokenizer, "strength", batch_size=7, workers=1).measure(pairs, ("ab", "ba"))
    assert PieceLengths(tokenizer, "strength", batch_size=7).measure(pairs, ("ab", "ba")) == serial


def long_rows(count: int) -> list[dict]:
    return [{"id": i, "prompt": f"Question number {i}?", "chosen": f"A good answer {i}." + " More detail." * (i * i),
             "rejected": f"Bad {i}."} for i in range(count)]


def test_prepare_writes_the_same_bytes_on_one_core_and_on_all(tmp_path, tiny_judge_path):
    from thinkj_verl.data.prepare import prepare

    runs = {}
    for workers in (1, None):
        out = tmp_path / f"workers-{workers}"
        summary = prepare("local", long_rows(30), out, ["strength", "binary"], val_fraction=0.1,
                          tokenizer=tiny_judge_path, max_prompt_length=1500, workers=workers)
        runs[workers] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}
        runs[workers]["summary"] = {k: v for k, v in summary.items() if k != "files"}  # files: the paths
    assert runs[1] == runs[None] and len(runs[1]) == 7  # 2 formats x 2 splits, 2 pair files, summary
    counted = summary["prompt_length"]["counted"]["strength"]
    # Some pairs were kept on their bound, some counted and dropped: both paths ran.
    assert counted["kept_by_size_bound"] > 0 and summary["skipped"]["prompt longer than 1500 tokens"] > 0
    assert counted["kept_by_size_bound"] + counted["counted"] == 60  # 30 pairs x 2 orders
    assert counted["size_bound"] == "BPE: tokens <= bytes of the normalized text"  # NFC + byte-level BPE


def test_length_stats_are_exact_or_a_labelled_seeded_sample(tiny_tokenizer):
    from thinkj_verl.data.lengths import length_stats, token_length_stats

    pairs = spread_pairs(40)
    counter = PieceLengths(tiny_tokenizer, "strength")
    full = counter.full(pairs, ("ab", "ba"))
    rows = [("strength", pair, order, None) for pair in pairs for order in ("ab", "ba")]
    every = token_length_stats(rows, {"strength": counter}, seed=3)
    assert "sample" not in every  # fewer prompts than the sample: every one counted
    assert {k: every[k] for k in ("count", "min", "max", "p50")} == {
        k: length_stats([n for ns in full for n in ns], "tokens")[k] for k in ("count", "min", "max", "p50")}

    sampled = token_length_stats(rows, {"strength": counter}, seed=3, sample=25)
    assert sampled["sample"]["prompts"] == sampled["count"] == 25 and sampled["sample"]["of"] == 80
    again = token_length_stats(rows, {"strength": counter}, seed=3, sample=25)
    assert {k: v for k, v in sampled.items() if k != "counted"} == {k: v for k, v in again.items() if k != "counted"}
    assert min(map(min, full)) <= sampled["min"] <= sampled["max"] <= max(map(max, full))


def test_docstring_examples_hold():
    import doctest

    from thinkj_verl.data import lengths

    result = doctest.testmod(lengths)
    assert result.attempted >= 3 and result.failed == 0
