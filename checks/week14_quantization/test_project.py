"""Check for w14.project: the quantisation table, the plot and the distillation table, end to end
on the tree under test.

Runs `--short` (the short course base, built on first use by the tree under test) on a 2.5 KB text
fixture (students train on 90 %, perplexity on the rest), so it never needs the dataset; the GGUF
rows come from llama.cpp when installed, else from read_gguf. A second run starts from a
GPT-2-shaped Hugging Face model with random weights saved here (vocab.json + merges.txt, as GPT-2's
hub files are): `--base` takes what `--base gpt2` would load online.
"""

import json

import pytest
import torch

from course.data import fixture_path
from roadmap.checking import gpt2_shaped_model
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week14_quantization")
quantize = load("week14_quantization.quantize")


def run_project(out, *extra: str) -> str:
    """project.main on the tiny text; returns quantization.md after checking every artifact."""
    text = fixture_path("week14", "tiny_wiki.txt")
    argv = ["--short", "--out", str(out), "--text-file", str(text), *extra]
    assert project.main(argv) == 0, "project.main returned non-zero"
    table = (out / "quantization.md").read_text(encoding="utf-8")
    for row in (
        "| fp32 |",
        "| int8 (ours",
        "| int8 (torch",
        "| 4-bit (ours",
        "NF4",
        "GGUF Q8_0",
        "GGUF Q4_0",
    ):
        assert row in table, f"quantization.md lacks the row {row!r}:\n{table[:800]}"
    assert (out / "size_vs_ppl.png").stat().st_size > 1000, "size_vs_ppl.png is missing or empty"
    for q in ("F32", "Q8_0", "Q4_0"):
        assert (out / "gguf" / f"week14_{q}.gguf").exists(), f"gguf/week14_{q}.gguf missing"
    assert (out / "int8" / "model.int8.pt").exists(), "int8/model.int8.pt missing"
    assert "| distilled" in (out / "distillation.md").read_text(), "distillation.md lacks its row"
    assert (out / "metrics.txt").read_text().startswith("int8 "), "metrics.txt missing its line"
    return table


def test_project_writes_the_table_the_plot_and_the_gguf_files(tmp_path):
    # the learner's code first: an untouched week is todo before the project loads its base
    quantize.absmax_quantize(torch.ones(2, 3))
    table = run_project(tmp_path)
    assert "Base: `" in table and "runs/base/short-" in table.replace("\\", "/"), (
        f"quantization.md does not name the short course base it started from:\n{table[:600]}"
    )


def test_project_starts_from_a_gpt2_family_hugging_face_model(tmp_path):
    pytest.importorskip(
        "transformers", reason="--base with a Hugging Face model needs the hf extra"
    )
    quantize.absmax_quantize(torch.ones(2, 3))
    text = fixture_path("week14", "tiny_wiki.txt").read_text(encoding="utf-8")
    base = gpt2_shaped_model(tmp_path / "gpt2-tiny", text.splitlines())
    table = run_project(tmp_path / "out", "--base", str(base))
    assert f"Base: `{base}`" in table and "V=300" in table, (
        f"quantization.md does not describe the --base model (300 ids):\n{table[:600]}"
    )
    card = json.loads((tmp_path / "out" / "gguf" / "run.json").read_text(encoding="utf-8"))
    assert card["base"] == str(base), f"gguf/run.json names base {card['base']!r}, not {base}"
    try:
        from llama_cpp import Llama
    except ImportError:
        return  # the GGUF rows were read back into our GPT instead (the table says so)
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    hf_tok: Tokenizer = AutoTokenizer.from_pretrained(str(base)).backend_tokenizer
    gguf = tmp_path / "out" / "gguf" / "week14_Q4_0.gguf"
    llm = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    sample = " The tower, built in 1889, is 330 metres tall.\n\nIt's the tallest."
    ours = llm.tokenize(sample.encode(), add_bos=False, special=False)
    theirs = hf_tok.encode(sample, add_special_tokens=False).ids
    assert ours == theirs, (
        f"llama.cpp tokenizes the GGUF's vocabulary differently from the base's tokenizer:\n"
        f"  llama.cpp {ours}\n  base      {theirs}\n"
        "  likely cause: the GGUF's merges or split pattern (tokenizer.ggml.pre)"
    )
