"""Zero-shot and k-shot prompts for multiple-choice questions, with no leak of the test item.

A k-shot prompt shows k solved examples before the question. They are drawn from a pool with a
fixed seed (so a run is reproducible) and never include the question being asked (otherwise the
answer is in the prompt). Reference: Brown et al. 2020 (GPT-3), lm-evaluation-harness samplers.
Check: `python tracker.py check w17.fewshot`
"""

import random


def format_example(doc: dict, with_answer: bool = False) -> str:
    """One question as text: f"{doc['query']}\\nAnswer:" and, with_answer, " " + the gold choice.

    Example: {"query": "Question: 2 + 2?", "choices": ["3", "4"], "gold": 1} ->
    "Question: 2 + 2?\\nAnswer:" or, with the answer, "Question: 2 + 2?\\nAnswer: 4".
    """
    # the same "Answer:" cue as the scored continuation " choice" follows
    text = f"{doc['query']}\nAnswer:"
    if with_answer:
        text += " " + doc["choices"][doc["gold"]]
    return text


def build_prompt(doc: dict, pool: list[dict], k: int, seed: int, separator: str = "\n\n") -> str:
    """A k-shot prompt for `doc`: k solved examples from `pool`, then the unanswered question.

    The candidates are the pool's docs that are not equal to `doc` (==, so a copy of the test item
    is excluded too), in pool order; the shots are random.Random(seed).sample(candidates, k), in
    the order sample returns them. Each shot is format_example(shot, with_answer=True); the parts
    are joined with `separator`, the last part being format_example(doc). k = 0 gives
    format_example(doc) alone.

    Example: k = 1, pool [d0, doc, d2], seed 0: the candidates are [d0, d2]; with
    random.Random(0).sample([d0, d2], 1) == [d2] the prompt is format_example(d2, True) +
    separator + format_example(doc).

    Raises:
        ValueError: if k is negative or larger than the number of candidates.
    """
    # a fresh Random per prompt: the same seed gives the same shots whatever ran before
    candidates = [d for d in pool if d != doc]
    if not 0 <= k <= len(candidates):
        raise ValueError(f"k={k} shots requested but {len(candidates)} candidates in the pool")
    shots = random.Random(seed).sample(candidates, k)
    parts = [format_example(s, with_answer=True) for s in shots] + [format_example(doc)]
    return separator.join(parts)
