"""Checks for w02.train_loop: estimate_loss and train, driven only through the dataset's get_batch.

Oracles: the loss recomputed on the same batches, a call log of the loader, and ln V at step 0.
"""

import math

import torch

from roadmap.impl import load

train_mod = load("week02_bigram.train")
dataset_mod = load("week02_bigram.dataset")
bigram = load("week02_bigram.bigram")


def markov_ids(V: int = 6, N: int = 1200, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    P = torch.softmax(3 * torch.randn(V, V, generator=g), -1)
    ids = [0]
    for _ in range(N - 1):
        ids.append(int(torch.multinomial(P[ids[-1]], 1, generator=g)))
    return torch.tensor(ids)


class SpyDataset:
    """Wraps the TokenDataset of the tree under test and records every get_batch and its batch."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[str] = []
        self.batches: list[tuple[str, torch.Tensor, torch.Tensor]] = []

    def get_batch(self, split, batch_size, generator):
        self.calls.append(split)
        x, y = self.inner.get_batch(split, batch_size, generator)
        self.batches.append((split, x, y))
        return x, y


def make(block_size: int = 8) -> SpyDataset:
    return SpyDataset(dataset_mod.TokenDataset(markov_ids(), block_size=block_size))


def test_estimate_loss_matches_losses_on_the_same_batches():
    """Oracle: the mean loss of the very batches estimate_loss drew, per split (any draw order)."""
    ds = make()
    torch.manual_seed(0)
    model = bigram.BigramLM(6)
    with torch.no_grad():
        model.table.weight.normal_()
    model.train()
    got = train_mod.estimate_loss(model, ds, 4, 3, torch.Generator().manual_seed(5))
    for split in ("train", "val"):
        drawn = [(x, y) for s, x, y in ds.batches if s == split]
        assert len(drawn) == 3, (
            f"estimate_loss(batch_size=4, batches=3) drew {len(drawn)} {split!r} batches with "
            f"get_batch (calls: {ds.calls}); expected 3 per split"
        )
        assert all(x.shape[0] == 4 for x, _ in drawn), "each batch must have batch_size=4 rows"
        with torch.no_grad():
            expected = sum(model(x, y)[1].item() for x, y in drawn) / 3
        assert isinstance(got[split], float), (
            f"estimate_loss()['{split}'] should be a float, got {type(got[split]).__name__}"
        )
        assert abs(got[split] - expected) < 1e-5, (
            f"estimate_loss(batch_size=4, batches=3)['{split}']: the mean loss of the 3 {split} "
            f"batches it drew is {expected:.5f}, got {got[split]:.5f}; likely cause: not the mean "
            "of the per-batch losses, or the batches of one split scored as the other"
        )
    assert model.training, "estimate_loss must put the model back in train mode"
    assert model.table.weight.grad is None, (
        "estimate_loss built gradients: run it under torch.no_grad()"
    )


def test_estimate_loss_is_reproducible_with_the_same_generator_seed():
    model = bigram.BigramLM(6)
    first = train_mod.estimate_loss(model, make(), 4, 3, torch.Generator().manual_seed(5))
    again = train_mod.estimate_loss(model, make(), 4, 3, torch.Generator().manual_seed(5))
    assert first == again, (
        f"estimate_loss gave {first} then {again} with the same generator seed: draw every batch "
        "with the `generator` argument"
    )


def test_train_history_steps_and_step_zero_is_untrained():
    ds = make()
    cfg = train_mod.TrainConfig(
        steps=50, batch_size=8, lr=0.1, eval_every=20, eval_batches=2, seed=1
    )
    lines = []
    history = train_mod.train(bigram.BigramLM(6), ds, cfg, log=lines.append)
    steps = [h["step"] for h in history]
    assert steps == [0, 20, 40, 50], (
        f"train(steps=50, eval_every=20) evaluated at steps {steps}; expected [0, 20, 40, 50]: "
        "before any update, every eval_every steps, and after the last step"
    )
    assert abs(history[0]["train"] - math.log(6)) < 1e-5, (
        f"history[0]['train'] = {history[0]['train']:.4f}; at step 0 the zero-initialised bigram "
        f"must score ln 6 = {math.log(6):.4f}: evaluate before the first update"
    )
    assert len(lines) == 4 and lines[0].startswith("step 0 | train "), (
        f"expected 4 log lines like 'step 0 | train 1.7918 | val 1.7918 | ...', got {lines[:2]}"
    )


def test_training_uses_train_batches_and_lowers_val_loss():
    ds = make()
    cfg = train_mod.TrainConfig(
        steps=60, batch_size=16, lr=0.1, eval_every=30, eval_batches=2, seed=2
    )
    history = train_mod.train(bigram.BigramLM(6), ds, cfg, log=lambda s: None)
    evals = len(history)
    n_train, n_val = ds.calls.count("train"), ds.calls.count("val")
    assert n_val == evals * cfg.eval_batches, (
        f"get_batch('val') was called {n_val} times; expected only for evaluation, "
        f"{evals} evaluations x {cfg.eval_batches} batches = {evals * cfg.eval_batches}. Training on "
        "val batches is a train/val leak"
    )
    assert n_train == cfg.steps + evals * cfg.eval_batches, (
        f"get_batch('train') was called {n_train} times; expected one per step ({cfg.steps}) plus "
        f"{evals * cfg.eval_batches} for evaluation: draw every batch through the dataset"
    )
    first, last = history[0]["val"], history[-1]["val"]
    assert last < first - 0.3, (
        f"val loss went from {first:.3f} to {last:.3f} in 60 steps at lr 0.1; it should drop by "
        "more than 0.3. Likely cause: no optimizer.step(), no loss.backward(), or gradients not zeroed"
    )


def test_same_seed_same_history():
    cfg = train_mod.TrainConfig(
        steps=20, batch_size=8, lr=0.05, eval_every=10, eval_batches=2, seed=3
    )
    a = train_mod.train(bigram.BigramLM(6), make(), cfg, log=lambda s: None)
    b = train_mod.train(bigram.BigramLM(6), make(), cfg, log=lambda s: None)
    assert a == b, (
        "two runs with the same TrainConfig gave different histories: seed the batch generators "
        "from config.seed (torch.Generator().manual_seed(...)), not from global state"
    )


class ModeSpy(torch.nn.Module):
    """Wraps a model; records, per forward, whether it ran in train mode and with gradients."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.forwards: list[tuple[bool, bool, torch.Tensor, torch.Tensor]] = []

    def forward(self, idx, targets=None):
        self.forwards.append((self.training, torch.is_grad_enabled(), idx, targets))
        return self.inner(idx, targets)


def test_estimate_loss_runs_in_eval_mode_and_restores_the_mode():
    """Docstring: in eval mode and without gradients; the model is back in the mode it was in."""
    for start in ("train", "eval"):
        spy = ModeSpy(bigram.BigramLM(6))
        spy.train(start == "train")
        train_mod.estimate_loss(spy, make(), 4, 2, torch.Generator().manual_seed(0))
        modes = {"train" if training else "eval" for training, *_ in spy.forwards}
        assert modes == {"eval"}, (
            f"estimate_loss ran the model in {sorted(modes)} mode; expected eval mode for every "
            "batch (dropout off). Likely cause: model.eval() not called before scoring"
        )
        assert not any(grad for _, grad, *_ in spy.forwards), (
            "estimate_loss ran the model with gradients enabled: run it under torch.no_grad()"
        )
        now = "train" if spy.training else "eval"
        assert now == start, (
            f"a model in {start} mode came back from estimate_loss in {now} mode; the docstring "
            "promises the mode it was in before the call. Likely cause: model.train() instead of "
            "remembering model.training and restoring it (model.train(was_training))"
        )


def _replay(batches, cfg, zero_grad=True, lr=None, weight_decay=None):
    """Oracle: AdamW steps by hand on the very training batches train() drew."""
    model = bigram.BigramLM(6)
    opt = torch.optim.AdamW(
        model.parameters(),
        lr=cfg.lr if lr is None else lr,
        weight_decay=cfg.weight_decay if weight_decay is None else weight_decay,
    )
    for x, y in batches:
        if zero_grad:
            opt.zero_grad()
        model(x, y)[1].backward()
        opt.step()
    return model.table.weight.detach()


def test_train_steps_match_adamw_with_the_configured_lr_and_weight_decay():
    """Oracle: AdamW(lr=config.lr, weight_decay=config.weight_decay) replayed on the same batches,
    gradients zeroed before each step. Non-default lr and weight decay, so hard-coded ones show."""
    cfg = train_mod.TrainConfig(
        steps=6, batch_size=8, lr=0.07, weight_decay=0.3, eval_every=100, eval_batches=1, seed=4
    )
    spy = ModeSpy(bigram.BigramLM(6))
    train_mod.train(spy, make(), cfg, log=lambda s: None)
    batches = [(x, y) for training, grad, x, y in spy.forwards if grad]
    assert len(batches) == cfg.steps, (
        f"train(steps={cfg.steps}) ran {len(batches)} forward passes with gradients; expected one "
        "per optimizer step (evaluation runs under no_grad)"
    )
    assert all(training for training, grad, *_ in spy.forwards if grad), (
        "train() ran training steps with the model in eval mode: call model.train() before the "
        "loop (estimate_loss restores the mode it found)"
    )
    got = spy.inner.table.weight.detach()
    want = _replay(batches, cfg)
    if torch.allclose(got, want, atol=1e-5):
        return
    suspects = {
        "gradients not zeroed before each step (call opt.zero_grad() before loss.backward())": {
            "zero_grad": False
        },
        "the weight decay is hard-coded (AdamW(..., weight_decay=config.weight_decay))": {
            "weight_decay": 0.01
        },
        "weight decay left out (AdamW(..., weight_decay=config.weight_decay))": {
            "weight_decay": 0.0
        },
        "the learning rate is hard-coded (AdamW(..., lr=config.lr))": {"lr": 1e-3},
    }
    cause = next(
        (name for name, kw in suspects.items() if torch.allclose(got, _replay(batches, cfg, **kw))),
        "the optimizer is not AdamW(model.parameters(), lr=config.lr, weight_decay="
        "config.weight_decay), or gradients are not zeroed (opt.zero_grad()) before each step",
    )
    err = (got - want).abs().max().item()
    raise AssertionError(
        f"after {cfg.steps} steps (lr={cfg.lr}, weight_decay={cfg.weight_decay}) the table differs "
        f"from AdamW replayed on the same batches by up to {err:.3g}; likely cause: {cause}"
    )


def test_log_lines_have_the_documented_format():
    """Docstring: one line per evaluation, `step 200 | train 2.5012 | val 2.5230 | 0.4 ms/step`."""
    import re

    cfg = train_mod.TrainConfig(steps=4, batch_size=4, lr=0.1, eval_every=2, eval_batches=1)
    lines = []
    history = train_mod.train(bigram.BigramLM(6), make(), cfg, log=lines.append)
    pattern = re.compile(
        r"step (\d+) \| train (\d+\.\d{4}) \| val (\d+\.\d{4}) \| \d+(\.\d+)? ms/step"
    )
    assert len(lines) == len(history), f"{len(history)} evaluations but {len(lines)} log lines"
    for line, h in zip(lines, history, strict=True):
        m = pattern.fullmatch(line)
        assert m, (
            f"log line {line!r} does not have the documented format "
            "'step 200 | train 2.5012 | val 2.5230 | 0.4 ms/step' (losses with 4 decimals)"
        )
        assert (int(m[1]), m[2], m[3]) == (h["step"], f"{h['train']:.4f}", f"{h['val']:.4f}"), (
            f"log line {line!r} does not match its history entry {h}"
        )
