"""Generate a week's notebook from the manifest and the week's handout (exercises/weekNN_topic/README.md).

`python tracker.py notebooks` writes notebooks/weekNN_topic.ipynb for every ready week; `verify` fails
when a committed notebook is stale. Cell ids are fixed, so the output is byte-for-byte reproducible.
"""

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from roadmap import ROOT
from roadmap.manifest import Week

NOTEBOOK_DIR = ROOT / "notebooks"


def handout_path(week: Week) -> Path:
    return ROOT / "exercises" / week.slug / "README.md"


def build(week: Week) -> nbformat.NotebookNode:
    handout = handout_path(week).read_text(encoding="utf-8") if handout_path(week).exists() else ""
    cells = [
        new_markdown_cell(
            f"# Week {week.label} — {week.title}\n\n{week.summary}\n\n"
            f"_Generated from `curriculum/` and `exercises/{week.slug}/README.md` by "
            "`python tracker.py notebooks`: edit those, not this notebook. Run it from the repository root._"
        ),
    ]
    # one markdown cell per "## " section of the handout
    body = re.sub(r"\A# [^\n]*\n", "", handout).strip()
    for section in re.split(r"\n(?=## )", body):
        if section.strip():
            cells.append(new_markdown_cell(section.strip()))
    cells.append(
        new_code_cell(
            'from roadmap.impl import load, set_tree\n\nset_tree("exercises")  # or "solutions" to run the reference'
        )
    )
    for item in week.items():
        hints = "\n".join(
            f"<details><summary>Hint {n}</summary>\n\n{hint}\n\n</details>\n"
            for n, hint in enumerate(item.hints, 1)
        )
        what = (
            f"`{', '.join(item.functions)}` in `exercises/{item.file}`"
            if item.kind == "exercise"
            else item.produces
        )
        cells.append(
            new_markdown_cell(
                f"## `{item.id}` — {item.title}\n\n{what}. Difficulty {item.difficulty}/3, about {item.minutes} minutes.\n\n{hints}"
            )
        )
        if item.kind == "exercise":
            cells.append(new_code_cell(f'mod = load("{item.module}")\nhelp(mod)'))
            cells.append(new_code_cell(f"!python tracker.py check {item.id}"))
        else:
            cells.append(new_code_cell(f"!python tracker.py project {week.number} --short"))
    for i, cell in enumerate(cells):
        cell["id"] = f"{week.slug}-{i:02d}"
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    return notebook


def render(week: Week) -> str:
    return nbformat.writes(build(week)) + "\n"


def path_for(week: Week) -> Path:
    return NOTEBOOK_DIR / f"{week.slug}.ipynb"
