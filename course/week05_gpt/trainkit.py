"""What the course's two trainers share (tiny-gpt-train, llm-train): flags from the config dataclass,
the thread default, the wall-clock budget and the progress display.

A run with `--max-minutes M` ends within M minutes, final evaluation, sample and files included:
`Budget` says how much time is left, the trainer stops training early enough for the end and cuts
each end phase (evaluation batches, sample tokens) to the time left, and says so in the log.
`Reporter` shows it: in a terminal a rich bar whose total is the run's expected length (the time
budget, or the steps left at the measured speed), else a plain line at least every `log_seconds`,
evaluations included: `step 250 | loss 1.8342 | 41 ms/step | 38 s left`.
"""

import argparse
import ast
import dataclasses
import inspect
import io
import math
import os
import sys
import textwrap
import time
import tokenize
from pathlib import Path

import torch

# With --max-minutes the end of a run (final evaluation, sample, files) must fit in the budget.
END_SHARE = 0.25  # the end gets at most this share of the budget: a short budget cuts it short
EVAL_SHARE = 0.1  # an evaluation during training gets at most this share of the budget
FILES_S = (
    1.0  # writing the checkpoint, metrics.json and the plot (matplotlib imported at the start)
)


def resolve_threads(threads: int) -> int:
    """`threads` if positive, else the default: half the cores this process may use, 1 to 4.

    On 2 cores that is 1, from a measurement (benchmarks/README.md, "trainer threads", 2 cores,
    both presets): quiet, 2 threads are 1.6x faster than 1; with one other busy process on the
    machine, 2 threads are 5-12x slower than 1 (they wait on each other). Half the cores leaves room
    for the rest of the machine; machines with more cores were not measured.
    Example: 2 usable cores -> 1; 8 -> 4; 64 -> 4; resolve_threads(3) -> 3.
    """
    if threads > 0:
        return threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, (cores or 1) // 2))


def field_comments(cls: type) -> dict[str, str]:
    """Each field's trailing comment in a dataclass's source, the --help of its flag.

    Example: a field line `n_layer: int = 4  # transformer blocks` -> {"n_layer": "transformer
    blocks"}; a field written over several lines takes its last comment.
    """
    source = textwrap.dedent(inspect.getsource(cls))
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    comments = {
        t.start[0]: t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT
    }
    body = ast.parse(source).body[0].body
    fields = [node for node in body if isinstance(node, ast.AnnAssign)]
    return {
        node.target.id: next(
            (comments[n] for n in range(node.end_lineno, node.lineno - 1, -1) if n in comments), ""
        )
        for node in fields
    }


def add_config_flags(p: argparse.ArgumentParser, cls: type) -> None:
    """One flag per field of the dataclass `cls` (--max-steps, --bf16/--no-bf16, --train-files A B).

    Every flag defaults to None, so resolve_config can tell a given flag from an absent one; the help
    is the field's trailing comment and its dataclass default.
    """
    helps = field_comments(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        shown = (
            " ".join(default) if isinstance(default, list) else (default if default != "" else '""')
        )
        text = f"{helps[f.name]} (default: {shown})".replace("%", "%%")
        if f.type is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif f.type == list[str]:
            p.add_argument(flag, nargs="+", default=None, metavar=f.name.upper(), help=text)
        else:
            p.add_argument(flag, type=f.type, default=None, metavar=f.name.upper(), help=text)


class Budget:
    """The wall-clock budget of one run, counted from its creation.

    Example: Budget(1.0) after 50 s -> left() == 10.0; Budget(0) -> left() == inf (no time limit).
    """

    def __init__(self, max_minutes: float):
        self.start = time.perf_counter()
        self.total = 60 * max_minutes if max_minutes > 0 else math.inf

    @property
    def timed(self) -> bool:
        return math.isfinite(self.total)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.total - self.elapsed()


def seconds_text(s: float) -> str:
    """`38 s` under two minutes, else `4.2 min`: 37.6 -> '38 s', 252 -> '4.2 min'."""
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


class Reporter:
    """Progress of one run: a rich bar in a terminal, plain lines elsewhere; log.txt gets the lines.

    `line` writes a line that always shows (evaluations, the end). `progress` reports where the run
    is (a step, an evaluation batch, sample tokens); in a terminal it moves the bar, and every
    `log_seconds` (or when `force`d) it also writes a plain line with the time left, to log.txt and,
    without a terminal, to the screen. The time left is the smaller of the budget's and the
    trainer's own estimate `eta_s` (steps left at the measured speed, plus the end).
    log_path None: silent (torchrun ranks other than 0).
    """

    def __init__(self, budget: Budget, log_path: Path | None, log_seconds: float, mode: str = "w"):
        self.budget, self.log_seconds = budget, log_seconds
        self.log = log_path.open(mode, encoding="utf-8") if log_path else None
        self.last_line = self.last_bar = time.perf_counter()
        self.eta_s = math.inf
        self.bar = None  # started by the first progress(): a failure before it leaves no bar behind
        self.terminal = bool(log_path) and sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def left(self) -> float:
        """Seconds until the run ends, as far as is known (inf: not yet known)."""
        return min(self.budget.left(), self.eta_s)

    def left_text(self) -> str:
        """' | 38 s left' for the end of a log line; '' while the end is not known."""
        left = self.left()
        return f" | {seconds_text(max(left, 0))} left" if math.isfinite(left) else ""

    def line(self, text: str) -> None:
        if self.log is None:
            return
        self.log.write(text + "\n")
        self.log.flush()
        if self.bar is not None:
            self.bar.console.print(text, highlight=False)
        else:
            print(text, flush=True)
        self.last_line = time.perf_counter()

    def progress(self, text: str, eta_s: float | None = None, force: bool = False) -> None:
        if self.log is None:
            return
        if eta_s is not None:
            self.eta_s = eta_s
        left = self.left()
        text += self.left_text()
        now = time.perf_counter()
        if self.terminal and self.bar is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            columns = (TaskProgressColumn(), TextColumn("{task.description}"))
            self.bar = Progress(TextColumn("[bold]train"), BarColumn(), *columns)
            self.task = self.bar.add_task("", total=None)
            self.bar.start()
            self.last_bar = 0.0
        if self.bar is not None and now - self.last_bar >= 0.1:  # redraws cost: 10 per second
            elapsed = self.budget.elapsed()
            total = elapsed + max(left, 0) if math.isfinite(left) else None
            self.bar.update(self.task, completed=elapsed, total=total, description=text)
            self.last_bar = now
        if force or now - self.last_line >= self.log_seconds:
            self.log.write(text + "\n")
            self.log.flush()
            if not self.terminal:
                print(text, flush=True)
            self.last_line = time.perf_counter()

    def close(self) -> None:
        if self.bar is not None:
            elapsed = self.budget.elapsed()
            self.bar.update(self.task, completed=elapsed, total=elapsed)  # done: 100%
            self.bar.stop()
            self.bar = None
        if self.log is not None:
            self.log.close()
            self.log = None


@torch.no_grad()
def forward_seconds(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Seconds of one eval-mode forward pass on x (the second of two: the first warms up).

    A first guess of what evaluating and sampling cost, before either has been measured; eval mode,
    so no dropout draws move the RNG.
    """
    was_training = model.training
    model.eval()
    model(x)
    t0 = time.perf_counter()
    model(x)
    model.train(was_training)
    return time.perf_counter() - t0


def generate_within(
    model: torch.nn.Module,
    prompt: torch.Tensor,
    max_new_tokens: int,
    until: float,
    budget: Budget,
    reporter: Reporter,
    temperature: float,
    generator: torch.Generator,
    chunk: int = 20,
) -> torch.Tensor:
    """`model.generate` in chunks of `chunk` tokens until max_new_tokens or budget.elapsed() >= until.

    The same tokens as one call with the same generator: generate feeds the model only the last
    block_size tokens of what it is given, and the generator's stream simply continues. At least one
    chunk is sampled. Returns (1, len(prompt) + n) int64, n <= max_new_tokens.
    """
    ids, t0 = prompt, time.perf_counter()
    while ids.size(1) - prompt.size(1) < max_new_tokens:
        n = min(chunk, max_new_tokens - (ids.size(1) - prompt.size(1)))
        ids = model.generate(ids, n, temperature=temperature, generator=generator)
        done = ids.size(1) - prompt.size(1)
        reporter.progress(f"sample {done}/{max_new_tokens} tokens")
        per_chunk = (time.perf_counter() - t0) / math.ceil(done / chunk)
        if budget.elapsed() + per_chunk > until:
            break
    return ids
