"""Checks for w04.numpy: the multi-head forward pass in pure NumPy equals torch's."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from roadmap.checking import assert_close, generator
from roadmap.impl import load

npa = load("week04_attention.numpy_attention")


def test_softmax_np_known_answer_and_overflow():
    """softmax([0, ln 3]) = [1, 3] / 4 = [0.25, 0.75]; adding 1000 must change nothing."""
    got = npa.softmax_np(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0 + np.log(3.0)]]))
    assert isinstance(got, np.ndarray), f"softmax_np should return an ndarray, got {type(got)}"
    if not np.isfinite(got).all():
        cause = "exp overflowed at 1000: subtract the max along `axis` first"
    elif not np.allclose(got.sum(-1), 1.0):
        cause = (
            "rows do not sum to 1: normalise along `axis` only (e.sum(axis=axis, keepdims=True))"
        )
    else:
        cause = "not softmax: exp(x - max) / sum of exp along `axis`"
    assert np.allclose(got, [[0.25, 0.75], [0.25, 0.75]]), f"softmax_np gave {got}; {cause}"


def test_softmax_np_along_the_given_axis():
    """axis=0 normalises each column: [[0, 0], [ln 3, 0]] -> [[0.25, 0.5], [0.75, 0.5]]."""
    got = npa.softmax_np(np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), axis=0)
    assert np.allclose(got, [[0.25, 0.5], [0.75, 0.5]]), (
        f"softmax_np(x, axis=0) gave {got.tolist()}, expected [[0.25, 0.5], [0.75, 0.5]]; "
        "likely cause: the max and the sum must be taken along `axis`, not the last axis or all"
    )


def hand_wired(x, params, H, causal, **wrong):
    """NumPy attention with one known mistake switched on (the oracle for the likely cause)."""
    B, T, C = x.shape
    D = C // H

    def project(name, inp):
        W = params[f"{name}.weight"]
        out = inp @ (W if wrong.get("w_not_t") else W.T)
        return out if wrong.get("no_bias") else out + params[f"{name}.bias"]

    q, k, v = (
        project(n, x).reshape(B, T, H, D).transpose(0, 2, 1, 3)
        for n in ("q_proj", "k_proj", "v_proj")
    )
    s = q @ k.transpose(0, 1, 3, 2) / (1.0 if wrong.get("no_scale") else np.sqrt(D))
    if causal or wrong.get("always_causal"):
        blocked = (
            np.tril(np.ones((T, T), bool), k=-1)
            if wrong.get("past")
            else np.triu(np.ones((T, T), bool), k=1)
        )
        s = np.where(blocked, -np.inf, s)
    w = np.exp(s - s.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    y = w @ v
    y = y.reshape(B, T, C) if wrong.get("merge") else y.transpose(0, 2, 1, 3).reshape(B, T, C)
    return project("out_proj", y)


NUMPY_CAUSES = {
    "no_scale": "the scores are not divided by sqrt(D), D = C / n_head",
    "always_causal": "causal=False still masks the future: apply the mask only if causal",
    "past": "the mask blocks the past: block the future, -inf above the diagonal (np.triu k=1)",
    "merge": "heads merged without the transpose back to (B, T, H, D) before the reshape",
    "w_not_t": "nn.Linear's layout is (out, in): a projection is x @ W.T + b",
    "no_bias": "the projection bias is left out: x @ W.T + b",
}


def numpy_cause(x, params, H, causal, out) -> str:
    for key, cause in NUMPY_CAUSES.items():
        try:
            want = hand_wired(x, params, H, causal, **{key: True})
        except ValueError:
            continue
        if want.shape == out.shape and np.allclose(out, want, atol=1e-10):
            return cause
    return (
        "x @ W.T + b per projection; reshape (B, T, H, D) and transpose to (B, H, T, D); "
        "-inf above the diagonal when causal"
    )


@pytest.mark.parametrize(
    "B,T,C,H,causal", [(1, 1, 4, 1, True), (2, 7, 12, 3, True), (3, 5, 10, 2, False)]
)
def test_equals_torch_multihead_attention(B, T, C, H, causal):
    torch.manual_seed(T)
    theirs = nn.MultiheadAttention(C, H, batch_first=True, dtype=torch.float64).eval()
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    W, b = theirs.in_proj_weight.detach().numpy(), theirs.in_proj_bias.detach().numpy()
    params = {
        "q_proj.weight": W[:C], "k_proj.weight": W[C : 2 * C], "v_proj.weight": W[2 * C :],
        "q_proj.bias": b[:C], "k_proj.bias": b[C : 2 * C], "v_proj.bias": b[2 * C :],
        "out_proj.weight": theirs.out_proj.weight.detach().numpy(), "out_proj.bias": theirs.out_proj.bias.detach().numpy(),
    }  # fmt: skip
    x = torch.randn(B, T, C, generator=generator(C), dtype=torch.float64)
    blocked = torch.ones(T, T, dtype=torch.bool).triu(1) if causal else None
    expected, exp_w = theirs(x, x, x, attn_mask=blocked, average_attn_weights=False)
    out, weights = npa.attention_np(x.numpy(), params, H, causal=causal)
    assert isinstance(out, np.ndarray) and isinstance(weights, np.ndarray), (
        "attention_np must return NumPy arrays"
    )
    hint = numpy_cause(x.numpy(), params, H, causal, np.asarray(out))
    assert_close(
        torch.from_numpy(out),
        expected,
        atol=1e-10,
        what=f"attention_np(x {(B, T, C)}, n_head={H}, causal={causal})",
        hint=hint,
    )
    assert_close(
        torch.from_numpy(weights), exp_w, atol=1e-10, what="attention_np weights (B, H, T, T)"
    )
