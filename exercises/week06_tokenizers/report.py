"""Make a BPE readable: token bytes as text, the merge table, and a char-vs-BPE compression table.

Tokens are bytes, and many are not valid UTF-8 on their own (half of "é"), or are whitespace you
cannot see in a table. `show_bytes` makes every token visible; the tables are Markdown.
Check: `python tracker.py check w06.report`
"""

from .tokenizer import build_vocab


def show_bytes(token: bytes) -> str:
    """A token's bytes as visible text for a Markdown table.

    Rules, applied after decoding UTF-8 with invalid bytes kept as `\\xNN`: a space becomes "␣",
    "|" becomes "\\|", and any other non-printable character is written as its Python escape.
    Examples: b" the" -> "␣the"; b"\\n\\n" -> "\\n\\n" (backslash-n, twice); b"\\xe2\\x82" (the
    first two bytes of "€") -> "\\xe2\\x82"; b"a|b" -> "a\\|b"; "é".encode() -> "é".
    """
    # TODO(w06.report): return the token as text a reader sees whole in a table cell, by the rules.
    raise NotImplementedError(
        "w06.report: write show_bytes in exercises/week06_tokenizers/report.py"
    )


def merge_table(merges: list[tuple[tuple[int, int], int]], top: int | None = None) -> str:
    """A Markdown table of the learned merges, one row per merge in rank order.

    Columns: rank | id | left | right | merged | count, where left/right/merged are show_bytes of
    the tokens and count is the pair's frequency when it was merged. `top` keeps the first rows.
    The result is a GitHub-flavoured Markdown table: a header row, a delimiter row (any valid
    one: |---|---|, | :-- | --: |, |:-:|), then the rows. The checks read it as GitHub renders it,
    so spacing, outer pipes and alignment are yours to choose; the cells must match exactly.
    Example: merges [((97, 97), 4)] gives the row "| 0 | 256 | a | a | aa | 4 |".

    Args:
        merges: the output of train_bpe: ((left id, right id), count) in rank order.
        top: the number of rows to keep (all when None).
    """
    # TODO(w06.report): return the merge table above, one row per merge (the first `top`).
    raise NotImplementedError(
        "w06.report: write merge_table in exercises/week06_tokenizers/report.py"
    )


def compression_table(text: str, tokenizations: dict[str, list[int]]) -> str:
    """A Markdown table comparing token counts of `text`, with a one-token-per-character baseline.

    Columns: tokenizer | tokens | bytes/token | chars/token (two decimals). The first row is
    "char" (len(text) tokens), then one row per entry of `tokenizations`, in order.
    The result is a GitHub-flavoured Markdown table: a header row, a delimiter row (any valid
    one: |---|---|, | :-- | --: |, |:-:|), then the rows. The checks read it as GitHub renders it,
    so spacing, outer pipes and alignment are yours to choose; the cells must match exactly.
    Example: text "héllo" (5 characters, 6 UTF-8 bytes), {"bpe": [7, 8]} gives the rows
    "| char | 5 | 1.20 | 1.00 |" and "| bpe | 2 | 3.00 | 2.50 |".
    """
    # TODO(w06.report): return the compression table above, the char baseline first.
    raise NotImplementedError(
        "w06.report: write compression_table in exercises/week06_tokenizers/report.py"
    )
