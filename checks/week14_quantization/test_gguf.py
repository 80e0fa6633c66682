"""Checks for w14.gguf: the course GPT and its BPE as a GGUF file, and reading it back.

Oracle: `gguf.GGUFReader` (an independent reader) on our file: the architecture and tokenizer
metadata llama.cpp needs, every tensor under its llama.cpp name with ggml's (reversed) shape and the
right type, its data equal to the model's weights (F32 exactly; Q8_0 bytes equal to
gguf.quants.quantize of the weight). Then read_gguf's round trip: the rebuilt GPT gives the same
logits (F32 exactly, Q8_0 / Q4_0 close).
"""

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import quantize

from roadmap.checking import assert_close, generator
from roadmap.impl import load
from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week06_tokenizers.patterns import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN
from solutions.week06_tokenizers.tokenizer import BPETokenizer

mod = load("week14_quantization.gguf_export")

TEXT = "the quick brown fox jumps over the lazy dog; the dog sleeps. " * 8


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer.train(TEXT, 290, GPT2_SPLIT_PATTERN)


@pytest.fixture(scope="module")
def model(tok) -> GPT:
    torch.manual_seed(0)
    m = GPT(GPTConfig(block_size=16, vocab_size=len(tok), n_layer=2, n_head=2, n_embd=64)).eval()
    with torch.no_grad():
        for p in m.parameters():  # non-trivial biases and norms, so a missing one shows
            p.add_(torch.randn(p.shape, generator=generator(1)) * 0.05)
    return m


def field(reader: GGUFReader, key: str):
    assert key in reader.fields, f"GGUF metadata lacks {key!r}; keys: {sorted(reader.fields)[:40]}"
    return reader.fields[key].contents()


def test_gguf_tensors_names_and_layout(model):
    tensors = mod.gguf_tensors(model)
    sd = model.state_dict()
    assert len(tensors) == 2 + 2 * 12 + 3, (
        f"gguf_tensors: {len(tensors)} tensors for 2 layers, expected 29 (embeddings, 12 per "
        "block, output_norm weight and bias, output)"
    )
    pairs = {
        "token_embd.weight": "transformer.wte.weight",
        "position_embd.weight": "transformer.wpe.weight",
        "blk.1.attn_qkv.weight": "transformer.h.1.attn.c_attn.weight",
        "blk.1.attn_qkv.bias": "transformer.h.1.attn.c_attn.bias",
        "blk.0.attn_output.weight": "transformer.h.0.attn.c_proj.weight",
        "blk.0.ffn_up.weight": "transformer.h.0.mlp.c_fc.weight",
        "blk.0.ffn_down.weight": "transformer.h.0.mlp.c_proj.weight",
        "blk.0.ffn_down.bias": "transformer.h.0.mlp.c_proj.bias",
        "blk.1.attn_norm.bias": "transformer.h.1.ln_1.bias",
        "blk.1.ffn_norm.weight": "transformer.h.1.ln_2.weight",
        "output_norm.bias": "transformer.ln_f.bias",
        "output.weight": "lm_head.weight",
    }
    for ours, theirs in pairs.items():
        assert ours in tensors, f"gguf_tensors lacks {ours!r} (llama.cpp's name for {theirs})"
        got = tensors[ours]
        assert isinstance(got, np.ndarray) and got.dtype == np.float32, (
            f"gguf_tensors[{ours!r}] must be a float32 numpy array, got {type(got).__name__}"
        )
        assert_close(
            torch.from_numpy(got),
            sd[theirs],
            what=f"gguf_tensors(model)[{ours!r}] vs {theirs}",
            hint="torch layout, no transpose (numpy (out, in) is ggml's ne = [in, out]); check "
            "the name mapping (ln_1 = attn_norm, c_fc = ffn_up, mlp.c_proj = ffn_down)",
            atol=0,
            rtol=0,
        )


def test_gguf_vocab(tok):
    tokens, types, merges = mod.gguf_vocab(tok)
    assert len(tokens) == len(tok) == len(types), (
        f"gguf_vocab: {len(tokens)} tokens, {len(types)} types for a tokenizer of {len(tok)}"
    )
    assert tokens[32] == "Ġ" and tokens[65] == "A" and tokens[10] == "Ċ", (
        f"gguf_vocab: tokens 32, 65, 10 are {tokens[32]!r}, {tokens[65]!r}, {tokens[10]!r}; "
        "expected 'Ġ', 'A', 'Ċ'\n  likely cause: map every byte with bytes_to_unicode"
    )
    eos = tok.special_tokens["<EOS>"]
    assert tokens[eos] == "<EOS>" and types[eos] == 3 and types[97] == 1, (
        f"gguf_vocab: the special <EOS> must keep its text with type 3 (CONTROL), byte 97 type 1; "
        f"got {tokens[eos]!r} type {types[eos]}, type {types[97]}"
    )
    (left, right), first = next(iter(tok.merges.items()))
    assert len(merges) == len(tok.merges) and merges[0] == f"{tokens[left]} {tokens[right]}", (
        f"gguf_vocab: merges[0] = {merges[0]!r}, expected {tokens[left]!r} + ' ' + "
        f"{tokens[right]!r} (rank order, byte-mapped)"
    )
    assert tokens[first] == tokens[left] + tokens[right], (
        "gguf_vocab: a merged token's text must be the concatenation of its parts"
    )


@pytest.fixture(scope="module")
def files(model, tok, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gguf")
    return {
        q: mod.write_gguf(model, tok, folder / f"m_{q}.gguf", q)
        for q in ("F32", "F16", "Q8_0", "Q4_0")
    }


def test_reader_sees_the_metadata(files, model, tok):
    reader = GGUFReader(files["F32"])
    cfg = model.config
    expected = {
        "general.architecture": "gpt2",
        "gpt2.context_length": cfg.block_size,
        "gpt2.embedding_length": cfg.n_embd,
        "gpt2.feed_forward_length": 4 * cfg.n_embd,
        "gpt2.block_count": cfg.n_layer,
        "gpt2.attention.head_count": cfg.n_head,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "gpt-2",
        "tokenizer.ggml.bos_token_id": tok.special_tokens["<BOS>"],
        "tokenizer.ggml.eos_token_id": tok.special_tokens["<EOS>"],
        "tokenizer.ggml.add_bos_token": False,
    }
    for key, value in expected.items():
        got = field(reader, key)
        assert got == value, f"GGUF metadata {key} = {got!r}, expected {value!r}"
    eps = field(reader, "gpt2.attention.layer_norm_epsilon")
    assert abs(eps - 1e-5) < 1e-9, f"gpt2.attention.layer_norm_epsilon = {eps}, expected 1e-5"
    tokens, types, merges = mod.gguf_vocab(tok)
    assert field(reader, "tokenizer.ggml.tokens") == tokens, "tokenizer.ggml.tokens differ"
    assert field(reader, "tokenizer.ggml.token_type") == types, "tokenizer.ggml.token_type differ"
    assert field(reader, "tokenizer.ggml.merges") == merges, "tokenizer.ggml.merges differ"
    assert field(reader, "general.file_type") == 0, "general.file_type of an F32 file must be 0"


def test_reader_sees_every_tensor_f32_exact(files, model):
    reader = GGUFReader(files["F32"])
    expected = mod.gguf_tensors(model)
    got = {t.name: t for t in reader.tensors}
    assert set(got) == set(expected), (
        f"tensors in the file {sorted(set(got) ^ set(expected))} differ"
    )
    for name, array in expected.items():
        t = got[name]
        assert t.tensor_type == GGMLQuantizationType.F32, f"{name}: type {t.tensor_type.name}"
        assert tuple(int(d) for d in t.shape) == tuple(reversed(array.shape)), (
            f"{name}: the reader's (ggml) shape {tuple(t.shape)}, expected the reverse of the "
            f"torch shape {array.shape}\n  likely cause: a transposed weight (never transpose; "
            "the writer reverses the numpy shape itself)"
        )
        np.testing.assert_array_equal(
            np.asarray(t.data).reshape(array.shape), array, err_msg=f"{name}: data differ"
        )


@pytest.mark.parametrize("qtype,file_type", [("Q8_0", 7), ("Q4_0", 2), ("F16", 1)])
def test_quantised_file_bytes_match_gguf_quants(files, model, qtype, file_type):
    """Every qtype, not only Q8_0: general.file_type is gguf.LlamaFileType of the qtype (F16 1,
    Q4_0 2, Q8_0 7); the matmul matrices hold gguf.quants.quantize's bytes (F16: float16 values)."""
    reader = GGUFReader(files[qtype])
    got_type = field(reader, "general.file_type")
    assert got_type == file_type, (
        f"general.file_type of a {qtype} file is {got_type}, expected {file_type} "
        f"(gguf.LlamaFileType for {qtype})"
    )
    kind = GGMLQuantizationType[qtype]
    expected = mod.gguf_tensors(model)
    types = {t.name: t.tensor_type for t in reader.tensors}
    for t in reader.tensors:
        array = expected[t.name]
        if array.ndim == 2 and t.name != "position_embd.weight":
            assert t.tensor_type == kind, (
                f"{t.name} is {t.tensor_type.name} in a {qtype} file: matmul weights and the "
                f"embedding/output matrices are stored as {qtype}"
            )
            np.testing.assert_array_equal(
                np.asarray(t.data).reshape(-1).view(np.uint8),
                quantize(array, kind).reshape(-1).view(np.uint8),
                err_msg=f"{t.name}: {qtype} bytes differ from gguf.quants.quantize",
            )
        else:
            assert t.tensor_type == GGMLQuantizationType.F32, (
                f"{t.name} is {types[t.name].name}: norms, biases and position_embd stay F32"
            )


@pytest.mark.parametrize("qtype,tol", [("F32", 0.0), ("F16", 0.01), ("Q8_0", 0.05), ("Q4_0", 0.5)])
def test_read_gguf_round_trip(files, model, qtype, tol):
    config, state = mod.read_gguf(files[qtype])
    assert config == model.config, f"read_gguf({qtype}) config {config}, expected {model.config}"
    rebuilt = GPT(config).eval()
    rebuilt.load_state_dict(state)
    x = torch.randint(0, config.vocab_size, (2, 7), generator=generator(2))
    with torch.no_grad():
        got, ref = rebuilt(x)[0], model(x)[0]
    assert_close(
        got,
        ref,
        what=f"GPT from read_gguf({qtype} file) vs the original, logits (2, 7, V)",
        hint="reverse the reader's ggml shape to torch's; decode Q8_0/Q4_0 blocks with your "
        "dequantizers; map the names back (output -> lm_head)",
        atol=tol,
        rtol=0,
    )


def test_gpt4_pattern_and_the_endoftext_fallback(tok, tmp_path):
    """A tokenizer with GPT-4's split pattern is pre-tokenizer "llama-bpe"; one whose only special
    token is <|endoftext|> (no <BOS>, <EOS>) gives it as both bos and eos."""
    n = 256 + len(tok.merges)
    only_eot = BPETokenizer(tok.merges, GPT4_SPLIT_PATTERN, {"<|endoftext|>": n})
    small = GPT(GPTConfig(block_size=8, vocab_size=n + 1, n_layer=1, n_head=2, n_embd=32))
    try:
        path = mod.write_gguf(small, only_eot, tmp_path / "g4.gguf", "F32")
    except ValueError as error:
        raise AssertionError(
            f"write_gguf(tokenizer with GPT-4's pattern and only <|endoftext|>) raised {error!r}"
            "\n  likely cause: bos and eos fall back to <|endoftext|> when <BOS> / <EOS> are "
            "absent; GPT-4's pattern is pre-tokenizer 'llama-bpe'"
        ) from error
    reader = GGUFReader(path)
    got = {k: field(reader, f"tokenizer.ggml.{k}") for k in ("pre", "bos_token_id", "eos_token_id")}
    assert got == {"pre": "llama-bpe", "bos_token_id": n, "eos_token_id": n}, (
        f"write_gguf(GPT-4 pattern, only <|endoftext|> = {n}): tokenizer.ggml {got}, expected pre "
        f"'llama-bpe' and bos = eos = {n}\n  likely cause: tokenizer.ggml.pre is 'llama-bpe' "
        "for GPT-4's split pattern ('gpt-2' for GPT-2's); bos/eos fall back to <|endoftext|>"
    )


def test_write_rejects_what_llama_cpp_cannot_load(model, tok, tmp_path):
    with pytest.raises(ValueError):
        mod.write_gguf(model, tok, tmp_path / "x.gguf", "Q5_K")
    wrong_vocab = GPT(
        GPTConfig(block_size=8, vocab_size=len(tok) + 1, n_layer=1, n_head=2, n_embd=32)
    )
    try:
        mod.write_gguf(wrong_vocab, tok, tmp_path / "v.gguf", "F32")
    except ValueError:
        pass
    else:
        pytest.fail(
            f"write_gguf(model with vocab_size {len(tok) + 1}, a tokenizer of {len(tok)}) did "
            "not raise ValueError\n  likely cause: refuse a model whose vocab_size is not len(tok)"
        )
    no_merges = BPETokenizer({}, GPT2_SPLIT_PATTERN, {"<BOS>": 256, "<EOS>": 257})
    small = GPT(GPTConfig(block_size=8, vocab_size=258, n_layer=1, n_head=2, n_embd=32))
    with pytest.raises(ValueError):
        mod.write_gguf(small, no_merges, tmp_path / "y.gguf", "F32")
