"""Checks for w11.packing: packed rows, the block-diagonal causal mask, and the packed forward pass.

Oracles: the rows and the mask written out by hand; the week-05 GPT run on each example alone
(each example's logits and loss inside a packed row must equal those, <= 1e-5); perturbing one
example must leave every other example's logits unchanged.
"""

import torch
import torch.nn.functional as F

from checks.week11_sft.support import tiny_gpt
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week11_sft.packing")

LEAK = (
    "attention crossed an example boundary: a token may attend only to earlier tokens of its own "
    "example (mask = same doc_id AND j <= i), and positions must restart at 0 per example"
)


def examples_of(lengths, seed, vocab=259):
    """(input_ids, labels) pairs; labels mask a 2-token prompt like build_example would."""
    g = generator(seed)
    out = []
    for n in lengths:
        ids = torch.randint(0, vocab, (n,), generator=g).tolist()
        out.append((ids, [-100] * min(2, n) + ids[2:]))
    return out


def test_pack_known_rows():
    """Lengths 3, 2, 4 into rows of 5: [e0 e0 e0 e1 e1], [e2 e2 e2 e2 pad]."""
    examples = [([1, 2, 3], [1, 2, 3]), ([4, 5], [4, 5]), ([6, 7, 8, 9], [6, -100, 8, 9])]
    out = mod.pack(examples, seq_len=5, pad_id=0)
    expected = {
        "input_ids": [[1, 2, 3, 4, 5], [6, 7, 8, 9, 0]],
        "labels": [[-100, 2, 3, -100, 5], [-100, -100, 8, 9, -100]],
        "position_ids": [[0, 1, 2, 0, 1], [0, 1, 2, 3, 0]],
        "doc_ids": [[0, 0, 0, 1, 1], [2, 2, 2, 2, -1]],
    }
    hints = {
        "input_ids": "fill rows in order, next-fit; pad the rest of a row with pad_id",
        "labels": "EVERY example's first label becomes -100, also the first of a row (in a "
        "packed row that slot is the target of the previous example's last token); padding "
        "labels are -100",
        "position_ids": "positions restart at 0 for every example (padding: 0)",
        "doc_ids": "doc_ids[r, t] is the index of the example in the input list; padding -1",
    }
    for key, exp in expected.items():
        assert key in out, f"pack(...) returned keys {sorted(out)}; {key!r} is missing"
        assert_close(
            out[key],
            torch.tensor(exp),
            atol=0,
            what=f"pack(lengths 3, 2, 4, seq_len=5)[{key!r}]",
            hint=hints[key],
        )
        assert out[key].dtype == torch.int64, (
            f"pack(...)[{key!r}] dtype {out[key].dtype}, expected int64"
        )


def test_pack_is_next_fit_in_order_and_exact_fits():
    """Lengths 4, 3, 1, 5 with seq_len 5: rows [e0], [e1 e2], [e3] (the 1 does NOT go back into
    row 0: order is kept), and a length-5 example fills a row exactly."""
    examples = examples_of([4, 3, 1, 5], seed=1)
    out = mod.pack(examples, seq_len=5, pad_id=256)
    exp_docs = torch.tensor([[0, 0, 0, 0, -1], [1, 1, 1, 2, -1], [3, 3, 3, 3, 3]])
    assert_close(
        out["doc_ids"],
        exp_docs,
        atol=0,
        what="pack(lengths 4, 3, 1, 5, seq_len=5)['doc_ids']",
        hint="next-fit keeps the order: when the next example does not fit, close the row and "
        "start a new one; never go back to an earlier row; an example of exactly seq_len fits",
    )
    try:
        mod.pack(examples_of([3, 6], seed=2), seq_len=5, pad_id=0)
    except ValueError:
        return
    except Exception as e:  # noqa: BLE001 - any other failure is the same lesson
        raise AssertionError(
            f"pack(lengths 3, 6, seq_len=5) raised {type(e).__name__}: {e}; expected ValueError\n"
            "  likely cause: check each example's length first and raise ValueError if > seq_len"
        ) from e
    raise AssertionError(
        "pack(lengths 3, 6, seq_len=5) did not raise: an example longer than seq_len must raise "
        "ValueError (never split or truncate it silently)"
    )


def test_block_causal_mask_known_answer():
    """Row 0 ends with two padding slots: they form one causal block of their own (the second
    pad sees the first), as the rule same doc_id AND j <= i says."""
    doc_ids = torch.tensor([[0, 0, 1, -1, -1], [3, 3, 3, 3, 3]])
    expected = torch.tensor(
        [
            [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1]],
            [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]],
        ],
        dtype=torch.bool,
    )
    got = mod.block_causal_mask(doc_ids)
    assert_close(
        got,
        expected,
        what="block_causal_mask(doc_ids [[0, 0, 1, -1, -1], [3, 3, 3, 3, 3]])",
        hint="mask[b, i, j] = (doc_ids[b, i] == doc_ids[b, j]) and j <= i, as a bool tensor; the "
        "padding slots (-1) are one block like any other id",
    )


def run_alone(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids]))[0][0]


def packed_logits(model, out):
    with torch.no_grad():
        return mod.forward_packed(model, out["input_ids"], out["position_ids"], out["doc_ids"])


def test_packed_attention_with_one_causal_block_equals_the_layer():
    model = tiny_gpt(seed=3, scale=0.4)
    attn = model.transformer.h[0].attn
    x = torch.randn(2, 7, 36, generator=generator(3))
    mask = torch.ones(7, 7, dtype=torch.bool).tril().expand(2, 7, 7)
    with torch.no_grad():
        got = mod.packed_attention(attn, x, mask)
        expected = attn(x)
    assert_close(
        got,
        expected,
        atol=1e-5,
        what="packed_attention(attn, x (2, 7, 36), plain causal mask)",
        hint="q, k, v from attn.c_attn, heads (B, H, T, D), softmax(q k^T / sqrt(D)) masked where mask is False, then attn.c_proj",
    )


def test_each_packed_example_equals_running_it_alone():
    """Lengths 5, 3, 7, 2, 6 packed into rows of 11 (3 rows); every example's logits <= 1e-5."""
    model = tiny_gpt(seed=4, scale=0.4)
    examples = examples_of([5, 3, 7, 2, 6], seed=4)
    out = mod.pack(examples, seq_len=11, pad_id=256)
    logits = packed_logits(model, out)
    for doc, (ids, _) in enumerate(examples):
        r, t = (out["doc_ids"] == doc).nonzero()[0].tolist()
        assert_close(
            logits[r, t : t + len(ids)],
            run_alone(model, ids),
            atol=1e-5,
            what=f"forward_packed logits of example {doc} (length {len(ids)}, row {r}, offset {t}) "
            "vs the GPT on that example alone",
            hint=LEAK + "; wpe takes position_ids, not 0..T-1 of the row",
        )


def test_perturbing_one_example_leaves_the_others_unchanged():
    """Change every token of example 1 (middle of row 0): examples 0 and 2 must not move at all."""
    model = tiny_gpt(seed=5, scale=0.4)
    examples = examples_of([4, 5, 3], seed=5)
    out = mod.pack(examples, seq_len=12, pad_id=256)
    changed = [list(e) for e in examples]
    changed[1] = ([(i + 7) % 256 for i in examples[1][0]], examples[1][1])
    out2 = mod.pack(changed, seq_len=12, pad_id=256)
    a, b = packed_logits(model, out), packed_logits(model, out2)
    doc = out["doc_ids"][0]
    for d in (0, 2):
        assert_close(
            b[0, doc == d],
            a[0, doc == d],
            atol=1e-6,
            what=f"logits of example {d} after changing example 1 in the same packed row",
            hint=LEAK,
        )
    assert (b[0, doc == 1] - a[0, doc == 1]).abs().max() > 1e-3, (
        "changing example 1's tokens did not change its own logits: does forward_packed use input_ids?"
    )


def test_packed_loss_per_example_equals_the_loss_alone():
    """Per-example response loss from packed rows (labels shifted inside the row) = alone, <= 1e-5."""
    model = tiny_gpt(seed=6, scale=0.4)
    examples = [(ids, [-100] + ids[1:]) for ids, _ in examples_of([6, 4, 9, 5], seed=6)]
    examples[1] = (
        examples[1][0],
        list(examples[1][0]),
    )  # a label at position 0: must not be trained
    out = mod.pack(examples, seq_len=13, pad_id=256)
    logits = packed_logits(model, out)
    for doc, (ids, labels) in enumerate(examples):
        alone = F.cross_entropy(
            run_alone(model, ids)[:-1], torch.tensor(labels[1:]), ignore_index=-100
        )
        sel = out["doc_ids"] == doc
        r = sel.nonzero()[0, 0]
        row_labels = out["labels"][r, 1:][sel[r, 1:]]  # targets whose slot belongs to this example
        row_logits = logits[r, :-1][sel[r, 1:]]
        packed = F.cross_entropy(row_logits, row_labels, ignore_index=-100)
        assert_close(
            packed,
            alone,
            atol=1e-5,
            what=f"response loss of example {doc} in the packed row vs alone",
            hint="the first label of every packed example must be -100 (else the previous "
            "example's last token is trained to predict it); " + LEAK,
        )
