"""Checks for w09.resume (in process): every RNG state, the round trip and atomic replacement.

Oracles: draws from each RNG after save vs after load (must repeat exactly); the saved and reloaded
model / optimizer state; a torch.save that writes half a file and then raises (a crash mid-write):
the last good checkpoint must survive.
"""

import random

import numpy as np
import pytest
import torch

from roadmap.checking import assert_close, learner_first
from roadmap.impl import load

from .support import batch, tiny_gpt

mod = load("week09_training.checkpoint")


def trained(seed=0):
    # the learner's first: torch.optim's first optimizer imports torch._dynamo (seconds)
    learner_first(mod.save_checkpoint, None, None, None, 0)
    model = tiny_gpt(seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for i in range(3):
        x, y = batch(i, B=2, T=5)
        model(x, y)[1].backward()
        opt.step()
        opt.zero_grad()
    return model, opt


def draws(g):
    return (
        torch.rand(3).tolist(),
        np.random.rand(3).tolist(),
        [random.random() for _ in range(3)],
        torch.rand(3, generator=g).tolist(),
    )


def test_rng_states_come_back():
    """rng_state then set_rng_state: torch, numpy, python random and the data generator repeat."""
    g = torch.Generator().manual_seed(11)
    torch.rand(5, generator=g)
    state = mod.rng_state(g)
    first = draws(g)
    mod.set_rng_state(state, g)
    second = draws(g)
    for name, a, b in zip(("torch", "numpy", "python", "generator"), first, second):
        assert a == b, (
            f"after set_rng_state(rng_state(g), g) the {name} RNG drew {b}, before {a}\n  likely "
            f"cause: the RNG state is not saved or not restored for {name}; exact resume needs "
            "every RNG"
        )


def test_round_trip_restores_model_optimizer_step_and_extra(tmp_path):
    model, opt = trained(1)
    g = torch.Generator().manual_seed(3)
    path = tmp_path / "ckpt.pt"
    mod.save_checkpoint(path, model, opt, 37, g, extra={"tokens": 1234})
    expected_next = torch.rand(4, generator=g)
    model2 = tiny_gpt(seed=99)
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1e-2)
    g2 = torch.Generator().manual_seed(0)
    step, extra = mod.load_checkpoint(path, model2, opt2, g2)
    assert step == 37 and extra == {"tokens": 1234}, (
        f"load_checkpoint returned step {step}, extra {extra}; expected 37, {{'tokens': 1234}}"
    )
    for (name, p), q in zip(model2.named_parameters(), model.parameters()):
        assert_close(p.detach(), q.detach(), what=f"model parameter {name} after load_checkpoint")
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert s1.keys() == s2.keys() and all(
        torch.equal(s1[k]["exp_avg_sq"], s2[k]["exp_avg_sq"]) for k in s1
    ), (
        "load_checkpoint did not restore the optimizer's state (exp_avg_sq differs)\n  likely "
        "cause: save optimizer.state_dict() and call optimizer.load_state_dict on load"
    )
    assert torch.equal(torch.rand(4, generator=g2), expected_next), (
        "after load_checkpoint the data generator does not continue where it was saved\n  likely "
        "cause: the generator's state (the data position) is not restored"
    )


def test_a_crash_mid_write_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    model, opt = trained(2)
    path = tmp_path / "ckpt.pt"
    mod.save_checkpoint(path, model, opt, 10)
    good = path.read_bytes()
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "ckpt.pt")
    assert not leftovers, f"save_checkpoint left files behind after success: {leftovers}"

    def crashing_save(obj, f, *args, **kwargs):
        data = b"half a checkpoint"
        if hasattr(f, "write"):
            f.write(data)
        else:
            with open(f, "wb") as out:
                out.write(data)
        raise OSError("disk full (simulated crash mid-write)")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(OSError):
        mod.save_checkpoint(path, model, opt, 20)
    monkeypatch.undo()
    assert path.read_bytes() == good, (
        "a save_checkpoint that crashed mid-write changed the existing checkpoint\n  likely "
        "cause: not atomic; write to a temporary file in the same folder, then os.replace it "
        "over the path"
    )
    fresh = tiny_gpt(seed=5)
    step, extra = mod.load_checkpoint(path, fresh, torch.optim.AdamW(fresh.parameters()))
    assert step == 10, f"the surviving checkpoint loads with step {step}, expected 10"
    assert extra == {}, (
        f"a checkpoint saved without extra loads with extra {extra!r}, expected {{}}\n  likely "
        "cause: save `extra or {}` as 'extra'"
    )


def test_the_temporary_file_is_fsynced_before_the_replace(tmp_path, monkeypatch):
    """The docstring's order: write the temporary file, flush and os.fsync it, then os.replace
    (otherwise a power cut after the rename can leave a name pointing at unwritten bytes)."""
    import os

    model, opt = trained(3)
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1]
    )
    mod.save_checkpoint(tmp_path / "ckpt.pt", model, opt, 5)
    monkeypatch.undo()
    assert (
        "fsync" in calls and "replace" in calls and calls.index("fsync") < calls.index("replace")
    ), (
        f"save_checkpoint called {calls} (of os.fsync / os.replace); expected os.fsync on the "
        "temporary file, then os.replace\n  likely cause: flush and os.fsync(f.fileno()) inside "
        "the `with open(tmp, 'wb')` block, before the rename"
    )
