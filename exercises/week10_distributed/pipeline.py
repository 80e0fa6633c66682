"""Pipeline parallelism as a pure function: which stage does what at each tick.

A model cut into S stages (one per device) runs a batch split into M micro-batches. F<m> is the
forward pass of micro-batch m on a stage, B<m> its backward pass; F<m> on stage s needs F<m> from
stage s-1, B<m> on stage s needs B<m> from stage s+1 (and the last stage's B<m> needs its own
F<m>). Here every F and B takes one tick. GPipe (Huang et al. 2019) runs all forwards, then all
backwards: every stage holds the activations of all M micro-batches. 1F1B (PipeDream-flush,
Narayanan et al. 2021) starts the backwards as early as possible and alternates one forward, one
backward: the same length, 2 (M + S - 1) ticks, and the same bubble, (S - 1) / (M + S - 1), but
stage s holds at most min(S - s, M) micro-batches' activations instead of M.
Check: `python tracker.py check w10.pipeline`
"""

IDLE = ""


def simulate(stage_ops: list[list[str]]) -> list[list[str]]:
    """Run each stage's ops in their given order, each as early as its dependency allows.

    Args:
        stage_ops: stage_ops[s] is stage s's ordered list of ops, "F<m>" or "B<m>" (e.g. "F0",
            "B12"), each micro-batch's F and B exactly once per stage.

    Tick by tick (t = 0, 1, 2, ...), every stage runs its next op at tick t if the op it depends
    on finished at an earlier tick (< t): F<m> on stage s > 0 needs F<m> on stage s-1 (stage 0's
    forwards need nothing); B<m> on stage s < S-1 needs B<m> on stage s+1; B<m> on the last stage
    needs F<m> on the last stage. Otherwise the stage idles at tick t. One op per stage per tick.
    If at some tick no stage can run anything and ops remain, the order deadlocks: ValueError.

    Example: simulate([["F0", "B0"], ["F0", "B0"]]) -> [["F0", ""], ["", "F0"], ["", "B0"],
    ["B0", ""]]; simulate([["B0", "F0"], ["F0", "B0"]]) raises ValueError (a deadlock).

    Returns:
        the table: table[t][s] is the op stage s runs at tick t, or IDLE (""); one row per tick
        until the last op, each row of length S.
    """
    # TODO(w10.pipeline): return the tick-by-tick table of the given op orders
    raise NotImplementedError(
        "w10.pipeline: write simulate in exercises/week10_distributed/pipeline.py"
    )


def gpipe_schedule(num_stages: int, num_microbatches: int) -> list[list[str]]:
    """GPipe: every stage runs F0, F1, ..., F<M-1>, then B0, B1, ..., B<M-1> (`simulate`d).

    Forward of m on stage s at tick s + m; backward of m on stage s at tick
    (M + S - 1) + (S - 1 - s) + m; 2 (M + S - 1) ticks in all.
    Example, S=2, M=2 (rows are ticks, columns stages):
        ["F0", ""], ["F1", "F0"], ["", "F1"], ["", "B0"], ["B0", "B1"], ["B1", ""]
    """
    # TODO(w10.pipeline): return the GPipe table
    raise NotImplementedError(
        "w10.pipeline: write gpipe_schedule in exercises/week10_distributed/pipeline.py"
    )


def one_f_one_b_schedule(num_stages: int, num_microbatches: int) -> list[list[str]]:
    """1F1B: stage s runs w = min(S - 1 - s, M) warm-up forwards F0 .. F<w-1>, then alternates
    F<w+i>, B<i> for i = 0 .. M-w-1, then the cool-down backwards B<M-w> .. B<M-1> (`simulate`d).

    Example, S=2, M=3 (rows are ticks, columns stages):
        ["F0", ""], ["F1", "F0"], ["", "B0"], ["B0", "F1"], ["F2", "B1"], ["B1", "F2"],
        ["", "B2"], ["B2", ""]
    """
    # TODO(w10.pipeline): return the 1F1B table
    raise NotImplementedError(
        "w10.pipeline: write one_f_one_b_schedule in exercises/week10_distributed/pipeline.py"
    )


def bubble_fraction(table: list[list[str]]) -> float:
    """The fraction of (tick, stage) slots of `table` that are IDLE; 0.0 for an empty table.

    For GPipe and 1F1B with one tick per op it equals (S - 1) / (M + S - 1).
    Example: [["F0", "", ""], ["B0", "F0", ""], ["", "", ""]] -> 6 idle of 9 slots = 0.667.
    """
    # TODO(w10.pipeline): return the idle fraction of the table's slots
    raise NotImplementedError(
        "w10.pipeline: write bubble_fraction in exercises/week10_distributed/pipeline.py"
    )


def peak_in_flight(table: list[list[str]]) -> list[int]:
    """Per stage, the most micro-batches whose activations it holds at once: the maximum over
    ticks of (forwards run so far - backwards run so far), counting the ops of that tick.

    GPipe: M on every stage. 1F1B: min(S - s, M) on stage s.
    Example: [["F0", ""], ["F1", "F0"], ["B0", "B0"], ["B1", ""]] -> [2, 1].
    """
    # TODO(w10.pipeline): return each stage's peak number of micro-batches in flight
    raise NotImplementedError(
        "w10.pipeline: write peak_in_flight in exercises/week10_distributed/pipeline.py"
    )
