"""Checks for w10.pipeline: GPipe and 1F1B schedules as pure functions, bubble and memory.

Oracles: tables derived by hand from the dependency rules (derivations in the docstrings), the
bubble formula (S - 1) / (M + S - 1), the peak-activation counts M (GPipe) and min(S - s, M) (1F1B),
and properties every valid schedule has (each op once per stage, dependencies finished earlier).
"""

import pytest

from roadmap.impl import load

mod = load("week10_distributed.pipeline")

DEPS = (
    "F<m> on stage s needs F<m> on stage s-1 at an EARLIER tick; B<m> on stage s needs B<m> on "
    "stage s+1 at an earlier tick (the last stage's B<m> needs its own F<m>); ops of one stage run "
    "in their given order, one per tick, each as early as possible"
)


def show(table) -> str:
    return "\n".join(f"    tick {t}: {row}" for t, row in enumerate(table))


def test_gpipe_two_stages_two_microbatches_by_hand():
    """S=2, M=2. Stage 0: F0 at 0, F1 at 1. Stage 1: F0 at 1 (after stage 0's F0), F1 at 2.
    Backwards: stage 1 B0 at 3 (after its F1 at 2: GPipe does all forwards first), B1 at 4;
    stage 0 B0 at 4 (after stage 1's B0 at 3), B1 at 5. Six ticks = 2 (M + S - 1)."""
    expected = [["F0", ""], ["F1", "F0"], ["", "F1"], ["", "B0"], ["B0", "B1"], ["B1", ""]]
    got = mod.gpipe_schedule(2, 2)
    assert got == expected, (
        f"gpipe_schedule(2, 2):\n  expected\n{show(expected)}\n  got\n{show(got)}\n"
        f"  likely cause: GPipe runs F0..F<M-1> then B0..B<M-1> on every stage; {DEPS}"
    )


def test_one_f_one_b_two_stages_three_microbatches_by_hand():
    """S=2, M=3. Stage 0 warms up with min(S-1-0, M) = 1 forward: order F0, F1, B0, F2, B1, B2;
    stage 1 (w=0): F0, B0, F1, B1, F2, B2. Ticks: s0 F0@0; s1 F0@1, B0@2; s0 F1@1, B0@3 (after
    s1's B0@2); s1 F1@3 (after s0 F1@1 and its own B0@2), B1@4; s0 F2@4, B1@5; s1 F2@5, B2@6;
    s0 B2@7."""
    expected = [
        ["F0", ""],
        ["F1", "F0"],
        ["", "B0"],
        ["B0", "F1"],
        ["F2", "B1"],
        ["B1", "F2"],
        ["", "B2"],
        ["B2", ""],
    ]
    got = mod.one_f_one_b_schedule(2, 3)
    assert got == expected, (
        f"one_f_one_b_schedule(2, 3):\n  expected\n{show(expected)}\n  got\n{show(got)}\n"
        "  likely cause: stage s warms up with min(S - 1 - s, M) forwards, then alternates "
        f"F<w+i>, B<i>, then the remaining backwards; {DEPS}"
    )


def test_one_f_one_b_three_stages_four_microbatches_by_hand():
    """S=3, M=4: warm-ups 2, 1, 0. The forwards ripple down (F0 at ticks 0, 1, 2); stage 2 runs
    B0 at 3, stage 1 B0 at 4 then F2 at 5, stage 0 B0 at 5 ... (same rules as the 2-stage case)."""
    expected = [
        ["F0", "", ""],
        ["F1", "F0", ""],
        ["F2", "F1", "F0"],
        ["", "", "B0"],
        ["", "B0", "F1"],
        ["B0", "F2", "B1"],
        ["F3", "B1", "F2"],
        ["B1", "F3", "B2"],
        ["", "B2", "F3"],
        ["B2", "", "B3"],
        ["", "B3", ""],
        ["B3", "", ""],
    ]
    got = mod.one_f_one_b_schedule(3, 4)
    assert got == expected, (
        f"one_f_one_b_schedule(3, 4):\n  expected\n{show(expected)}\n  got\n{show(got)}\n"
        f"  likely cause: warm-up count min(S - 1 - s, M); {DEPS}"
    )


def check_valid(table, S, M, what):
    assert all(len(row) == S for row in table), f"{what}: every tick needs one entry per stage"
    when = {}
    for t, row in enumerate(table):
        for s, op in enumerate(row):
            if op:
                assert (s, op) not in when, f"{what}: stage {s} runs {op} twice"
                when[(s, op)] = t
    for s in range(S):
        for m in range(M):
            for kind in "FB":
                assert (s, f"{kind}{m}") in when, f"{what}: stage {s} never runs {kind}{m}"
            if s > 0:
                assert when[(s, f"F{m}")] > when[(s - 1, f"F{m}")], (
                    f"{what}: stage {s} runs F{m} before stage {s - 1} finished it\n"
                    f"  likely cause: {DEPS}"
                )
            dep = (s + 1, f"B{m}") if s < S - 1 else (s, f"F{m}")
            assert when[(s, f"B{m}")] > when[dep], (
                f"{what}: stage {s} runs B{m} at tick {when[(s, f'B{m}')]} before {dep[1]} on "
                f"stage {dep[0]} finished (tick {when[dep]})\n  likely cause: {DEPS}"
            )
    assert table and any(op for op in table[-1]), f"{what}: the table must end with the last op"


@pytest.mark.parametrize("S,M", [(1, 3), (2, 5), (3, 2), (4, 8), (5, 3), (4, 1)])
def test_bubble_length_and_memory_match_the_formulas(S, M):
    """Both schedules take 2 (M + S - 1) ticks, idle (S - 1) / (M + S - 1) of the slots; GPipe
    holds M micro-batches on every stage, 1F1B min(S - s, M) on stage s."""
    bubble = (S - 1) / (M + S - 1)
    for name, fn, peak in (
        ("gpipe_schedule", mod.gpipe_schedule, [M] * S),
        ("one_f_one_b_schedule", mod.one_f_one_b_schedule, [min(S - s, M) for s in range(S)]),
    ):
        what = f"{name}({S}, {M})"
        try:
            table = fn(S, M)
        except ValueError as error:
            raise AssertionError(
                f"{what} raised {error!r}\n  likely cause: a GPipe or 1F1B order never deadlocks; "
                "1F1B warms up with w = min(S - 1 - s, M) forwards (M may be smaller than S - 1), "
                f"then F<w+i>, B<i> pairs, then the remaining backwards; {DEPS}"
            ) from error
        check_valid(table, S, M, what)
        assert len(table) == 2 * (M + S - 1), (
            f"{what}: expected {2 * (M + S - 1)} ticks = 2 (M + S - 1), got {len(table)}\n"
            f"{show(table)}\n  likely cause: an op waits longer than its dependency requires"
        )
        got = mod.bubble_fraction(table)
        assert abs(got - bubble) < 1e-12, (
            f"bubble_fraction({what}): expected (S-1)/(M+S-1) = {bubble:.4f}, got {got}\n"
            "  likely cause: the bubble is the fraction of IDLE (tick, stage) slots"
        )
        got_peak = mod.peak_in_flight(table)
        assert got_peak == peak, (
            f"peak_in_flight({what}): expected {peak}, got {got_peak}\n  likely cause: count "
            "forwards minus backwards run so far on each stage, including the current tick; "
            "1F1B frees a micro-batch's activations as soon as its backward runs"
        )


def test_simulate_custom_order_and_deadlock():
    """simulate([["F0", "F1", "B0", "B1"], ["F0", "F1", "B1", "B0"]]): stage 1 runs B1 before B0
    (its own order). s0 F0@0 F1@1; s1 F0@1 F1@2 B1@3 B0@4; s0 B0 after s1's B0@4 -> 5, B1@6."""
    got = mod.simulate([["F0", "F1", "B0", "B1"], ["F0", "F1", "B1", "B0"]])
    expected = [
        ["F0", ""],
        ["F1", "F0"],
        ["", "F1"],
        ["", "B1"],
        ["", "B0"],
        ["B0", ""],
        ["B1", ""],
    ]
    assert got == expected, (
        f"simulate(custom order):\n  expected\n{show(expected)}\n  got\n{show(got)}\n"
        f"  likely cause: {DEPS}"
    )
    with pytest.raises(ValueError):
        # stage 0's B0 waits for stage 1's B0, which waits for stage 1's F0, which waits for
        # stage 0's F0, queued behind B0: a deadlock
        mod.simulate([["B0", "F0"], ["F0", "B0"]])


def test_bubble_fraction_and_peak_on_a_given_table():
    table = [["F0", "", ""], ["B0", "F0", ""], ["", "", ""]]
    got = mod.bubble_fraction(table)
    assert abs(got - 6 / 9) < 1e-12, (
        f"bubble_fraction({table}): 6 of 9 slots are idle, expected 0.6667, got {got}\n"
        "  likely cause: count the IDLE slots over all (tick, stage) slots"
    )
    assert mod.bubble_fraction([]) == 0.0, "bubble_fraction([]) must be 0.0"
    assert mod.peak_in_flight([["F0", ""], ["F1", "F0"], ["B0", "B0"], ["B1", ""]]) == [2, 1], (
        "peak_in_flight: stage 0 holds F0 and F1 at tick 1 (peak 2), stage 1 holds only F0"
    )
