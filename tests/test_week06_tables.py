"""Week 06's tables are read as GitHub renders them: every valid delimiter row passes both checks.

`roadmap.markdown.parse_markdown_table` is compared with markdown-it-py (rich's own Markdown
parser, its GFM table rule switched on) on three delimiter forms; then a copy of the reference
whose merge_table and compression_table write each form runs through both checks that read
those tables (test_report.py and the project's test_project.py). Maintainers' tests: they run
under `pytest --impl=solutions` too.
"""

import os
import shutil
import subprocess
import sys

import pytest
from markdown_it import MarkdownIt

from roadmap import ROOT
from roadmap.markdown import parse_markdown_table

MERGE_HEADER = '"| rank | id | left | right | merged | count |"'
MERGE_DELIMITER = '"|---|---|---|---|---|---|"'
MERGE_ROW = "f\"| {rank} | {256 + rank} | {' | '.join(cells)} | {count} |\""
COMPRESSION_HEADER = '"| tokenizer | tokens | bytes/token | chars/token |"'
COMPRESSION_DELIMITER = '"|---|---|---|---|"'
COMPRESSION_ROW = 'f"| {name} | {n} | {n_bytes / n:.2f} | {len(text) / n:.2f} |"'

# each variant: (old, new) replacements in solutions/week06_tokenizers/report.py
VARIANTS = {
    "aligned": [
        (MERGE_DELIMITER, '"| --: | --: | :-- | :-- | :-- | --: |"'),
        (COMPRESSION_DELIMITER, '"| :-- | --: | --: | --: |"'),
    ],
    "centred_one_dash": [
        (MERGE_DELIMITER, '"|:-:|:-:|:-:|:-:|:-:|:-:|"'),
        (COMPRESSION_DELIMITER, '"|:-:|-:|-:|-:|"'),
    ],
    "no_outer_pipes": [
        (MERGE_HEADER, '"rank | id | left | right | merged | count"'),
        (MERGE_DELIMITER, '"--- | ---: | --- | --- | --- | ---:"'),
        (MERGE_ROW, "f\"{rank} | {256 + rank} | {' | '.join(cells)} | {count}\""),
        (COMPRESSION_HEADER, '"tokenizer | tokens | bytes/token | chars/token"'),
        (COMPRESSION_DELIMITER, '":-- | --: | --: | --:"'),
        (COMPRESSION_ROW, 'f"{name} | {n} | {n_bytes / n:.2f} | {len(text) / n:.2f}"'),
    ],
}

SAMPLE = {
    "aligned": "| rank | id | merged |\n| --: | :-- | :-: |\n| 0 | 256 | ␣t |\n| 1 | 257 | he |\n",
    "centred_one_dash": "# Merges\n\n|rank|id|merged|\n|:-:|-|:-:|\n|0|256|␣t|\n|1|257|he|\n\nend\n",
    "no_outer_pipes": "rank | id | merged\n--- | ---: | :---\n0 | 256 | ␣t\n1 | 257 | he\n",
}


def markdown_it_table(text: str) -> tuple[list[str], list[list[str]]] | None:
    """The first table of `text` as markdown-it-py's GFM table rule reads it (None: no table)."""
    rows, row = [], None
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close":
            rows.append(row)
            row = None
        elif token.type == "table_close":
            break
    return (rows[0], rows[1:]) if rows else None


@pytest.mark.parametrize("name", sorted(SAMPLE))
def test_the_parser_reads_each_delimiter_form_as_markdown_it_does(name):
    expected = markdown_it_table(SAMPLE[name])
    assert expected == (["rank", "id", "merged"], [["0", "256", "␣t"], ["1", "257", "he"]])
    assert parse_markdown_table(SAMPLE[name]) == expected


@pytest.mark.parametrize(
    "text",
    ["a\n-\n", "| a | b |\n| - |\n", "| a | b |\n| -- - | --- |\n", "| a | b |\n| 1 | 2 |\n"],
    ids=["setext_heading", "too_few_delimiter_cells", "dashes_with_a_gap", "no_delimiter_row"],
)
def test_what_github_shows_as_no_table_is_refused(text):
    assert markdown_it_table(text) is None
    with pytest.raises(ValueError):
        parse_markdown_table(text)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_both_checks_accept_the_variant(name, tmp_path):
    copy = tmp_path / "repo"
    for part in ("roadmap", "course", "checks", "solutions", "curriculum", "data"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("conftest.py", "pyproject.toml"):
        shutil.copy2(ROOT / part, copy / part)
    # the learner's tree is the reference with its tables written in the variant's form
    shutil.copytree(ROOT / "solutions", copy / "exercises")
    report = copy / "exercises" / "week06_tokenizers" / "report.py"
    text = report.read_text(encoding="utf-8")
    for old, new in VARIANTS[name]:
        assert text.count(old) == 1, f"{old} is not in solutions/week06_tokenizers/report.py once"
        text = text.replace(old, new)
    report.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_IMPL", "PYTEST_ADDOPTS")}
    checks = [
        "checks/week06_tokenizers/test_report.py",
        "checks/week06_tokenizers/test_project.py::test_project_writes_the_tables",
    ]
    pytest_args = ["-q", "-p", "no:cacheprovider", "--impl=exercises"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *checks, *pytest_args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"{name}: a valid table was rejected\n{run.stdout[-3000:]}"
    assert " passed" in run.stdout and "todo" not in run.stdout.lower(), run.stdout[-3000:]
