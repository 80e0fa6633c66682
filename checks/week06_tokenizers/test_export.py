"""Checks for w06.export: GPT-2's byte table, the HF tokenizers JSON and the tiktoken.Encoding.

Oracles: GPT-2's published byte table and tokenizers' ByteLevel alphabet; tiktoken built here from
the same HF-trained ranks (oracles.py) compared with what HF tokenizers, transformers'
PreTrainedTokenizerFast and your tiktoken.Encoding make of your export.
"""

import pytest

from checks.week06_tokenizers.oracles import (
    PATTERNS,
    SPECIALS,
    gpt2_byte_table,
    special_ids,
    tiktoken_oracle,
)
from roadmap.impl import load

mod = load("week06_tokenizers.export")
tokenizer = load("week06_tokenizers.tokenizer")


def test_bytes_to_unicode_known_answers():
    """Printable bytes keep their character; space (32) is the 33rd non-printable byte after
    0..31, so it maps to chr(256 + 32) = "Ġ"; newline (10) -> chr(256 + 10) = "Ċ"."""
    table = mod.bytes_to_unicode()
    got = {b: table[b] for b in (65, 32, 10, 0, 255, 127, 173)}
    expected = {65: "A", 32: "Ġ", 10: "Ċ", 0: "Ā", 255: "ÿ", 127: "ġ", 173: "Ń"}
    assert got == expected, (
        f"bytes_to_unicode() at bytes 65, 32, 10, 0, 255, 127, 173: expected {expected}, got "
        f"{got}; likely cause: the non-printable bytes (0-32, 127-160, 173) must map to "
        "chr(256), chr(257), ... in increasing byte order"
    )


def test_bytes_to_unicode_is_gpt2s_table():
    from tokenizers import pre_tokenizers

    table = mod.bytes_to_unicode()
    assert len(set(table.values())) == 256 and sorted(table) == list(range(256)), (
        "bytes_to_unicode() must map each of the 256 bytes to a distinct character"
    )
    assert set(table.values()) == set(pre_tokenizers.ByteLevel.alphabet()), (
        "bytes_to_unicode() characters differ from tokenizers' ByteLevel.alphabet()"
    )
    wrong = [b for b, c in gpt2_byte_table().items() if table[b] != c]
    assert not wrong, f"bytes_to_unicode() differs from GPT-2's table at bytes {wrong[:8]}"


@pytest.fixture(scope="module")
def exported(oracle_merges):
    merges = oracle_merges["gpt4"]
    tok = tokenizer.BPETokenizer(merges, PATTERNS["gpt4"], special_ids(merges))
    oracle = tiktoken_oracle(merges, PATTERNS["gpt4"], special_ids(merges))
    return tok, oracle


def first_difference(got, expected):
    return next(
        (i for i, (g, e) in enumerate(zip(got, expected)) if g != e), min(len(got), len(expected))
    )


def test_hf_tokenizers_json_encodes_like_tiktoken(exported, shakespeare, unicode_text):
    from tokenizers import Tokenizer

    tok, oracle = exported
    try:
        hf = Tokenizer.from_str(mod.to_hf_json(tok))
    except Exception as error:  # tokenizers raises a plain Exception for a bad BPE model
        raise AssertionError(
            f"to_hf_json(tok) could not build the HF tokenizer ({error}); likely cause: merges not "
            "(left string, right string) in rank order, so a merged token is missing from the vocab"
        ) from error
    for name, text in (("shakespeare", shakespeare), ("unicode", unicode_text)):
        expected = oracle.encode(text, allowed_special="all")
        got = hf.encode(text).ids
        i = first_difference(got, expected)
        assert got == expected, (
            f"Tokenizer.from_str(to_hf_json(tok)).encode({name} fixture): {len(got)} ids vs "
            f"{len(expected)} with the same ranks in tiktoken; first difference at {i} near "
            f"{text[max(0, i - 5) : i + 10]!r}; likely cause: merges not (left string, right string) "
            "in rank order, tokens not "
            "byte-mapped with bytes_to_unicode, ByteLevel use_regex left True, or specials missing"
        )
        assert hf.decode(got, skip_special_tokens=False) == text, f"HF decode({name}) != text"


def test_pretrainedtokenizerfast_loads_the_json(exported, tmp_path, unicode_text):
    from transformers import PreTrainedTokenizerFast

    tok, oracle = exported
    path = tmp_path / "tokenizer.json"
    path.write_text(mod.to_hf_json(tok), encoding="utf-8")
    fast = PreTrainedTokenizerFast(tokenizer_file=str(path), eos_token="<EOS>", pad_token="<PAD>")
    expected = oracle.encode(unicode_text, allowed_special="all")
    got = fast.encode(unicode_text)
    assert got == expected, (
        f"PreTrainedTokenizerFast(tokenizer_file=...).encode(unicode fixture) differs from "
        f"tiktoken with the same ranks at token {first_difference(got, expected)}"
    )
    ids = special_ids(tok.merges)
    assert fast.eos_token_id == ids["<EOS>"] and fast.pad_token_id == ids["<PAD>"], (
        f"special ids in transformers: eos {fast.eos_token_id}, pad {fast.pad_token_id}; expected "
        f"{ids['<EOS>']}, {ids['<PAD>']}; likely cause: specials not in the vocab with their ids"
    )
    assert fast.decode(got) == unicode_text, "PreTrainedTokenizerFast.decode did not round-trip"


def test_tiktoken_encoding_matches(exported, shakespeare, unicode_text):
    import tiktoken

    tok, oracle = exported
    enc = mod.to_tiktoken(tok, "mine")
    assert isinstance(enc, tiktoken.Encoding), f"to_tiktoken returned {type(enc).__name__}"
    assert enc.n_vocab == oracle.n_vocab, (
        f"to_tiktoken(tok).n_vocab: expected {oracle.n_vocab} (256 + merges + specials), got "
        f"{enc.n_vocab}"
    )
    for name, text in (("shakespeare", shakespeare), ("unicode", unicode_text)):
        expected = oracle.encode(text, allowed_special="all")
        got = enc.encode(text, allowed_special="all")
        assert got == expected, (
            f"to_tiktoken(tok).encode({name} fixture) differs from tiktoken with the same ranks at "
            f"token {first_difference(got, expected)}; likely cause: ranks must be "
            "{token bytes: id} with id = 256 + merge rank, pat_str your pattern"
        )
    for special in SPECIALS:
        got = enc.encode(special, allowed_special="all")
        assert got == [tok.special_tokens[special]], f"to_tiktoken: {special!r} -> {got}"


def test_tiktoken_refuses_two_tokens_with_the_same_bytes():
    """Merges ab=256, (ab)c=257, bc=258, a(bc)=259: ids 257 and 259 are both b"abc". tiktoken keys
    its ranks by bytes, so one of them would vanish; to_tiktoken must raise ValueError."""
    merges = {(97, 98): 256, (256, 99): 257, (98, 99): 258, (97, 258): 259}
    tok = tokenizer.BPETokenizer(merges, PATTERNS["gpt4"], {})
    try:
        mod.to_tiktoken(tok, "duplicates")
    except ValueError:
        return
    raise AssertionError(
        "to_tiktoken(tok) with ids 257 and 259 both b'abc' did not raise ValueError; likely cause: "
        "no check that {token bytes: id} kept all 256 + len(merges) tokens"
    )
