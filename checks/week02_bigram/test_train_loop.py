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
