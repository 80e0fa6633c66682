"""Checks for w11.trl: the Jinja chat template, the HF tokenizer, the SFTConfig, and trl's
SFTTrainer on the week-05 GPT exported to a GPT2LMHeadModel.

Oracles: ChatML strings written out by hand; the byte tokenizer's ids (each ASCII character is its
byte); labels built by hand from those bytes (only the assistant's content and <|im_end|>), which
trl's collator must reproduce with assistant_only_loss; trl's own training loss, which must fall.
transformers and trl are imported lazily: this file is the week's only one that pays for them.
"""

import os

import pytest
import torch

from checks.week11_sft.support import (
    CONVERSATIONS,
    IM_END,
    PAD,
    chat_tokenizer,
    expected_chat,
    tiny_gpt,
)
from roadmap.checking import assert_close, to_hf_gpt2
from roadmap.impl import load

mod = load("week11_sft.hf_sft")
masking = load("week11_sft.masking")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

RENDERED = [
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
    "<|im_start|>assistant\nHello!<|im_end|>\n",
    "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
    "<|im_start|>user\nand 3+3<|im_end|>\n<|im_start|>assistant\nsix<|im_end|>\n",
]


@pytest.fixture(scope="module")
def hf_tok():
    return mod.to_hf_tokenizer(chat_tokenizer())


def test_hf_tokenizer_encodes_like_week06_with_eos_and_pad(hf_tok):
    text = "<|im_start|>user\nHi<|im_end|>\n"
    got = hf_tok(text, add_special_tokens=False)["input_ids"]
    expected = chat_tokenizer().encode(text)
    assert list(got) == expected, (
        f"to_hf_tokenizer(tok)({text!r}) = {got}, expected the week-06 ids {expected}\n  likely "
        "cause: build it from week-06 to_hf_json(tok) (tokenizer_object=Tokenizer.from_str(...))"
    )
    assert (hf_tok.eos_token, hf_tok.eos_token_id) == ("<|im_end|>", IM_END), (
        f"eos_token {hf_tok.eos_token!r} (id {hf_tok.eos_token_id}), expected '<|im_end|>' ({IM_END})"
        "\n  likely cause: the end of an assistant turn is <|im_end|>"
    )
    assert (hf_tok.pad_token, hf_tok.pad_token_id) == ("<PAD>", PAD), (
        f"pad_token {hf_tok.pad_token!r} (id {hf_tok.pad_token_id}), expected '<PAD>' ({PAD})\n"
        "  likely cause: the pad id must not be a real token's id (pad = eos hides the end token)"
    )


@pytest.mark.parametrize("missing", ["<|im_end|>", "<PAD>"])
def test_a_missing_special_is_refused(missing):
    from solutions.week06_tokenizers.tokenizer import BPETokenizer

    present = "<PAD>" if missing == "<|im_end|>" else "<|im_end|>"
    specials = {present: 256}
    with pytest.raises(ValueError):
        mod.to_hf_tokenizer(BPETokenizer({}, special_tokens=specials))
        raise AssertionError(
            f"to_hf_tokenizer(tok without {missing!r}) did not raise\n  likely cause: both "
            "'<PAD>' and '<|im_end|>' must be special tokens of tok; raise ValueError if either "
            "is missing"
        )


def test_template_renders_like_chatml(hf_tok):
    for messages, expected in zip(CONVERSATIONS, RENDERED):
        got = hf_tok.apply_chat_template(messages, tokenize=False)
        assert got == expected, (
            f"apply_chat_template({[m['role'] for m in messages]}, tokenize=False) =\n{got!r}\n"
            f"expected\n{expected!r}\n  likely cause: whitespace control: the template's own "
            "newlines must not reach the output ('{%-' and '-%}'), only the quoted strings"
        )
    got = hf_tok.apply_chat_template(
        CONVERSATIONS[0][:2], tokenize=False, add_generation_prompt=True
    )
    expected = RENDERED[0].split("<|im_start|>assistant")[0] + "<|im_start|>assistant\n"
    assert got == expected, (
        f"apply_chat_template(system + user, add_generation_prompt=True) = {got!r}, expected {expected!r}"
        "\n  likely cause: {% if add_generation_prompt %} adds '<|im_start|>assistant\\n'"
    )


def test_template_marks_assistant_content_and_end_token(hf_tok):
    for messages in CONVERSATIONS:
        out = hf_tok.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids, labels = expected_chat(messages)
        mask = [int(x != -100) for x in labels]
        assert list(out["input_ids"]) == ids, (
            "apply_chat_template(tokenize=True) ids differ from the ChatML bytes"
        )
        assert list(out["assistant_masks"]) == mask, (
            f"assistant mask for {[m['role'] for m in messages]} marks "
            f"{hf_tok.decode([i for i, m in zip(ids, out['assistant_masks']) if m])!r}, expected "
            f"{hf_tok.decode([i for i, m in zip(ids, mask) if m])!r}\n  likely cause: "
            "{% generation %} ... {% endgeneration %} must wrap exactly the assistant's content "
            "and its <|im_end|> (not the header, not the '\\n' after)"
        )


def test_sft_config_for_cpu_and_assistant_only_loss(tmp_path):
    cfg = mod.sft_config(
        str(tmp_path), max_steps=7, learning_rate=3e-3, batch_size=3, max_length=99, seed=5
    )
    want = dict(
        use_cpu=True,
        bf16=False,
        fp16=False,
        save_strategy="no",
        assistant_only_loss=True,
        packing=False,
        max_steps=7,
        per_device_train_batch_size=3,
        learning_rate=3e-3,
        weight_decay=0.0,
        max_length=99,
        logging_steps=1,
        seed=5,
        warmup_steps=0,
    )
    for key, value in want.items():
        got = getattr(cfg, key)
        assert got == value, (
            f"sft_config(...).{key} = {got!r}, expected {value!r} (see the docstring)"
        )
    schedule = getattr(cfg.lr_scheduler_type, "value", cfg.lr_scheduler_type)
    assert schedule == "constant", (
        f"sft_config(...).lr_scheduler_type = {schedule!r}, expected 'constant'"
    )
    assert cfg.report_to in ("none", [], ["none"]), f"report_to {cfg.report_to!r}: expected 'none'"


def test_sft_trainer_labels_equal_ours_and_ten_steps_lower_the_loss(hf_tok, tmp_path):
    """trl's collated labels = the hand-built ChatML labels (and masking.chat_example's); then
    10 steps at lr 3e-3 on the exported tiny GPT: the last 3 losses average below the first 3."""
    model = tiny_gpt(seed=0, block_size=96, n_embd=36)
    c = model.config
    hf = to_hf_gpt2(model.state_dict(), c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd)
    cfg = mod.sft_config(
        str(tmp_path), max_steps=10, learning_rate=3e-3, batch_size=3, max_length=96
    )
    trainer = mod.sft_trainer(hf, hf_tok, CONVERSATIONS, cfg)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    rows = [expected_chat(m) for m in CONVERSATIONS]
    T = max(len(i) for i, _ in rows)
    want = torch.tensor([lab + [-100] * (T - len(lab)) for _, lab in rows])
    assert_close(
        batch["labels"],
        want,
        atol=0,
        what="trl collator labels (assistant_only_loss) vs hand-built",
        hint="assistant_only_loss=True and the {% generation %} block",
    )
    ours = masking.collate([masking.chat_example(chat_tokenizer(), m) for m in CONVERSATIONS], PAD)
    assert_close(
        ours["labels"],
        batch["labels"],
        atol=0,
        what="masking.collate(chat_example(...)) labels vs trl's",
        hint="chat_example must train exactly what trl's assistant_only_loss trains",
    )
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 10, (
        f"expected one logged loss per step (logging_steps=1), got {len(losses)}"
    )
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < first - 0.1, (
        f"SFTTrainer losses {[round(x, 3) for x in losses]}: the last 3 should average below the "
        "first 3\n  likely cause: learning_rate, max_steps or batch size not taken from the arguments"
    )
