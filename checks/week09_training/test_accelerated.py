"""Checks for w09.accelerate: training through Hugging Face Accelerate equals the plain loop.

The oracle is the plain loop of train_accelerated's docstring, written here: the same 1-layer GPT
(same seed), torch.optim.SGD with momentum (plain SGD shows a gradient k times too large, Adam would
hide it), the same shuffled loader (same generator seed). Losses and final weights must agree to
1e-6 (on one CPU process they are equal bit for bit). When they do not, the check runs the plain
loop with each usual mistake built in and names the one that matches. Accelerate keeps its state in
process-wide singletons; every check starts from a fresh state.
"""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

pytest.importorskip("accelerate", reason='needs extra hf: pip install -e ".[hf]"')

from accelerate import Accelerator  # noqa: E402
from accelerate.state import AcceleratorState, GradientState  # noqa: E402

from roadmap.checking import assert_close, learner_first  # noqa: E402
from roadmap.impl import load  # noqa: E402

from .support import tiny_gpt  # noqa: E402

mod = load("week09_training.accelerated")


def reset_accelerate() -> None:
    """Forget Accelerate's shared state (AcceleratorState, PartialState, GradientState)."""
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    reset_accelerate()
    yield
    reset_accelerate()


def build(n_batches: int, batch_size: int = 2, seed: int = 0):
    """(model, optimizer, loader): a 1-layer GPT (seeded), SGD(lr=0.3, momentum=0.9) and a
    shuffled loader of n_batches (B, 7) micro-batches, the last one shorter when B > 1. The same
    arguments build the same three again."""
    model = tiny_gpt(seed=seed, n_layer=1)
    g = torch.Generator().manual_seed(seed + 1)
    n = n_batches * batch_size - (1 if batch_size > 1 else 0)
    x = torch.randint(0, 23, (n, 7), generator=g)
    y = torch.randint(0, 23, (n, 7), generator=g)
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed + 2),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    return model, optimizer, loader


def plain_loop(
    model,
    optimizer,
    loader,
    k: int,
    epochs: int,
    *,
    divide: bool = True,
    every: int | None = None,
    zero: bool = True,
    clear_first: bool = False,
    per_epoch: bool = True,
) -> list[float]:
    """The docstring's plain loop; the keywords build in the usual mistakes (the defaults: none).

    divide=False: backward of the loss itself; every: step after this many micro-batches instead of
    k; zero=False: never clear the gradients; clear_first: clear them before the backward pass of
    each micro-batch that steps (not after the step); per_epoch=False: the count runs on across
    epochs and an epoch's last, shorter group does not step."""
    every = k if every is None else every
    losses, count = [], 0
    for _ in range(epochs):
        if per_epoch:
            count = 0
        for i, (x, y) in enumerate(loader):
            count += 1
            steps = count % every == 0 or (per_epoch and i + 1 == len(loader))
            if clear_first and steps:
                optimizer.zero_grad()
            _, loss = model(x, y)
            (loss / k if divide else loss).backward()
            losses.append(loss.item())
            if steps:
                optimizer.step()
                if zero and not clear_first:
                    optimizer.zero_grad()
    return losses


MISTAKES = [
    (
        dict(divide=False),
        "the gradients are k times too large: call accelerator.backward(loss), which divides the "
        "loss by gradient_accumulation_steps, not loss.backward()",
    ),
    (
        dict(every=1),
        "the optimizer stepped after every micro-batch: run each micro-batch inside `with "
        "accelerator.accumulate(model):` and step the optimizer that accelerator.prepare returned "
        "(it skips the steps between)",
    ),
    (
        dict(every=1, divide=False),
        "the optimizer stepped after every micro-batch with whole-loss gradients: the Accelerator "
        "was built without gradient_accumulation_steps=accumulation_steps",
    ),
    (
        dict(zero=False),
        "the gradients were never cleared: call optimizer.zero_grad() after optimizer.step() "
        "(inside the accumulate block: it too waits for the k-th micro-batch)",
    ),
    (
        dict(clear_first=True),
        "only the last micro-batch of each group reached the step: optimizer.zero_grad() ran "
        "before its backward pass; call it after optimizer.step()",
    ),
    (
        dict(per_epoch=False),
        "an epoch's last, shorter group did not step (and the count ran on into the next epoch): "
        "prepare the loader too, accelerator.prepare(model, optimizer, loader); the prepared "
        "loader tells accumulate() where an epoch ends",
    ),
]

GENERIC = (
    "the numbers must be those of the docstring's plain loop: accelerator.backward(loss) for "
    "every micro-batch inside accelerator.accumulate(model), then optimizer.step() and "
    "optimizer.zero_grad(); return loss.item() of every micro-batch"
)


def diagnose(got: list[float], n_batches: int, k: int, epochs: int, expected: list[float]) -> str:
    """The likely cause: the usual mistake whose plain loop gives the learner's losses."""
    if len(got) == len(expected) and all(
        abs(a * k - b) <= 1e-5 * max(1.0, abs(b)) for a, b in zip(got, expected)
    ):
        return (
            f"the losses are the loop's divided by k={k}: return each micro-batch's own loss "
            "(the loss the model returned, before any division), not loss / k"
        )
    for mistake, cause in MISTAKES:
        losses = plain_loop(*build(n_batches), k, epochs, **mistake)
        if len(losses) == len(got) and all(
            abs(a - b) <= 1e-5 * max(1.0, abs(b)) for a, b in zip(got, losses)
        ):
            return cause
    return GENERIC


def learner_first_then_build(n_batches: int, k: int):
    """build(n_batches), after the learner's function had its say: the stub is todo before the
    first torch.optim.SGD is built (its import of torch._dynamo costs seconds)."""
    learner_first(mod.train_accelerated, torch.nn.Linear(1, 1), None, [], k, 0)
    reset_accelerate()
    return build(n_batches)


def run_learner(n_batches: int, k: int, epochs: int):
    """(learner's losses, learner's model) on build(n_batches)."""
    model, optimizer, loader = learner_first_then_build(n_batches, k)
    losses = mod.train_accelerated(model, optimizer, loader, accumulation_steps=k, epochs=epochs)
    return losses, model


def check_against_plain_loop(n_batches: int, k: int, epochs: int) -> None:
    got, model = run_learner(n_batches, k, epochs)
    call = f"train_accelerated(model, optimizer, loader of {n_batches} micro-batches, k={k}, epochs={epochs})"
    assert isinstance(got, list) and all(isinstance(v, float) for v in got), (
        f"{call} returned {type(got).__name__} "
        f"{[type(v).__name__ for v in got][:3] if isinstance(got, list) else ''}; expected a "
        "list of floats\n  likely cause: append loss.item() (a float) for every micro-batch"
    )
    ref_model, ref_opt, ref_loader = build(n_batches)
    expected = plain_loop(ref_model, ref_opt, ref_loader, k, epochs)
    assert len(got) == len(expected), (
        f"{call} returned {len(got)} losses, expected {len(expected)} (one per micro-batch, "
        "epochs * len(loader))\n  likely cause: append the loss of every micro-batch, also of "
        "those on which the optimizer does not step"
    )
    cause = None
    for i, (a, b) in enumerate(zip(got, expected)):
        if abs(a - b) > 1e-6 * max(1.0, abs(b)):
            cause = cause or diagnose(got, n_batches, k, epochs, expected)
            raise AssertionError(
                f"{call}: the loss of micro-batch {i} is {a:.6f}, the plain loop's {b:.6f} "
                f"(first difference of {len(got)})\n  likely cause: {cause}"
            )
    for (name, p), q in zip(model.named_parameters(), ref_model.parameters()):
        assert_close(
            p.detach(),
            q.detach(),
            what=f"{call}: the trained weight {name} vs the plain loop's",
            hint="every loss agreed, so the last step differs: the epoch's last, shorter group "
            "must step too (prepare the loader with the model and the optimizer), and the model "
            "passed in is the one trained",
            atol=1e-6,
        )


def test_without_accumulation_equals_the_plain_loop():
    """k=1, one epoch of 5 micro-batches (B=2, the last B=1): every micro-batch steps."""
    check_against_plain_loop(n_batches=5, k=1, epochs=1)


@pytest.mark.parametrize(
    "n_batches, k, epochs",
    [(10, 3, 2), (6, 2, 1), (3, 4, 2)],
    ids=["10_batches_k3_2_epochs", "6_batches_k2", "3_batches_k4_2_epochs"],
)
def test_accumulation_equals_the_plain_loop(n_batches, k, epochs):
    """k micro-batches per step: 10 batches with k=3 step after batches 3, 6, 9 and 10 of each
    epoch (the last group is shorter); 3 batches with k=4 step once per epoch, at its end."""
    check_against_plain_loop(n_batches, k, epochs)


def test_the_loop_runs_through_accelerate(monkeypatch):
    """The docstring's promise, watched: one Accelerator on the CPU with gradient_accumulation_steps
    = k prepares the model, the optimizer and the loader, and runs the backward pass of every
    micro-batch (6 micro-batches, k=2)."""
    seen = {"prepare": [], "backward": 0}
    prepare, backward = Accelerator.prepare, Accelerator.backward

    def spy_prepare(self, *args, **kwargs):
        seen["prepare"].append((self.device.type, self.gradient_accumulation_steps, args))
        return prepare(self, *args, **kwargs)

    def spy_backward(self, loss, **kwargs):
        seen["backward"] += 1
        return backward(self, loss, **kwargs)

    model, optimizer, loader = learner_first_then_build(6, 2)
    monkeypatch.setattr(Accelerator, "prepare", spy_prepare)
    monkeypatch.setattr(Accelerator, "backward", spy_backward)
    mod.train_accelerated(model, optimizer, loader, accumulation_steps=2, epochs=1)
    assert seen["prepare"], (
        "train_accelerated never called accelerator.prepare\n  likely cause: build an "
        "Accelerator and prepare the model, the optimizer and the loader with it"
    )
    args = [a for _, _, call_args in seen["prepare"] for a in call_args]
    kinds = {
        "model": any(a is model for a in args),
        "optimizer": any(a is optimizer for a in args),
        "loader": any(a is loader for a in args),
    }
    missing = [name for name, there in kinds.items() if not there]
    assert not missing, (
        f"train_accelerated: accelerator.prepare was not given the {', '.join(missing)}\n  "
        "likely cause: prepare all three in one call, accelerator.prepare(model, optimizer, "
        "loader), and use what it returns"
    )
    device, steps, _ = seen["prepare"][-1]
    assert device == "cpu", (
        f"train_accelerated: the Accelerator runs on {device!r}, expected 'cpu'\n  likely cause: "
        "Accelerator(cpu=True), so the numbers are the plain CPU loop's even where a GPU exists"
    )
    assert steps == 2, (
        f"train_accelerated(k=2): the Accelerator accumulates over {steps} micro-batches\n  likely "
        "cause: Accelerator(gradient_accumulation_steps=accumulation_steps)"
    )
    assert seen["backward"] == 6, (
        f"train_accelerated: accelerator.backward ran {seen['backward']} times for 6 "
        "micro-batches\n  likely cause: call accelerator.backward(loss) for every micro-batch "
        "instead of loss.backward(): it divides the loss by gradient_accumulation_steps"
    )
