"""Prompt assembly with numbered citations under a token budget, and a groundedness check.

The retrieved passages go into the prompt numbered [1], [2], ... so that the answer can cite them;
the prompt must fit the model's context, so passages are added best first while the whole prompt
stays within a token budget. After generation, a lexical groundedness check flags the answer
sentences that no retrieved passage supports (a cheap cousin of the NLI- or LLM-judged
"faithfulness" of RAGAS, Es et al. 2023).
Check: `python tracker.py check w16.prompt`
"""

import re
from collections.abc import Callable

from .bm25 import tokenize
from .chunking import sentence_spans

HEADER = "Answer the question using only the numbered passages. Cite passages like [1].\n\n"
CITATION = re.compile(r"\[\d+\]")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have he her his in is it its of on or she that the "
    "their they this to was were which who will with".split()
)


def format_prompt(question: str, passages: list[str]) -> str:
    """HEADER, then one line "[i] passage" per passage numbered from 1, then the question.

    Exactly: HEADER + "".join(f"[{i}] {p}\\n" for i, p in enumerate(passages, 1)) +
    f"\\nQuestion: {question}\\nAnswer:".
    Example: format_prompt("Who?", ["Ann ran."]) == HEADER + "[1] Ann ran.\\n\\nQuestion: Who?\\nAnswer:".
    """
    # TODO(w16.prompt): return the prompt text exactly as laid out above
    raise NotImplementedError("w16.prompt: write format_prompt in exercises/week16_rag/prompt.py")


def build_prompt(
    question: str, passages: list[str], count_tokens: Callable[[str], int], budget: int
) -> tuple[str, int]:
    """The longest prefix of `passages` (best first) whose `format_prompt` fits `budget` tokens.

    Passages are taken in order while count_tokens(format_prompt(question, taken)) <= budget; the
    first one that does not fit stops the assembly (later, lower-ranked passages are not tried), so
    the citation numbers are the ranks.
    Example: with count_tokens = len (characters) and a budget that fits the first passage but not
    the first two, the result is (format_prompt(question, passages[:1]), 1).

    Returns:
        (prompt, how many passages it holds).

    Raises:
        ValueError: if even format_prompt(question, []) exceeds the budget.
    """
    # TODO(w16.prompt): return the largest prompt of the best passages that fits the budget
    raise NotImplementedError("w16.prompt: write build_prompt in exercises/week16_rag/prompt.py")


def content_words(text: str) -> set[str]:
    """`tokenize(text)` without STOPWORDS and without citation markers like "[2]" (given).

    Example: "The Eiffel tower is in Paris [2]." -> {"eiffel", "tower", "paris"}.
    """
    return set(tokenize(CITATION.sub(" ", text))) - STOPWORDS


def unsupported_sentences(answer: str, passages: list[str], threshold: float = 0.5) -> list[int]:
    """Indices of the answer's sentences (`sentence_spans`) that no passage supports.

    Lexical support: for a sentence with content words W (`content_words`) and a passage with
    tokens P (`tokenize`), support = |W & P| / |W|; the sentence is supported when the best
    passage's support is >= threshold. A sentence without content words ("It is.") is supported
    (there is nothing to check); with no passages every other sentence is unsupported.
    Example: answer "Paris is in France. Bananas are blue.", passages ["Paris is the capital of
    France."] -> [1] (sentence 0 has support 2/2, sentence 1 has 0/2).

    Returns:
        Sorted sentence indices.
    """
    # TODO(w16.prompt): return the indices of answer sentences no passage supports
    raise NotImplementedError(
        "w16.prompt: write unsupported_sentences in exercises/week16_rag/prompt.py"
    )
