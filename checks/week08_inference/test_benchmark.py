"""Checks for w08.benchmark: tokens per second with warm-up and a median, on a fake clock.

A fake clock makes the answer exact and the check instant; the real timing lives in
benchmarks/week08_inference.py.
"""

from roadmap.impl import load

mod = load("week08_inference.benchmark")


class FakeRun:
    """generate() makes 100 tokens; each call advances the fake clock by the next duration."""

    def __init__(self, durations):
        self.durations = list(durations)
        self.now = 0.0
        self.calls = 0

    def clock(self):
        return self.now

    def generate(self):
        assert self.calls < len(self.durations), (
            f"generate was called more than warmup + repeats = {len(self.durations)} times; "
            "likely cause: warmup calls (untimed) then repeats timed calls, nothing more"
        )
        self.now += self.durations[self.calls]
        self.calls += 1
        return 100


def test_known_answer_100_tokens_in_half_a_second():
    run = FakeRun([9.0, 0.5, 0.5, 0.5])
    got = mod.tokens_per_second(run.generate, repeats=3, warmup=1, clock=run.clock)
    assert got == 200.0, (
        f"tokens_per_second: 100 tokens in 0.5 s -> expected 200.0, got {got}\n"
        "  likely cause: the 9 s warm-up call must not be timed; divide tokens by seconds"
    )
    assert run.calls == 4, f"warmup=1, repeats=3 should call generate 4 times, got {run.calls}"


def test_median_ignores_one_slow_run():
    run = FakeRun([0.1, 0.5, 5.0, 0.25])  # warm-up, then 200, 20 and 400 tokens/s
    got = mod.tokens_per_second(run.generate, repeats=3, warmup=1, clock=run.clock)
    assert got == 200.0, (
        f"tokens_per_second over runs of 200, 20, 400 tokens/s: expected the median 200.0, got {got}"
    )


def test_no_warmup():
    run = FakeRun([2.0])
    got = mod.tokens_per_second(run.generate, repeats=1, warmup=0, clock=run.clock)
    assert got == 50.0, (
        f"tokens_per_second(repeats=1, warmup=0): 100 tokens in 2 s -> 50.0, got {got}"
    )
