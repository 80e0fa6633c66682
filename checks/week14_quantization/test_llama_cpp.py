"""Checks for w14.gguf in llama.cpp itself (optional extra `llama`: llama-cpp-python).

Oracle: llama.cpp loads our F32 and Q8_0 files, tokenizes text exactly like our BPE and, greedily,
continues a prompt with the same tokens as our own GPT (F32; for Q8_0 against our GPT with the
Q8_0-rounded weights from read_gguf). Skips with "needs extra" where llama_cpp is not importable.
Build: CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python (sdist only on this platform,
8-14 min on two cores; the native build dies with an illegal instruction on Q8_0 on AMX CPUs).
"""

import importlib.util

import pytest
import torch

from roadmap.impl import load
from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week06_tokenizers.patterns import GPT2_SPLIT_PATTERN
from solutions.week06_tokenizers.tokenizer import BPETokenizer

INSTALL = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python'
if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip(f"needs extra llama: {INSTALL}", allow_module_level=True)

from llama_cpp import Llama  # noqa: E402

mod = load("week14_quantization.gguf_export")

TEXT = "the quick brown fox jumps over the lazy dog; the dog sleeps. " * 8


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tok = BPETokenizer.train(TEXT, 290, GPT2_SPLIT_PATTERN)
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=32, vocab_size=len(tok), n_layer=2, n_head=2, n_embd=64))
    with torch.no_grad():  # peaked logits: greedy choices far from ties
        model.transformer.wte.weight.mul_(25)
    folder = tmp_path_factory.mktemp("llama")
    paths = {
        q: mod.write_gguf(model.eval(), tok, folder / f"m_{q}.gguf", q) for q in ("F32", "Q8_0")
    }
    return tok, model, paths


def open_llama(path) -> Llama:
    return Llama(model_path=str(path), n_ctx=32, n_threads=1, verbose=False, seed=0)


def test_same_tokenization(setup):
    tok, _, paths = setup
    llm = open_llama(paths["F32"])
    for text in ("the quick brown fox", " dog; the dog sleeps.\nthe", "lazy  fox!"):
        ours = tok.encode(text)
        theirs = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        assert theirs == ours, (
            f"llama.cpp tokenizes {text!r} as {theirs}, our BPE as {ours}\n  likely cause: "
            "token strings not byte-mapped (bytes_to_unicode), merges out of rank order, or the "
            "wrong tokenizer.ggml.pre"
        )


@pytest.mark.parametrize("qtype", ["F32", "Q8_0"])
def test_same_greedy_tokens(setup, qtype):
    tok, model, paths = setup
    if qtype != "F32":  # compare with our GPT holding the same rounded weights
        config, state = mod.read_gguf(paths[qtype])
        model = GPT(config).eval()
        model.load_state_dict(state)
    prompt = tok.encode("the quick brown")
    with torch.no_grad():
        ours = model.generate(torch.tensor([prompt]), 12, temperature=0.0)[
            0, len(prompt) :
        ].tolist()
    llm = open_llama(paths[qtype])
    theirs = []
    for token in llm.generate(prompt, temp=0.0, top_k=1, repeat_penalty=1.0):
        theirs.append(int(token))
        if len(theirs) == 12:
            break
    assert theirs == ours, (
        f"{qtype}: llama.cpp greedy continuation {theirs}, our GPT {ours}\n  likely cause: a "
        "tensor under the wrong name or transposed, a missing bias, or the wrong layer_norm_epsilon"
    )
