"""Checks for w05.checkpoint: a saved GPT comes back identical, from the file alone, safely."""

from dataclasses import asdict

import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

model = load("week05_gpt.model")
checkpoint = load("week05_gpt.checkpoint")


def trained_gpt():
    torch.manual_seed(0)
    gpt = model.GPT(
        model.GPTConfig(block_size=12, vocab_size=23, n_layer=2, n_head=2, n_embd=16, bias=False)
    )
    opt = torch.optim.AdamW(gpt.parameters(), lr=1e-2)
    idx = torch.randint(0, 23, (2, 12), generator=generator(1))
    for _ in range(3):
        _, loss = gpt(idx, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return gpt, opt


def test_round_trip_gives_the_same_model(tmp_path):
    gpt, opt = trained_gpt()
    path = tmp_path / "ckpt.pt"
    checkpoint.save_checkpoint(path, gpt, opt, step=3)
    loaded, ckpt = checkpoint.load_checkpoint(path)
    assert loaded.config == gpt.config, (
        f"load_checkpoint rebuilt config {loaded.config}, saved {gpt.config}: save asdict(model.config)"
    )
    assert not loaded.training, "load_checkpoint should return the model in eval mode"
    assert ckpt["step"] == 3, f"ckpt['step'] is {ckpt.get('step')}, saved 3"
    idx = torch.randint(0, 23, (3, 12), generator=generator(2))
    gpt.eval()
    assert_close(
        loaded(idx)[0],
        gpt(idx)[0],
        atol=0,
        rtol=0,
        what="logits of the loaded vs the saved model",
        hint="save model.state_dict() and load_state_dict it back",
    )
    assert loaded.lm_head.weight is loaded.transformer.wte.weight, (
        "the loaded model's head must still be tied to wte"
    )


def test_file_is_plain_data_and_keeps_the_optimizer(tmp_path):
    """Oracle: torch.load(weights_only=True) reads it, so it holds no pickled code."""
    gpt, opt = trained_gpt()
    path = tmp_path / "ckpt.pt"
    checkpoint.save_checkpoint(path, gpt, opt, step=3)
    raw = torch.load(path, weights_only=True)
    assert {"model", "config", "step", "optimizer"} <= set(raw), f"checkpoint keys {sorted(raw)}"
    assert isinstance(raw["config"], dict), "save the config as a plain dict (dataclasses.asdict)"
    fresh = torch.optim.AdamW(gpt.parameters(), lr=1e-2)
    fresh.load_state_dict(raw["optimizer"])
    saved_avg = opt.state_dict()["state"][0]["exp_avg"]
    assert_close(
        fresh.state_dict()["state"][0]["exp_avg"], saved_avg, what="AdamW exp_avg after reload"
    )
    checkpoint.save_checkpoint(tmp_path / "no_opt.pt", gpt)
    assert "optimizer" not in torch.load(tmp_path / "no_opt.pt", weights_only=True), (
        "save_checkpoint without an optimizer should leave the 'optimizer' key out"
    )


def _record_that_code_ran(path: str) -> str:
    """What the malicious pickle calls: it leaves a file behind, so the check can see it ran."""
    with open(path, "w") as f:
        f.write("pickled code ran")
    return "payload"


class _Payload:
    """Unpickling this object calls _record_that_code_ran(marker): code hidden in a checkpoint."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (_record_that_code_ran, (self.marker,))


def test_loading_refuses_a_checkpoint_with_pickled_code(tmp_path):
    """Security: a checkpoint from elsewhere may carry code. This file is a valid checkpoint plus one
    extra entry whose unpickling calls a function (here it only writes a marker file; a real attack
    would run anything). load_checkpoint must refuse it (torch.load(weights_only=True) raises
    UnpicklingError) and the function must never run."""
    gpt, _ = trained_gpt()
    marker = tmp_path / "pickled_code_ran.txt"
    path = tmp_path / "malicious.pt"
    torch.save(
        {
            "model": gpt.state_dict(),
            "config": asdict(gpt.config),
            "step": 3,
            "extra": _Payload(str(marker)),
        },
        path,
    )
    refused = False
    try:
        checkpoint.load_checkpoint(path)
    except NotImplementedError:
        raise  # a stub is still todo, not a refusal
    except Exception:  # torch raises pickle.UnpicklingError; any refusal is fine
        refused = True
    assert not marker.exists(), (
        "load_checkpoint ran code hidden in the checkpoint file (a pickled function call); likely "
        "cause: torch.load without weights_only=True, which unpickles arbitrary objects"
    )
    assert refused, (
        "load_checkpoint accepted a file with a pickled object in it; likely cause: torch.load "
        "without weights_only=True"
    )
