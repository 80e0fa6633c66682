"""Text cleaning and quality filters: the heuristics that decide which web text is worth training on.

Normalisation (Unicode NFKC, line ends, white space), quality signals in the spirit of Gopher's
rules (Rae et al. 2021, appendix A: word count, symbol ratio, repeated lines, stop words) and a
whole-word blocklist. Every rule is a plain function of the text, so a filter's decision can be
explained and tested.
Check: `python tracker.py check w10.clean`
"""

import re
import unicodedata

# A small English stop-word list: real text is full of them, boilerplate and code are not.
STOPWORDS = frozenset(
    "the be to of and a in that have i it for not on with he as you do at this but his by from "
    "they we say her she or an will my one all would there their what so up out if about who get "
    "which go me is are was were".split()
)
# characters stripped from both ends of a word before it is compared with STOPWORDS
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def normalize_text(text: str) -> str:
    """Normalise a document before filtering and dedup, in this order:

    1. Unicode NFKC (`unicodedata.normalize("NFKC", text)`: full-width letters, ligatures and
       non-breaking spaces become their plain forms);
    2. line ends "\\r\\n" and "\\r" become "\\n";
    3. within each line, every run of spaces and tabs becomes one space, and each line is stripped
       of leading and trailing spaces and tabs (only those two: a form feed or vertical tab stays,
       and lines are split at "\n" only, not by str.splitlines);
    4. three or more consecutive newlines become two (at most one empty line in a row);
    5. the whole text is stripped of leading and trailing white space.

    Example: "  Hello\\t\\tworld \\r\\n\\r\\n\\r\\n\\uff21BC  " -> "Hello world\\n\\nABC".

    Args:
        text: any string.

    Returns:
        the normalised string ("" for a text of white space only).
    """
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # NFKC turned non-breaking spaces into plain spaces, so [ \t] covers every in-line blank here
    lines = [re.sub(r"[ \t]+", " ", line).strip(" \t") for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def quality_signals(text: str) -> dict[str, float]:
    """The numbers the quality filter looks at, for one (normalised) document.

    Words are `text.split()`. Returns a dict with exactly these keys:
      n_words: the number of words.
      mean_word_length: mean number of characters per word (0.0 with no words).
      symbol_ratio: among the non-white-space characters, the fraction that are not alphanumeric
        (`not c.isalnum()`); 0.0 for a text with none.
      duplicate_line_fraction: among the non-empty lines (after `line.strip()`), the fraction that
        repeat an earlier non-empty line exactly; 0.0 with no non-empty line. Lines "a", "b", "a",
        "a" -> 2/4; lines "a b", "  a b  ", "c", "" -> 1/3 (compared after the strip).
      stopword_fraction: the fraction of words that, lower-cased and stripped of PUNCTUATION at
        both ends, are in STOPWORDS; 0.0 with no words.

    Args:
        text: a document.

    Returns:
        the dict of five floats (n_words too is a float).
    """
    words = text.split()
    n_words = len(words)
    mean_len = sum(len(w) for w in words) / n_words if n_words else 0.0
    chars = [c for c in text if not c.isspace()]
    symbols = sum(1 for c in chars if not c.isalnum())
    symbol_ratio = symbols / len(chars) if chars else 0.0
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    seen: set[str] = set()
    dup = 0
    for line in lines:
        if line in seen:
            dup += 1
        seen.add(line)
    dup_frac = dup / len(lines) if lines else 0.0
    stop = sum(1 for w in words if w.lower().strip(PUNCTUATION) in STOPWORDS)
    stop_frac = stop / n_words if n_words else 0.0
    return dict(
        n_words=float(n_words),
        mean_word_length=float(mean_len),
        symbol_ratio=float(symbol_ratio),
        duplicate_line_fraction=float(dup_frac),
        stopword_fraction=float(stop_frac),
    )


def passes_quality(
    text: str,
    *,
    min_words: int = 20,
    max_words: int = 100_000,
    min_mean_word_length: float = 2.0,
    max_mean_word_length: float = 10.0,
    max_symbol_ratio: float = 0.1,
    max_duplicate_line_fraction: float = 0.3,
    min_stopword_fraction: float = 0.05,
) -> tuple[bool, str]:
    """Apply the quality rules to `quality_signals(text)`, in this order, and stop at the first
    that fails; every bound is inclusive (a value equal to a bound passes):

      "too_short"       n_words < min_words
      "too_long"        n_words > max_words
      "word_length"     mean_word_length outside [min_mean_word_length, max_mean_word_length]
      "symbols"         symbol_ratio > max_symbol_ratio
      "repetition"      duplicate_line_fraction > max_duplicate_line_fraction
      "not_language"    stopword_fraction < min_stopword_fraction

    Each bound is the keyword argument's value (the defaults above are only defaults).
    Example: a 28-word plain English text -> (True, ""); the same with max_words=27 -> (False,
    "too_long"); with max_symbol_ratio set to its own symbol ratio it passes, set just below it
    fails with "symbols". A text that breaks both "symbols" and "repetition" -> (False, "symbols").

    Returns:
        (True, "") if every rule passes, else (False, the name of the first rule that failed).
    """
    s = quality_signals(text)
    if s["n_words"] < min_words:
        return False, "too_short"
    if s["n_words"] > max_words:
        return False, "too_long"
    if not min_mean_word_length <= s["mean_word_length"] <= max_mean_word_length:
        return False, "word_length"
    if s["symbol_ratio"] > max_symbol_ratio:
        return False, "symbols"
    if s["duplicate_line_fraction"] > max_duplicate_line_fraction:
        return False, "repetition"
    if s["stopword_fraction"] < min_stopword_fraction:
        return False, "not_language"
    return True, ""


def blocklist_hits(text: str, blocklist: set[str] | list[str]) -> list[str]:
    """The blocked words that occur in `text` as whole words, case-insensitively.

    A word is a maximal run of word characters (the regular expression `\\w+`), lower-cased; a
    blocked entry matches a word exactly, never a part of one ("class" does not contain the
    blocked word "ass": the Scunthorpe problem). Entries of `blocklist` are lower-cased too.

    Example: blocklist_hits("Damn, damn and ass-hat!", ["ass", "Damn"]) -> ["ass", "damn"];
    blocklist_hits("A classic assessment.", ["ass"]) -> [].

    Returns:
        the sorted list of distinct blocked words found ([] for a clean text).
    """
    blocked = {w.lower() for w in blocklist}
    words = set(re.findall(r"\w+", text.lower()))
    return sorted(words & blocked)
