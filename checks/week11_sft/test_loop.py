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
    """Batches with 4, 20 and 12 trained positions: total NLL / 36, not the mean of the three
    means. The third batch starts a row with a real label, which nothing predicts (labels[:, 0] is
    never a target), so it is not counted."""
    model = tiny_gpt(seed=1, scale=0.3).train()
    batches = [
        batch_of([("Q:", " hi")]),
        batch_of([("Q: x", " long answer"), ("Q: yy", " other")]),
        batch_of([("", "no prompt"), ("Q: z", "ok")]),  # labels[0, 0] is trained but no target
    ]
    sums = [summed_nll(model.eval(), bt) for bt in batches]
    model.train()
    expected = sum(s for s, _ in sums) / sum(n for _, n in sums)
    got = mod.evaluate(model, batches)
    assert abs(got - expected) <= 1e-5, (
        f"evaluate(model, 3 batches with {[n for _, n in sums]} trained positions) = {got:.6f}, "
        f"expected {expected:.6f} (mean of batch means would be "
        f"{sum(s / n for s, n in sums) / 3:.6f})\n  likely cause: sum the NLL of every trained "
        "position over all batches and divide by their number; count only labels[:, 1:] != -100 "
        "(labels[:, 0] is never a target)"
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


class Scripted:
    """An optimizer whose step s loads states[s - 1] into the model: every evaluation's loss is
    then known in advance, whatever the gradients were."""

    def __init__(self, model, states):
        self.model, self.states, self.steps = model, states, 0

    def step(self):
        self.model.load_state_dict(self.states[self.steps])
        self.steps += 1

    def zero_grad(self):
        for p in self.model.parameters():
            p.grad = None


def test_patience_counts_evaluations_in_a_row_and_resets_on_improvement():
    """eval_every 1, patience 2; the weights after steps 1..6 are scripted so the eval losses go
    worse, BETTER, worse, worse, ...: the improvement at step 2 resets the count, so training
    stops at step 4 (two in a row after the best), not at step 3 (two in total), best_step 2."""
    model = tiny_gpt(seed=7)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    good = tiny_gpt(seed=7)
    opt = Adam(good.parameters(), 1e-2)
    for step in range(12):
        logits = good(TRAIN[step % 2]["input_ids"])[0]
        lab = TRAIN[step % 2]["labels"][:, 1:]
        F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), lab.reshape(-1), ignore_index=-100
        ).backward()
        opt.step()
        opt.zero_grad()
    g = torch.Generator().manual_seed(7)
    bad = [
        {k: v + 0.3 * torch.randn(v.shape, generator=g) for k, v in start.items()} for _ in range(5)
    ]
    states = [bad[0], good.state_dict(), bad[1], bad[2], bad[3], bad[4]]

    def loss_of(state):
        probe = tiny_gpt(seed=7)
        probe.load_state_dict(state)
        sums = [summed_nll(probe, bt) for bt in TRAIN]
        return sum(s for s, _ in sums) / sum(n for _, n in sums)

    ev = [loss_of(start)] + [loss_of(s) for s in states]
    assert ev[1] > ev[0] > ev[2] and min(ev[3:]) > ev[2], f"fixture: eval losses {ev}"
    hist = mod.train_sft(
        model, Scripted(model, states), TRAIN, TRAIN, max_steps=6, eval_every=1, patience=2
    )
    steps = len(hist["train_loss"])
    assert steps == 4 and bool(hist["stopped_early"]) and hist["best_step"] == 2, (
        f"train_sft with eval losses {[round(x, 3) for x in ev]} at steps 0..6 (worse, better, "
        f"worse, worse, ...), patience 2: stopped after {steps} steps (stopped_early "
        f"{hist['stopped_early']}, best_step {hist['best_step']}), expected 4 steps, True, 2\n"
        "  likely cause: "
        + (
            "the patience counter must reset to 0 when an evaluation improves: patience counts "
            "evaluations IN A ROW without improvement, not in total"
            if steps == 3
            else "stop after `patience` evaluations in a row without improvement"
        )
    )
    for k, v in model.state_dict().items():
        assert torch.equal(v, states[1][k]), (
            f"after train_sft, {k} is not the weights of the best evaluation (step 2)\n  likely "
            "cause: keep a copy of the best state and load it at the end"
        )


def test_runs_max_steps_and_evaluates_only_at_multiples_of_eval_every():
    """max_steps 7, eval_every 3, lr 0 (no improvement) and patience 10: 7 steps, evaluations at
    0, 3 and 6 only (none added at step 7), no early stop, best_step 0."""
    model = tiny_gpt(seed=8)
    hist = mod.train_sft(
        model, Frozen(model.parameters()), TRAIN, TRAIN, max_steps=7, eval_every=3, patience=10
    )
    assert len(hist["train_loss"]) == 7 and hist["eval_steps"] == [0, 3, 6], (
        f"train_sft(max_steps=7, eval_every=3): {len(hist['train_loss'])} train losses, "
        f"eval_steps {hist['eval_steps']}; expected 7 and [0, 3, 6]\n  likely cause: run exactly "
        "max_steps steps; evaluate at step 0 and after every eval_every steps only (no extra "
        "evaluation at the last step)"
    )
    assert len(hist["eval_loss"]) == 3 and not hist["stopped_early"] and hist["best_step"] == 0, (
        f"eval_loss {hist['eval_loss']}, stopped_early {hist['stopped_early']}, best_step "
        f"{hist['best_step']}: expected 3 equal losses, False, 0"
    )


class GradProbe:
    """lr 0: step() records a copy of every gradient and changes nothing."""

    def __init__(self, params):
        self.params = list(params)
        self.seen = []

    def step(self):
        self.seen.append([None if p.grad is None else p.grad.clone() for p in self.params])

    def zero_grad(self):
        for p in self.params:
            p.grad = None


def test_each_step_updates_with_its_own_gradient_only():
    """With lr 0 step s's gradient is that of the initial model's loss on train_batches[(s - 1) %
    2]; gradients must not pile up from earlier steps (zero them after each step)."""
    model = tiny_gpt(seed=9, scale=0.3)
    params = list(model.parameters())
    expected = []
    for bt in TRAIN:
        logits = model(bt["input_ids"])[0]
        lab = bt["labels"][:, 1:]
        loss = F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), lab.reshape(-1), ignore_index=-100
        )
        expected.append(torch.autograd.grad(loss, params, allow_unused=True))
    probe = GradProbe(params)
    mod.train_sft(model, probe, TRAIN, TRAIN, max_steps=3, eval_every=3, patience=5)
    assert len(probe.seen) == 3, f"optimizer.step() was called {len(probe.seen)} times in 3 steps"
    for s, grads in enumerate(probe.seen, start=1):
        for (name, _), got, want in zip(model.named_parameters(), grads, expected[(s - 1) % 2]):
            if want is None:
                continue
            ok = got is not None and torch.allclose(got, want, atol=1e-5, rtol=1e-4)
            assert ok, (
                f"at step {s} the gradient of {name} is not that step's loss alone (batch "
                f"{(s - 1) % 2})\n  likely cause: "
                + (
                    "no gradient: call loss.backward() before optimizer.step()"
                    if got is None
                    else "gradients accumulate across steps: call optimizer.zero_grad() after "
                    "every step (or before every backward)"
                )
            )


def test_training_steps_run_in_train_mode_and_evaluations_in_eval_mode():
    """A forward hook records model.training for every call: calls that build a graph (training
    steps) must run in train mode (dropout on), calls under no_grad (evaluate) in eval mode; the
    model is handed over in eval mode, so the loop must switch it itself."""
    model = tiny_gpt(seed=10).eval()
    calls = []
    model.register_forward_pre_hook(
        lambda m, args: calls.append((m.training, torch.is_grad_enabled()))
    )
    mod.train_sft(
        model, Frozen(model.parameters()), TRAIN, TRAIN[:1], max_steps=4, eval_every=2, patience=9
    )
    train_modes = [t for t, grad in calls if grad]
    eval_modes = [t for t, grad in calls if not grad]
    assert train_modes and all(train_modes), (
        f"train_sft ran {train_modes.count(False)} of {len(train_modes)} training forwards in eval "
        "mode (the model was handed over in eval mode)\n  likely cause: call model.train() before "
        "the training steps (evaluate gives back the mode the model had)"
    )
    assert eval_modes and not any(eval_modes), (
        f"evaluate ran {sum(eval_modes)} of {len(eval_modes)} forwards in train mode\n  likely "
        "cause: evaluate must put the model in eval mode (no dropout) and give back its mode after"
    )
