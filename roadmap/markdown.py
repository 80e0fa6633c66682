"""Read a Markdown table the way GitHub does, so a check accepts every table a reader would see.

GitHub-flavoured Markdown (https://github.github.com/gfm/#tables-extension-): a header row, then a
delimiter row with one cell per header cell, each cell one or more dashes with an optional colon on
either side (`---`, `:--`, `--:`, `:-:`, `-`); the outer pipes are optional, spaces around cells are
free, `\\|` is a pipe inside a cell. The body runs to the first blank line. Checks import from here;
learners never need to.
"""

import re

DELIMITER_CELL = re.compile(r"^:?-+:?$")
PIPE = re.compile(r"(?<!\\)\|")  # a cell boundary: a pipe that is not escaped as \|


def split_row(line: str) -> list[str]:
    """The cells of one table line, stripped: `| a | b\\|c |` and `a | b\\|c` -> ["a", "b\\|c"]."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip() for cell in PIPE.split(line)]


def is_delimiter_row(line: str) -> bool:
    """True for a GFM delimiter row: a pipe somewhere and only dash cells (`|:--|--:|`, `--|--`)."""
    return "|" in line and all(DELIMITER_CELL.match(cell) for cell in split_row(line))


def parse_markdown_table(text: str) -> tuple[list[str], list[list[str]]]:
    """(header cells, body rows) of the first table in `text`; other lines around it are skipped.

    The header row holds a pipe, as the delimiter row does (GitHub and markdown-it agree). Cells are
    stripped of spaces and keep their Markdown as written (`a\\|b` stays `a\\|b`). Body rows keep
    their cells as written, also when their count differs from the header's (GitHub would pad or
    drop cells; a check wants to see them).
    Example: "# Title\\n\\n| a | b |\\n| :-- | --: |\\n| 1 | 2 |\\n" -> (["a", "b"], [["1", "2"]]).

    Raises:
        ValueError: no header row followed by a matching delimiter row; the message says what the
            text had instead.
    """
    lines = text.splitlines()
    for i in range(1, len(lines)):
        header_line, line = lines[i - 1], lines[i]
        if "|" not in header_line or not is_delimiter_row(line):
            continue
        header = split_row(header_line)
        if len(split_row(line)) != len(header):
            raise ValueError(
                f"the delimiter row {line.strip()!r} has {len(split_row(line))} cells but the "
                f"header {header_line.strip()!r} has {len(header)}: GitHub shows no table unless "
                "they match"
            )
        body = []
        for row in lines[i + 1 :]:
            if not row.strip():
                break
            body.append(split_row(row))
        return header, body
    first = [line.strip() for line in lines if line.strip()][:3]
    raise ValueError(
        "no Markdown table: expected a header row, then a delimiter row with one cell of dashes "
        "per column (| --- | --- |; a colon on either side aligns: :--, --:, :-:), then the rows; "
        f"the text starts {first}"
    )


def read_table(text: str, what: str) -> tuple[list[str], list[list[str]]]:
    """parse_markdown_table for a check: a text without a table fails the check, naming `what` (the
    call that produced the text), the reason and the text itself."""
    try:
        return parse_markdown_table(text)
    except ValueError as error:
        raise AssertionError(f"{what}: {error}; got\n{text}") from None
