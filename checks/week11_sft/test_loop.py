"""Checks for w11.sft_loop: the token-weighted eval loss, the training loop and early stopping.

Oracles: F.cross_entropy(reduction="sum") over every trained position; a frozen optimizer (every
step then sees the initial model, so each step's loss is known in advance); an eval set that
training makes worse (same prompts, other answers), which must stop early and hand back the
initial weights.
"""

import torch
import torch.nn.functional as F

from checks.week11_sft.support import Adam, Frozen, b, tiny_gpt
from roadmap.impl import load

mod = load("week11_sft.loop")


def batch_of(pairs, end=258, pad=256):
    """A collate-style batch built here (right padding), independent of the learner's collate."""
    rows = [(b(p) + b(r) + [end], [-100] * len(b(p)) + b(r) + [end]) for p, r in pairs]
    T = max(len(i) for i, _ in rows)
    ids = torch.tensor([i + [pad] * (T - len(i)) for i, _ in rows])
    labels = torch.tensor([lab + [-100] * (T - len(lab)) for _, lab in rows])
    mask = torch.tensor([[1] * len(i) + [0] * (T - len(i)) for i, _ in rows])
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


TRAIN = [
    batch_of([("Q: a? A:", " yes"), ("Q: bb? A:", " no way")]),
    batch_of([("Q: c? A:", " maybe so")]),
]
WRONG = [batch_of([("Q: a? A:", "ZZZ"), ("Q: bb? A:", "QQXQ"), ("Q: c? A:", "XX")])]
WRONG[0]["labels"][WRONG[0]["labels"] == 258] = -100  # only answers unlike any training answer


def summed_nll(model, batch):
    with torch.no_grad():
        logits = model(batch["input_ids"])[0]
    lab = batch["labels"][:, 1:]
    s = F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.size(-1)),
        lab.reshape(-1),
        ignore_index=-100,
        reduction="sum",
    )
    return float(s), int((lab != -100).sum())


def test_evaluate_is_token_weighted_and_restores_the_mode():
    """Batches with 5 and 18 trained positions: total NLL / 23, not the mean of the two means."""
    model = tiny_gpt(seed=1, scale=0.3).train()
    batches = [batch_of([("Q:", " hi")]), batch_of([("Q: x", " long answer"), ("Q: yy", " other")])]
    sums = [summed_nll(model.eval(), bt) for bt in batches]
    model.train()
    expected = sum(s for s, _ in sums) / sum(n for _, n in sums)
    got = mod.evaluate(model, batches)
    assert abs(got - expected) <= 1e-5, (
        f"evaluate(model, 2 batches with {[n for _, n in sums]} trained positions) = {got:.6f}, "
        f"expected {expected:.6f} (mean of batch means would be "
        f"{sum(s / n for s, n in sums) / 2:.6f})\n  likely cause: sum the NLL of every trained "
        "position over all batches and divide by their number; only labels != -100, shifted by one"
    )
    assert model.training, "evaluate left the model in eval mode: give it back the mode it had"
    assert all(p.grad is None for p in model.parameters()), (
        "evaluate produced gradients: use torch.no_grad()"
    )


def test_frozen_model_records_each_batch_loss_in_order_and_stops_after_patience():
    """lr 0: step s sees the initial model on train_batches[(s - 1) % 2], so train_loss is known;
    the eval loss never improves (equal is not better), so patience 2 with eval_every 3 stops at
    step 6 with evaluations at 0, 3, 6 and best_step 0."""
    model = tiny_gpt(seed=2)
    per_batch = [s / n for s, n in (summed_nll(model, bt) for bt in TRAIN)]
    hist = mod.train_sft(
        model, Frozen(model.parameters()), TRAIN, WRONG, max_steps=50, eval_every=3, patience=2
    )
    expected = [per_batch[(s - 1) % 2] for s in range(1, 7)]
    got = hist["train_loss"]
    assert len(got) == 6 and all(abs(x - y) < 1e-5 for x, y in zip(got, expected)), (
        f"train_sft with a frozen optimizer: train_loss = {[round(x, 4) for x in got]}, expected "
        f"{[round(x, 4) for x in expected]}\n  likely cause: "
        + (
            "step s uses train_batches[(s - 1) % len(train_batches)] and records the response-only "
            "loss (labels shifted, -100 ignored) before the update"
            if len(got) == 6
            else "evaluate at step 0 (before training) and every eval_every steps; an evaluation "
            "improves only if strictly below the best; stop after `patience` evaluations in a row "
            "without improvement"
        )
    )
    assert hist["eval_steps"] == [0, 3, 6], (
        f"eval_steps = {hist['eval_steps']}, expected [0, 3, 6]\n  likely cause: evaluate before "
        "training (step 0) and after every eval_every steps"
    )
    assert hist["best_step"] == 0 and bool(hist["stopped_early"]), (
        f"best_step {hist['best_step']}, stopped_early {hist['stopped_early']}: expected 0 and True"
    )


def test_training_lowers_the_loss_and_keeps_the_best_weights():
    """Adam lr 1e-2 for 30 steps, eval on the training batches: eval loss falls, no early stop,
    best_step is the last improving evaluation, and the model evaluates to the best eval loss."""
    model = tiny_gpt(seed=3).eval()
    first = summed_nll(model, TRAIN[0])
    hist = mod.train_sft(
        model, Adam(model.parameters(), 1e-2), TRAIN, TRAIN, max_steps=30, eval_every=10, patience=3
    )
    ev = hist["eval_loss"]
    assert abs(hist["train_loss"][0] - first[0] / first[1]) < 1e-5, (
        f"train_loss[0] = {hist['train_loss'][0]:.5f}, but the initial model's response-only loss "
        f"on train_batches[0] is {first[0] / first[1]:.5f}\n  likely cause: record the loss "
        "computed for the step, before the update (not a fresh loss after optimizer.step())"
    )
    assert len(hist["train_loss"]) == 30 and hist["eval_steps"] == [0, 10, 20, 30], (
        f"30 steps with eval_every 10: got {len(hist['train_loss'])} train losses and eval_steps {hist['eval_steps']}"
    )
    assert ev[-1] < 0.6 * ev[0], (
        f"eval loss on the training data went {[round(x, 3) for x in ev]}: expected it to fall by "
        "far (memorising 3 short answers)\n  likely cause: the loss is not backpropagated, the "
        "optimizer does not step, or the loss is not the response-only loss"
    )
    best = min(range(len(ev)), key=ev.__getitem__)
    assert hist["best_step"] == hist["eval_steps"][best] and not hist["stopped_early"], (
        f"best_step {hist['best_step']} (eval losses {[round(x, 3) for x in ev]}), stopped_early "
        f"{hist['stopped_early']}"
    )
    assert model.training, "train_sft must leave the model in train mode"
    sums = [summed_nll(model, bt) for bt in TRAIN]
    now = sum(s for s, _ in sums) / sum(n for _, n in sums)
    assert abs(now - ev[best]) < 1e-4, (
        f"after train_sft the model's eval loss is {now:.4f}, the best evaluation was {ev[best]:.4f}"
        "\n  likely cause: load the weights of the best evaluation at the end"
    )


def test_early_stop_restores_the_initial_weights_when_eval_only_gets_worse():
    """Eval on the same prompts with other answers: training makes it worse at every evaluation,
    so with patience 2 the loop stops at step 10 and hands back the step-0 weights exactly."""
    model = tiny_gpt(seed=4)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    hist = mod.train_sft(
        model, Adam(model.parameters(), 2e-2), TRAIN, WRONG, max_steps=200, eval_every=5, patience=2
    )
    ev = hist["eval_loss"]
    assert ev[1] > ev[0] and ev[2] > ev[0], f"fixture: eval losses {ev} should rise"
    assert bool(hist["stopped_early"]) and len(hist["train_loss"]) == 10, (
        f"train_sft stopped after {len(hist['train_loss'])} of 200 steps (stopped_early "
        f"{hist['stopped_early']}), eval losses {[round(x, 3) for x in ev]}\n  likely cause: stop "
        "after `patience` evaluations in a row that are not strictly better than the best"
    )
    for k, v in model.state_dict().items():
        assert torch.equal(v, start[k]), (
            f"after early stopping with best_step {hist['best_step']}, {k} differs from the "
            "initial weights\n  likely cause: keep a copy (copy.deepcopy of state_dict) of the "
            "best weights, not a reference to the live tensors, and load it at the end"
        )
