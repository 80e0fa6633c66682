"""Scoring generated answers: extract the final answer from a chain of thought, then compare it
with the reference by exact match or by quasi-exact match (SQuAD's normalisation).

Reference: Wei et al. 2022 (chain-of-thought), Cobbe et al. 2021 (GSM8K's "#### answer"),
Rajpurkar et al. 2016 (SQuAD normalisation).
Check: `python tracker.py check w17.generation`
"""

import re
import string

# the final-answer markers, case-insensitive: GSM8K's "####", "the answer is", "answer:"
MARKER = re.compile(r"####|answer is:?|answer:", re.IGNORECASE)


def extract_answer(text: str) -> str | None:
    """The final answer of a chain-of-thought completion, or None if it has no marker.

    The answer follows the LAST occurrence of MARKER in the text and runs to the end of that line;
    it is stripped of surrounding whitespace and then of trailing periods (in that order, so
    "42. " gives "42"). An empty answer is None.

    Examples: "3 + 4 = 7. The answer is 7." -> "7"; "... so\\n#### 42" -> "42";
    "Answer: the answer is Paris.\\nDone" -> "Paris"; "I think 7" -> None.
    """
    # TODO(w17.generation): return the final answer the completion states, or None
    raise NotImplementedError(
        "w17.generation: write extract_answer in exercises/week17_evaluation/generation.py"
    )


def normalize_answer(s: str) -> str:
    """SQuAD's normalisation: lowercase, remove punctuation (string.punctuation), remove the words
    a / an / the, collapse whitespace to single spaces (and strip), in that order. Punctuation
    inside words goes first, so "a.m." becomes "am" (not an article any more).

    Example: "The  Eiffel-Tower!" -> "eiffeltower"; "7 a.m. sharp" -> "7 am sharp".
    """
    # TODO(w17.generation): return the answer as SQuAD normalises it
    raise NotImplementedError(
        "w17.generation: write normalize_answer in exercises/week17_evaluation/generation.py"
    )


def exact_match(prediction: str | None, reference: str) -> float:
    """1.0 if prediction.strip() == reference.strip() (case and punctuation count), else 0.0;
    a None prediction (nothing extracted) scores 0.0.

    Example: (" 42 ", "42") -> 1.0; ("Paris", "paris") -> 0.0.
    """
    # TODO(w17.generation): return 1.0 when the answer is exactly the reference, else 0.0
    raise NotImplementedError(
        "w17.generation: write exact_match in exercises/week17_evaluation/generation.py"
    )


def quasi_exact_match(prediction: str | None, reference: str) -> float:
    """1.0 if normalize_answer(prediction) == normalize_answer(reference), else 0.0; None -> 0.0.

    Example: ("The Paris.", "paris") -> 1.0; ("Lyon", "paris") -> 0.0.
    """
    # TODO(w17.generation): return 1.0 when the answers match after normalising, else 0.0
    raise NotImplementedError(
        "w17.generation: write quasi_exact_match in exercises/week17_evaluation/generation.py"
    )
