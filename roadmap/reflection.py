"""The week's reflection questions in logs/weekNN.md: the manifest asks, the learner answers.

Each week lists 3-5 questions (`reflection = [...]` in curriculum/weekNN_*.toml). The log gets a
"## Reflection" section with one `### question` heading each and an answer line under it. The rule
that keeps every answer: the tracker only ever inserts. It adds a question whose heading it cannot
find anywhere in the log (any heading level, whitespace and case ignored, its own marked section
and fenced code not counted) and never changes, moves or removes a line that is already there.
New questions go at the end of the "## Reflection" section, the section itself at the end of the
log when there is none. A question reworded in the manifest is a new question: the old heading
keeps its answer and the new one is added below it. `python tracker.py reflect [WEEK]` shows them.

    add_questions("# Week 02\\n", ["Why?"])
    -> "# Week 02\\n\\n## Reflection\\n\\n<INTRO>\\n\\n### Why?\\n\\n_(your answer)_\\n"
"""

import re

from roadmap.progress import marked_span

HEADING = "## Reflection"
INTRO = (
    "Answer each question in your own words under its heading. The tracker adds a question it "
    "cannot find here and never edits or removes what you write (logs/README.md)."
)
PLACEHOLDER = "_(your answer)_"
_HEADING = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")  # a Markdown ATX heading line


def normal(title: str) -> str:
    """A heading or question as compared: whitespace collapsed, case folded ("Why  NOT?" -> "why not?")."""
    return " ".join(title.split()).casefold()


def headings(text: str) -> list[tuple[int, int, str]]:
    """(offset of the line, level, title) of every heading outside fenced code and the tracker's
    marked section, in order: "a\\n## B\\n" -> [(2, 2, "B")]."""
    found, offset, fence = [], 0, ""
    tracker = range(*(marked_span(text) or (0, 0)))
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        stripped = bare.lstrip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = "" if fence == marker else fence or marker
        elif not fence and offset not in tracker:
            match = _HEADING.fullmatch(bare)
            if match:
                found.append((offset, len(match.group(1)), match.group(2)))
        offset += len(line)
    return found


def missing(text: str, questions: list[str]) -> list[str]:
    """The questions with no heading of their own in `text`, in the manifest's order."""
    have = {normal(title) for _, _, title in headings(text)}
    out: list[str] = []
    for question in questions:
        if normal(question) not in have:
            have.add(normal(question))  # a question listed twice is added once
            out.append(question)
    return out


def add_questions(text: str, questions: list[str]) -> str:
    """`text` with every missing question inserted (see the module docstring); every byte of
    `text` is kept, in order, and `text` comes back as it is when nothing is missing."""
    new = missing(text, questions)
    if not new:
        return text
    block = "".join(f"### {q}\n\n{PLACEHOLDER}\n\n" for q in new)
    found = headings(text)
    sections = [
        i
        for i, (_, level, title) in enumerate(found)
        if (level, normal(title)) == (2, "reflection")
    ]
    if not sections:
        at, block = len(text), f"{HEADING}\n\n{INTRO}\n\n{block}"
    else:  # the end of the Reflection section: the next heading of level 1 or 2, or the end
        later = [off for off, level, _ in found[sections[0] + 1 :] if level <= 2]
        at = later[0] if later else len(text)
    before, after = text[:at], text[at:]
    newlines = len(before) - len(before.rstrip("\n"))
    gap = "\n" * max(0, 2 - newlines) if before else ""  # one blank line above what is inserted
    if not after:
        block = block.rstrip("\n") + "\n"
    return before + gap + block + after


def answers(text: str, questions: list[str]) -> dict[str, str]:
    """Each question's answer as written under its heading ("" when missing or still the
    placeholder): the text up to the next heading, stripped."""
    found = headings(text)
    out = {}
    for question in questions:
        out[question] = ""
        for i, (offset, _, title) in enumerate(found):
            if normal(title) == normal(question):
                body_start = text.index("\n", offset) + 1 if "\n" in text[offset:] else len(text)
                body_end = found[i + 1][0] if i + 1 < len(found) else len(text)
                body = text[body_start:body_end].replace(PLACEHOLDER, "").strip()
                out[question] = body
                break
    return out
