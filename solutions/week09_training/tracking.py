"""TensorBoard scalars and a loss/perplexity plot for a training run.

`tensorboard --logdir runs/` shows the curves live; the PNG goes into reports. Reading the events
back (tensorboard's EventAccumulator) is how the check sees what you logged.
Check: `python tracker.py check w09.tensorboard`
"""

import math
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter


class RunLogger:
    """Scalars to TensorBoard and a history for the plot.

    Attributes:
        writer: a torch.utils.tensorboard.SummaryWriter writing into log_dir (given).
        history: one dict per log call: {"step", "split", "loss", "perplexity"} (given: empty).
    """

    def __init__(self, log_dir: str | Path):
        self.writer = SummaryWriter(log_dir=str(log_dir))
        self.history: list[dict] = []

    def log(self, step: int, split: str, loss: float, lr: float | None = None) -> None:
        """Record one measurement at optimizer step `step` and make it visible at once.

        Writes the scalars f"{split}/loss" = loss and f"{split}/perplexity" = exp(loss), and "lr"
        if lr is given, all at global_step=step; appends {"step": step, "split": split, "loss":
        loss, "perplexity": exp(loss)} to history; then flushes the writer (a reader sees the
        events before close()).

        Example: log(100, "val", 2.0) -> scalars val/loss 2.0 and val/perplexity 7.389 at step 100.
        """
        ppl = math.exp(loss)
        self.writer.add_scalar(f"{split}/loss", loss, global_step=step)
        self.writer.add_scalar(f"{split}/perplexity", ppl, global_step=step)
        if lr is not None:
            self.writer.add_scalar("lr", lr, global_step=step)
        self.history.append({"step": step, "split": split, "loss": loss, "perplexity": ppl})
        self.writer.flush()  # the default flushes every 120 s: too late for a live dashboard

    def close(self) -> None:
        self.writer.close()


def plot_curves(history: list[dict], path: str | Path) -> None:
    """A PNG with two panels side by side: loss and perplexity against step, one line per split.

    Use matplotlib's object API (matplotlib.figure.Figure, no pyplot: nothing global, no GUI):
    one Figure, two axes (fig.subplots(1, 2)), left "loss (nats/token)", right "perplexity"
    (log scale), x "step", a legend with the split names; fig.savefig(path).
    Example: a history of train and val entries at steps 0, 50, 100 -> a PNG with two lines on
    each panel, labelled "train" and "val" in the order they first appear.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax_loss, ax_ppl = fig.subplots(1, 2)
    for split in dict.fromkeys(h["split"] for h in history):  # first-seen order
        rows = [h for h in history if h["split"] == split]
        steps = [h["step"] for h in rows]
        ax_loss.plot(steps, [h["loss"] for h in rows], label=split)
        ax_ppl.plot(steps, [h["perplexity"] for h in rows], label=split)
    ax_loss.set_ylabel("loss (nats/token)")
    ax_ppl.set_ylabel("perplexity")
    ax_ppl.set_yscale("log")
    for ax in (ax_loss, ax_ppl):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
