"""Helpers for checks: comparisons whose messages teach, and guards that forbid library shortcuts.

Checks import from here; learners never need to.
"""

import contextlib
import importlib
import socket
from collections.abc import Iterator


def describe(x) -> str:
    """`tensor (2, 7, 5) float32` / `ndarray (3,) float64` / repr for anything else."""
    import torch  # imported here so checks of torch-free weeks do not pay for it

    if isinstance(x, torch.Tensor):
        return f"tensor {tuple(x.shape)} {str(x.dtype).removeprefix('torch.')}"
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"{type(x).__name__} {tuple(shape)} {getattr(x, 'dtype', '')}"
    return repr(x)[:80]


def assert_close(
    got,
    expected,
    *,
    what: str,
    hint: str = "",
    atol: float = 1e-5,
    rtol: float = 1e-5,
) -> None:
    """Assert `got` matches `expected` (tensors or arrays) with a message a learner can act on.

    Args:
        got: what the learner's code returned.
        expected: what the oracle says.
        what: the call that was made, e.g. "softmax(x, dim=-1) for x (2, 7, 5)".
        hint: the likely cause if values differ, e.g. "did you scale by 1/sqrt(D)?".
    """
    import torch

    suffix = f"\n  likely cause: {hint}" if hint else ""
    assert isinstance(got, torch.Tensor) or hasattr(got, "shape"), (
        f"{what}: expected a tensor, got {describe(got)}{suffix}"
    )
    got_t = torch.as_tensor(got)
    exp_t = torch.as_tensor(expected)
    assert tuple(got_t.shape) == tuple(exp_t.shape), (
        f"{what}: expected shape {tuple(exp_t.shape)}, got {tuple(got_t.shape)}{suffix}"
    )
    if exp_t.dtype == torch.bool or got_t.dtype == torch.bool:
        assert got_t.dtype == exp_t.dtype, (
            f"{what}: expected dtype {exp_t.dtype}, got {got_t.dtype}{suffix}"
        )
        wrong = (got_t != exp_t).nonzero()
        assert len(wrong) == 0, (
            f"{what}: {len(wrong)} entries differ, first at index {tuple(wrong[0].tolist())}: "
            f"expected {exp_t[tuple(wrong[0])].item()}, got {got_t[tuple(wrong[0])].item()}{suffix}"
        )
        return
    got_f = got_t.detach().to(torch.float64)
    exp_f = exp_t.detach().to(torch.float64)
    bad_nan = torch.isnan(got_f) & ~torch.isnan(exp_f)
    if bad_nan.any():
        idx = tuple(bad_nan.nonzero()[0].tolist())
        raise AssertionError(
            f"{what}: got NaN at index {idx}, expected {exp_f[idx].item():.6g}{suffix}"
        )
    same_inf = torch.isinf(exp_f) & (got_f == exp_f)
    diff = torch.where(
        same_inf | (torch.isnan(got_f) & torch.isnan(exp_f)), 0.0, (got_f - exp_f).abs()
    )
    tol = atol + rtol * exp_f.abs().nan_to_num(posinf=0.0, neginf=0.0)
    bad = ~(diff <= tol)
    if bad.any():
        idx = tuple(bad.nonzero()[0].tolist())
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.numel()} values differ "
            f"(max abs error {diff.nan_to_num(posinf=float('inf')).max().item():.3g}); "
            f"first at index {idx}: expected {exp_f[idx].item():.6g}, got {got_f[idx].item():.6g}{suffix}"
        )


def _resolve(target: str):
    """Split "torch.nn.functional.softmax" into (owner object, attribute name)."""
    parts = target.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1]
    raise ValueError(f"cannot resolve {target!r}")


@contextlib.contextmanager
def forbid(*targets: str, exercise: str, instead: str) -> Iterator[None]:
    """Make library functions raise while the block runs: the exercise builds them from scratch.

    The message names the exercise and what to use `instead`, so it teaches the exercise's own idea.
    State every forbidden target in the exercise's docstring and the week's handout too.

    Example: `with forbid("torch.softmax", exercise="w01.softmax", instead="exp, amax, sum"):`
    """
    saved = []
    for target in targets:
        owner, name = _resolve(target)
        original = getattr(owner, name)
        saved.append((owner, name, original))

        def blocked(*args, _target=target, **kwargs):
            raise AssertionError(
                f"{exercise} builds this from scratch: `{_target}` is off-limits while its check "
                f"runs (the docstring says so). Use {instead} instead."
            )

        setattr(owner, name, blocked)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


_forbid = forbid  # from_scratch's keyword argument `forbid` shadows the context manager


def from_scratch(
    fn, *args, forbid: tuple[str, ...] | list[str], exercise: str, instead: str, **kwargs
):
    """Call `fn(*args, **kwargs)` with the library shortcuts `forbid` made to raise.

    Example: `from_scratch(mod.softmax, x, forbid=SOFTMAXES, exercise="w01.softmax",
    instead="exp, amax and sum")`.
    """
    with _forbid(*forbid, exercise=exercise, instead=instead):
        return fn(*args, **kwargs)


def busy_factor() -> float:
    """How much other work stretches a time budget now: the 1-minute load average per core, at
    least 1. A budget measured on a quiet machine times this never fails a busy one for time that
    is not its own (verify's stub budget, week 18's shutdown check)."""
    import os

    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def learner_first(fn, *args, **kwargs) -> None:
    """Call the learner's `fn` once before an expensive oracle (a library import, a process launch).

    A stub's NotImplementedError propagates, so an untouched exercise is todo at once; any other
    outcome is ignored (outside its real setting, a correct function may well raise) and the check
    proper runs next. Example: `learner_first(ddp.broadcast_parameters, model)` with no process group.
    """
    try:
        fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception:
        pass


def adam(params, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
    """A bare Adam for checks that train a little; returns `step()`, which also clears the grads.

    torch.optim would import torch._dynamo, seconds of check time; week 09 checks the learner's own
    AdamW against torch.optim.AdamW instead.
    """
    import torch

    params = list(params)
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    t = 0
    b1, b2 = betas

    def step():
        nonlocal t
        t += 1
        with torch.no_grad():
            for p, (m, v) in zip(params, state):
                if p.grad is None:
                    continue
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                p.sub_(lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps))
                p.grad = None

    return step


CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def hf_gpt2_config(vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int):
    """A transformers GPT2Config matching the week-05 GPT (tanh GELU, no dropout, eps 1e-5)."""
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=vocab_size,
        n_positions=block_size,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=1e-5,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )


def to_hf_gpt2(
    state_dict: dict, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int
):
    """The oracle of every GPT check: a transformers GPT2LMHeadModel (eval mode) holding the weights of
    a state dict with GPT-2 names (the week-05 GPT's), Conv1D weights transposed to (in, out)."""
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel(hf_gpt2_config(vocab_size, block_size, n_layer, n_head, n_embd)).eval()
    state = {
        k: (v.t() if k.endswith(CONV1D) else v).detach().clone()
        for k, v in state_dict.items()
        if not k.endswith((".attn.bias", ".attn.masked_bias"))
    }
    missing, unexpected = hf.load_state_dict(state, strict=False)
    assert not unexpected, f"unexpected keys copying into GPT2LMHeadModel: {unexpected}"
    assert all(k.endswith(("attn.bias", "masked_bias")) for k in missing), missing
    return hf


def generator(seed: int):
    """A seeded CPU torch.Generator for reproducible random inputs."""
    import torch

    return torch.Generator().manual_seed(seed)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers and torchrun masters)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gpt2_shaped_model(folder, texts: list[str], n_positions: int = 128):
    """A GPT-2-family model as the Hugging Face hub ships one, made offline: a 2-layer
    GPT2LMHeadModel (C=32, random weights, seed 0) and a byte-level BPE of 300 ids trained on
    `texts` (<|endoftext|> its only special, id 0), saved as GPT-2's files are: config.json,
    model.safetensors, vocab.json, merges.txt. For checks of `--base` with a Hugging Face model."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel

    folder.mkdir()
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=300, special_tokens=["<|endoftext|>"])
    bpe.save_model(str(folder))
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=2,
        n_head=2,
        n_embd=32,
        n_positions=n_positions,
        vocab_size=bpe.get_vocab_size(),
        bos_token_id=0,
        eos_token_id=0,
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder
