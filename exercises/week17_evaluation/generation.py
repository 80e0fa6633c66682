"""Scoring generated answers: extract the final answer from a chain of thought, then compare it
with the reference by exact match or by quasi-exact match (SQuAD's normalisation).

Reference: Wei et al. 2022 (chain-of-thought), Cobbe et al. 2021 (GSM8K's "#### answer"),
Rajpurkar et al. 2016 (SQuAD normalisation). Check: `python tracker.py check w17.generation`
"""

import re
import string

# the final-answer markers, case-insensitive: GSM8K's "####", "the answer is", "answer:"
MARKER = re.compile(r"####|answer is:?|answer:", re.IGNORECASE)


def extract_answer(text: str) -> str | None:
    """The final answer of a chain-of-thought completion, or None if it has no marker.

    The answer follows the LAST occurrence of MARKER in the text and runs to the end of that line;
    it is stripped of surrounding whitespace and then of trailing periods. An empty answer is None.

    Examples: "3 + 4 = 7. The answer is 7." -> "7"; "... so\\n#### 42" -> "42";
    "Answer: the answer is Paris.\\nDone" -> "Paris"; "I think 7" -> None.
    """
    # TODO(w17.generation): take the text after the last MARKER match, to the end of its line
    raise NotImplementedError(
        "w17.generation: write extract_answer in exercises/week17_evaluation/generation.py"
    )


def normalize_answer(s: str) -> str:
    """SQuAD's normalisation: lowercase, remove punctuation (string.punctuation), remove the words
    a / an / the, collapse whitespace to single spaces (and strip), in that order.

    Example: "The  Eiffel-Tower!" -> "eiffeltower".
    """
    # TODO(w17.generation): lowercase, drop punctuation, drop a/an/the, collapse whitespace
    raise NotImplementedError(
        "w17.generation: write normalize_answer in exercises/week17_evaluation/generation.py"
    )


def exact_match(prediction: str | None, reference: str) -> float:
    """1.0 if prediction.strip() == reference.strip() (case and punctuation count), else 0.0;
    a None prediction (nothing extracted) scores 0.0."""
    # TODO(w17.generation): compare the stripped strings
    raise NotImplementedError(
        "w17.generation: write exact_match in exercises/week17_evaluation/generation.py"
    )


def quasi_exact_match(prediction: str | None, reference: str) -> float:
    """1.0 if normalize_answer(prediction) == normalize_answer(reference), else 0.0; None -> 0.0."""
    # TODO(w17.generation): compare the normalised strings
    raise NotImplementedError(
        "w17.generation: write quasi_exact_match in exercises/week17_evaluation/generation.py"
    )
