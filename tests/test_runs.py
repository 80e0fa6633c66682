"""The one run format (course/runs.py) and the course base (course/base.py).

- save_run then load_run gives the same logits and the same token ids, with and without biases;
  transformers reads the directory as it is (model, tokenizer, ChatML template).
- A GPT-2-shaped Hugging Face directory (random weights, GPT-2's vocab.json + merges.txt files)
  loads through the same load_run; week 11's add_special_tokens then adds the chat specials, and
  the next save_run writes them, so the fine-tuned run reloads with them.
- A folder with only a training checkpoint, or nothing, is refused with a message that says why.
- The short course base is built once and found again by its content hash.
"""

import json

import pytest
import torch

from course.runs import (
    CHAT_SPECIALS,
    RunError,
    RunTokenizer,
    find_runs,
    is_run,
    load_run,
    read_card,
    save_run,
)
from roadmap import ROOT
from roadmap.checking import gpt2_shaped_model
from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week06_tokenizers.tokenizer import BPETokenizer

TEXT = (ROOT / "data" / "fixtures" / "week09" / "tiny_corpus.txt").read_text(encoding="utf-8")
SAMPLE = "Hello <|im_start|>user\nwörld 🙂 ünïcode<|im_end|> the end\n\n  spaces"


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer.train(TEXT, 300, special_tokens=CHAT_SPECIALS)


def tiny_gpt(vocab: int, bias: bool, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    config = GPTConfig(block_size=32, vocab_size=vocab, n_layer=2, n_head=2, n_embd=32, bias=bias)
    model = GPT(config).eval()
    if bias:  # non-zero biases, so a lost bias would show
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("bias"):
                    p.normal_(0, 0.1)
    return model


@pytest.mark.parametrize("bias", [True, False])
def test_save_then_load_gives_the_same_model_and_tokenizer(tmp_path, bpe, bias):
    model = tiny_gpt(len(bpe), bias)
    folder = save_run(
        tmp_path / "run", model, bpe, made_by="test", base="nothing", metrics={"a": 1}
    )
    assert is_run(folder)
    card = read_card(folder)
    assert (card["made_by"], card["base"], card["metrics"]) == ("test", "nothing", {"a": 1})
    back, tok = load_run(folder)
    assert tok.encode(SAMPLE) == bpe.encode(SAMPLE)
    assert tok.decode(tok.encode(SAMPLE)) == SAMPLE
    assert list(tok.merges.items()) == list(bpe.merges.items()) and tok.pattern == bpe.pattern
    x = torch.tensor([bpe.encode(TEXT[:300])[:32], bpe.encode(TEXT[300:600])[:32]])
    with torch.no_grad():
        assert torch.allclose(model(x)[0], back(x)[0], atol=1e-5)
    assert not back.training


def test_transformers_reads_a_run_as_it_is(tmp_path, bpe):
    transformers = pytest.importorskip("transformers")
    model = tiny_gpt(len(bpe), True)
    folder = save_run(tmp_path / "run", model, bpe, made_by="test")
    hf = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    hf_tok = transformers.AutoTokenizer.from_pretrained(folder)
    x = torch.tensor([bpe.encode(TEXT[:200])[:32]])
    with torch.no_grad():
        assert torch.allclose(hf(x).logits, model(x)[0], atol=1e-4)
    assert hf_tok(SAMPLE, add_special_tokens=False)["input_ids"] == bpe.encode(SAMPLE)
    chat = hf_tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert chat == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", chat
    assert (hf_tok.eos_token, hf_tok.pad_token) == ("<|im_end|>", "<PAD>")


def test_a_gpt2_family_directory_loads_and_grows_chat_specials(tmp_path):
    transformers = pytest.importorskip("transformers")
    folder = gpt2_shaped_model(tmp_path / "gpt2-like", [TEXT], n_positions=64)
    model, tok = load_run(folder)
    hf = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
    hf_tok = transformers.AutoTokenizer.from_pretrained(folder)
    text = "the quick brown fox<|endoftext|> jumps"
    assert tok.encode(text) == hf_tok(text)["input_ids"]
    assert tok.decode(tok.encode(text)) == text
    x = torch.tensor([tok.encode(TEXT[:400])[:40]])
    with torch.no_grad():
        assert torch.allclose(hf(x).logits, model(x)[0], atol=1e-4)
    assert not tok.is_chat and tok.eos_token_id == tok.special_tokens["<|endoftext|>"]
    from solutions.week11_sft.special_tokens import add_special_tokens

    ids = add_special_tokens(tok, model, ["<PAD>", "<|im_start|>", "<|im_end|>"])
    assert tok.encode("<|im_start|>hi<|im_end|>")[0] == ids[1]
    tuned = save_run(tmp_path / "tuned", model, tok, made_by="test", base=str(folder))
    back, back_tok = load_run(tuned)
    assert back_tok.is_chat and back_tok.special_tokens == tok.special_tokens
    assert back_tok.eos_token_id == ids[2] and back.config.vocab_size == model.config.vocab_size
    assert back_tok.chat_template and "<|im_start|>" in back_tok.chat_template


def test_what_is_not_a_run_is_refused_with_the_reason(tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "ckpt.pt").write_bytes(b"x")
    with pytest.raises(RunError, match="training checkpoint"):
        load_run(tmp_path / "ckpt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="no model here"):
        load_run(tmp_path / "empty")
    with pytest.raises(RunError, match="no such directory"):
        load_run(tmp_path / "missing" / "run")


def test_find_runs_lists_whole_runs_newest_first(tmp_path, bpe):
    model = tiny_gpt(len(bpe), False)
    old = save_run(tmp_path / "a" / "run", model, bpe, made_by="first")
    new = save_run(tmp_path / "b", model, bpe, made_by="second")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "run.json").write_text(json.dumps({"made_by": "half"}))  # no weights
    assert find_runs(tmp_path) == [new, old]


def test_run_tokenizer_from_a_bpe_file_matches_the_bpe(tmp_path, bpe):
    bpe.save(tmp_path / "tok.bpe")
    tok = RunTokenizer.from_file(tmp_path / "tok.bpe")
    assert tok.encode(SAMPLE) == bpe.encode(SAMPLE) and len(tok) == len(bpe)


def test_the_short_base_is_built_once_and_found_by_its_hash(monkeypatch):
    from course import base

    first = base.base_run("short", "solutions", say=lambda _: None)
    assert is_run(first) and read_card(first)["made_by"] == "llm-train"
    model, tok = load_run(first)
    assert tok.is_chat and model.config.block_size == base.SHORT["block_size"]
    monkeypatch.setattr(
        "course.week09_training.train.train", lambda cfg: pytest.fail("rebuilt a cached base")
    )
    assert base.base_run("short", "solutions", say=lambda _: None) == first


def test_llm_serve_never_serves_random_weights_unasked(tmp_path):
    """No run yet and no --random: llm-serve stops with how to make a model, not a random one;
    with runs, the capstone's final run comes first, else the newest."""
    from course.week18_serving.serve import newest_model

    with pytest.raises(SystemExit) as stop:
        newest_model(tmp_path)
    message = str(stop.value)
    assert "no trained model" in message and "--random" in message, message
    assert "capstone --short" in message, message
    bpe = BPETokenizer.train(TEXT[:2000], 260, special_tokens=CHAT_SPECIALS)
    model = tiny_gpt(len(bpe), False)
    final = save_run(tmp_path / "capstone" / "dpo" / "run", model, bpe, made_by="capstone dpo")
    save_run(tmp_path / "week11_sft", model, bpe, made_by="later")
    assert newest_model(tmp_path) == final
    final.joinpath("run.json").unlink()
    assert newest_model(tmp_path) == tmp_path / "week11_sft"


def test_prune_removes_only_the_bases_todays_code_does_not_build(tmp_path):
    from course import base

    today = base.Path(base.base_config("short", "solutions").out_dir).name
    old = "short-solutions-000000000000"
    for name in (today, old, "short-exercises-000000000000"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"x" * 10)
    (tmp_path / f".{old}.lock").touch()
    said: list[str] = []
    assert base.prune(tmp_path, say=said.append) == 2, said
    assert (tmp_path / today).is_dir(), "prune removed the base today's code builds"
    assert not (tmp_path / old).exists() and not (tmp_path / f".{old}.lock").exists()
    assert said[-1] == "2 stale base(s) removed"


def test_quick_and_reference_project_runs_never_overwrite_the_learners_run(monkeypatch):
    import argparse

    from roadmap.impl import set_tree
    from roadmap.project import run_dir

    monkeypatch.setenv("LLM_IMPL", "exercises")
    got = {}
    for tree in ("exercises", "solutions"):
        set_tree(tree)
        for short in (False, True):
            got[tree, short] = run_dir(
                argparse.Namespace(run_dir=None, short=short, run_name="week11_sft")
            )
    assert got["exercises", False] == ROOT / "runs" / "week11_sft"
    assert len(set(got.values())) == 4, got
    given = ROOT / "elsewhere"
    assert run_dir(argparse.Namespace(run_dir=given, short=True, run_name="week11_sft")) == given
