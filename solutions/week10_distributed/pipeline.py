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
    S = len(stage_ops)
    done: dict[tuple[int, str], int] = {}  # (stage, op) -> tick it ran
    nxt = [0] * S
    table: list[list[str]] = []
    t = 0
    while any(nxt[s] < len(stage_ops[s]) for s in range(S)):
        row = [IDLE] * S
        for s in range(S):
            if nxt[s] == len(stage_ops[s]):
                continue
            op = stage_ops[s][nxt[s]]
            if op[0] == "F":
                dep = (s - 1, op) if s > 0 else None
            else:
                dep = (s + 1, op) if s < S - 1 else (s, "F" + op[1:])
            if dep is None or done.get(dep, t) < t:
                row[s] = op
        if all(op == IDLE for op in row):
            raise ValueError(f"the op order deadlocks at tick {t}: {stage_ops}")
        for s, op in enumerate(row):
            if op != IDLE:
                done[(s, op)] = t
                nxt[s] += 1
        table.append(row)
        t += 1
    return table


def gpipe_schedule(num_stages: int, num_microbatches: int) -> list[list[str]]:
    """GPipe: every stage runs F0, F1, ..., F<M-1>, then B0, B1, ..., B<M-1> (`simulate`d).

    Forward of m on stage s at tick s + m; backward of m on stage s at tick
    (M + S - 1) + (S - 1 - s) + m; 2 (M + S - 1) ticks in all.
    Example, S=2, M=2 (rows are ticks, columns stages):
        ["F0", ""], ["F1", "F0"], ["", "F1"], ["", "B0"], ["B0", "B1"], ["B1", ""]
    """
    M = num_microbatches
    ops = [[f"F{m}" for m in range(M)] + [f"B{m}" for m in range(M)] for _ in range(num_stages)]
    return simulate(ops)


def one_f_one_b_schedule(num_stages: int, num_microbatches: int) -> list[list[str]]:
    """1F1B: stage s runs w = min(S - 1 - s, M) warm-up forwards F0 .. F<w-1>, then alternates
    F<w+i>, B<i> for i = 0 .. M-w-1, then the cool-down backwards B<M-w> .. B<M-1> (`simulate`d).

    Example, S=2, M=3 (rows are ticks, columns stages):
        ["F0", ""], ["F1", "F0"], ["", "B0"], ["B0", "F1"], ["F2", "B1"], ["B1", "F2"],
        ["", "B2"], ["B2", ""]
    """
    S, M = num_stages, num_microbatches
    ops = []
    for s in range(S):
        w = min(S - 1 - s, M)
        order = [f"F{m}" for m in range(w)]
        for i in range(M - w):
            order += [f"F{w + i}", f"B{i}"]
        order += [f"B{m}" for m in range(M - w, M)]
        ops.append(order)
    return simulate(ops)


def bubble_fraction(table: list[list[str]]) -> float:
    """The fraction of (tick, stage) slots of `table` that are IDLE; 0.0 for an empty table.

    For GPipe and 1F1B with one tick per op it equals (S - 1) / (M + S - 1).
    Example: [["F0", "", ""], ["B0", "F0", ""], ["", "", ""]] -> 6 idle of 9 slots = 0.667.
    """
    slots = sum(len(row) for row in table)
    idle = sum(1 for row in table for op in row if op == IDLE)
    return idle / slots if slots else 0.0


def peak_in_flight(table: list[list[str]]) -> list[int]:
    """Per stage, the most micro-batches whose activations it holds at once: the maximum over
    ticks of (forwards run so far - backwards run so far), counting the ops of that tick.

    GPipe: M on every stage. 1F1B: min(S - s, M) on stage s.
    Example: [["F0", ""], ["F1", "F0"], ["B0", "B0"], ["B1", ""]] -> [2, 1].
    """
    S = len(table[0]) if table else 0
    peak = [0] * S
    live = [0] * S
    for row in table:
        for s, op in enumerate(row):
            if op.startswith("F"):
                live[s] += 1
            elif op.startswith("B"):
                live[s] -= 1
            peak[s] = max(peak[s], live[s])
    return peak
