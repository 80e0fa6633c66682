"""Measuring generation speed in tokens per second, the way a benchmark should: warm up, repeat,
report the median.

Full benchmark: `python benchmarks/week08_inference.py`
Check: `python tracker.py check w08.benchmark`
"""

import statistics
import time
from collections.abc import Callable


def tokens_per_second(
    generate: Callable[[], int],
    *,
    repeats: int = 3,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median tokens/s of `generate` over `repeats` timed calls, after `warmup` untimed calls.

    The first call pays one-off costs (allocations, lazy initialisation, caches) that a steady
    stream of requests does not; the median ignores one slow outlier from a busy machine.
    Example: a call that makes 100 tokens and takes 0.5 s on `clock` -> 200.0.

    Args:
        generate: makes tokens and returns how many it made.
        repeats: timed calls, >= 1.
        warmup: untimed calls before them.
        clock: seconds as a float (time.perf_counter; a check passes a fake clock).

    Returns:
        the median over the timed calls of tokens / seconds.
    """
    # TODO(w08.benchmark): return the median tokens/s of the timed calls after the warmup
    raise NotImplementedError(
        "w08.benchmark: write tokens_per_second in exercises/week08_inference/benchmark.py"
    )
