"""Checks for w11.masking: prompt-masked labels, ChatML labels, the padding collator, the loss.

Oracles: label masks written out by hand on worked examples (prompt, response, end token, pads);
the loss on a 2-token vocabulary derived by hand; a per-position loop of F.cross_entropy on random
logits.
"""

import math

import torch
import torch.nn.functional as F

from checks.week11_sft.support import (
    CONVERSATIONS,
    IM_END,
    IM_START,
    b,
    chat_tokenizer,
    expected_chat,
)
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week11_sft.masking")


def test_build_example_masks_the_prompt_and_trains_response_and_end():
    ids, labels = mod.build_example([5, 6, 7], [8, 9], 2)
    assert list(ids) == [5, 6, 7, 8, 9, 2], (
        f"build_example([5, 6, 7], [8, 9], end_id=2) input_ids = {ids}, expected [5, 6, 7, 8, 9, 2]"
        "\n  likely cause: input = prompt + response + [end_id]"
    )
    expected = [-100, -100, -100, 8, 9, 2]
    assert list(labels) == expected, (
        f"build_example([5, 6, 7], [8, 9], end_id=2) labels = {labels}, expected {expected}\n"
        "  likely cause: "
        + (
            "the end token must be trained (not -100), or the model never learns to stop"
            if list(labels)[:5] == expected[:5]
            else "every prompt token is -100 (loss on prompt tokens teaches the model to write "
            "prompts); the response keeps its ids"
        )
    )


def test_build_example_edge_cases():
    """An empty response still trains the end token; an empty prompt trains everything."""
    ids, labels = mod.build_example([4, 4], [], 0)
    assert (list(ids), list(labels)) == ([4, 4, 0], [-100, -100, 0]), (
        f"build_example([4, 4], [], 0) = {ids}, {labels}; expected [4, 4, 0], [-100, -100, 0]"
        "\n  likely cause: the end token is trained even for an empty response; pad-like ids "
        "(0) are real tokens here"
    )
    ids, labels = mod.build_example([], [3, 1], 7)
    assert (list(ids), list(labels)) == ([3, 1, 7], [3, 1, 7]), (
        f"build_example([], [3, 1], 7) = {ids}, {labels}; expected [3, 1, 7] twice"
    )


def test_chat_example_hand_built():
    """[user "Hi", assistant "Yo"] in the byte tokenizer: 257 u s e r \\n H i 258 \\n 257 a s s i s
    t a n t \\n Y o 258 \\n; only "Yo" + 258 are trained (21 ignored before them, 1 after)."""
    tok = chat_tokenizer()
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]
    ids, labels = mod.chat_example(tok, messages)
    exp_ids = [
        IM_START,
        *b("user\nHi"),
        IM_END,
        *b("\n"),
        IM_START,
        *b("assistant\nYo"),
        IM_END,
        *b("\n"),
    ]
    exp_labels = [-100] * 21 + [*b("Yo"), IM_END, -100]
    assert list(ids) == exp_ids, (
        f"chat_example(tok, [user 'Hi', assistant 'Yo']) ids = {ids}\n  expected {exp_ids}\n"
        "  likely cause: the ids are those of render_chatml(messages): '<|im_start|>' role '\\n' "
        "content '<|im_end|>' '\\n' per message"
    )
    assert list(labels) == exp_labels, (
        f"chat_example labels = {labels}\n  expected {exp_labels}\n  likely cause: "
        + (
            "the '\\n' after <|im_end|> is not trained"
            if list(labels)[:-1] == exp_labels[:-1]
            else "<|im_end|> of the assistant turn must be trained (the model learns to stop)"
            if list(labels)[:23] == exp_labels[:23]
            else "train only the assistant's content and its <|im_end|>; the '<|im_start|>assistant"
            "\\n' header and the user's turn are -100"
        )
    )


def test_chat_example_multi_turn_trains_every_assistant_turn_only():
    tok = chat_tokenizer()
    for messages in CONVERSATIONS:
        ids, labels = mod.chat_example(tok, messages)
        exp_ids, exp_labels = expected_chat(messages)
        roles = [m["role"] for m in messages]
        assert list(ids) == exp_ids, f"chat_example(tok, {roles}) ids differ from the ChatML text's"
        trained = tok.decode([t for t in labels if t != -100])
        expected = tok.decode([t for t in exp_labels if t != -100])
        assert list(labels) == exp_labels, (
            f"chat_example(tok, roles {roles}) trains {trained!r}, expected {expected!r}\n"
            "  likely cause: every assistant turn (content + <|im_end|>) is trained, nothing of "
            "system or user turns"
        )


def test_collate_pads_right_to_the_batch_max():
    examples = [
        ([1, 2, 3, 4], [-100, -100, 3, 4]),
        ([5, 6], [-100, 6]),
        ([7, 8, 9, 10, 11], [-100] * 4 + [11]),
    ]
    out = mod.collate(examples, pad_id=0)
    exp_ids = torch.tensor([[1, 2, 3, 4, 0], [5, 6, 0, 0, 0], [7, 8, 9, 10, 11]])
    exp_labels = torch.tensor(
        [[-100, -100, 3, 4, -100], [-100, 6, -100, -100, -100], [-100] * 4 + [11]]
    )
    exp_mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]])
    assert_close(
        out["input_ids"],
        exp_ids,
        atol=0,
        what="collate(3 examples, pad_id=0)['input_ids']",
        hint="pad on the right with pad_id to the longest example of the batch",
    )
    assert_close(
        out["labels"],
        exp_labels,
        atol=0,
        what="collate(...)['labels']",
        hint="pad labels with -100, never with pad_id (a pad must not be trained)",
    )
    assert_close(
        out["attention_mask"],
        exp_mask,
        atol=0,
        what="collate(...)['attention_mask']",
        hint="1 on real tokens, 0 on padding",
    )
    assert out["input_ids"].dtype == torch.int64 and out["labels"].dtype == torch.int64, (
        f"collate dtypes {out['input_ids'].dtype}, {out['labels'].dtype}: expected int64"
    )
    one = mod.collate([([3, 1], [3, 1])], pad_id=9)
    assert one["input_ids"].tolist() == [[3, 1]], (
        f"collate of one example of length 2 gave {one['input_ids'].tolist()}: pad only to the batch max"
    )


def test_collate_when_pad_id_is_also_the_end_token():
    """pad_id == end token 2 (tokenizer.pad_token = eos_token): the real end token stays trained."""
    a = ([7, 7, 5, 2], [-100, -100, 5, 2])
    out = mod.collate([a, ([8, 2], [8, 2]), ([9, 9, 9, 9, 9, 2], [-100] * 5 + [2])], pad_id=2)
    assert out["labels"][0].tolist() == [-100, -100, 5, 2, -100, -100], (
        f"collate with pad_id=2 = the end token: labels[0] = {out['labels'][0].tolist()}, expected "
        "[-100, -100, 5, 2, -100, -100]\n  likely cause: padding was found by comparing ids with "
        "pad_id, which also masks the real end token (the model never learns to stop); pad by length"
    )
    assert out["attention_mask"][1].tolist() == [1, 1, 0, 0, 0, 0], (
        f"attention_mask[1] = {out['attention_mask'][1].tolist()} for the example [8, 2] with "
        "pad_id=2; expected [1, 1, 0, 0, 0, 0]\n  likely cause: build the mask from lengths, not ids"
    )


def test_response_loss_hand_derived():
    """V = 2, T = 4, labels [-100, 1, 0, -100]: position 0 predicts label 1, position 1 predicts 0.
    logits[0] = logits[1] = [ln 3, 0] -> p = [3/4, 1/4]: NLL ln 4 and ln(4/3), mean ln(16/3) / 2.
    Positions 2 and 3 get huge logits for the wrong token, so an unshifted loss is far off."""
    l3 = math.log(3.0)
    logits = torch.tensor([[[l3, 0.0], [l3, 0.0], [0.0, 50.0], [50.0, 0.0]]])
    labels = torch.tensor([[-100, 1, 0, -100]])
    got = mod.response_loss(logits, labels)
    assert_close(
        got,
        torch.tensor(math.log(16 / 3) / 2),
        what="response_loss(logits (1, 4, 2), labels [-100, 1, 0, -100])",
        hint="shift: logits[:, :-1] predict labels[:, 1:]; average only positions whose label is "
        "not -100",
    )


def test_response_loss_matches_a_per_position_oracle():
    """Random (3, 7, 11) logits; rows with 1, 3 and 5 trained positions: one mean over all 9."""
    g = generator(5)
    logits = torch.randn(3, 7, 11, generator=g) * 3
    labels = torch.randint(0, 11, (3, 7), generator=g)
    for row, n_ignored in enumerate((5, 3, 1)):
        labels[row, 1 : 1 + n_ignored] = -100
    labels[:, 0] = 4  # never a target: nothing predicts position 0
    total, count = 0.0, 0
    for i in range(3):
        for t in range(6):
            if labels[i, t + 1] != -100:
                total += float(F.cross_entropy(logits[i, t], labels[i, t + 1]))
                count += 1
    got = mod.response_loss(logits, labels)
    assert_close(
        got,
        torch.tensor(total / count),
        what="response_loss(random logits (3, 7, 11), labels with 1/3/5 trained positions per row)",
        hint="one mean over every trained position of the batch (not a mean of row means), "
        "labels shifted by one, -100 ignored",
    )
