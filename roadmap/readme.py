"""The README's week table, generated from curriculum/ (`python tracker.py readme`)."""

from roadmap import ROOT
from roadmap.manifest import Manifest

README = ROOT / "README.md"
BEGIN = "<!-- weeks:begin (generated from curriculum/ by `python tracker.py readme`) -->"
END = "<!-- weeks:end -->"


def week_table(manifest: Manifest) -> str:
    lines = ["| week | phase | topic | what you build | status |", "|---|---|---|---|---|"]
    for week in manifest.weeks:
        status = f"ready ({len(week.exercises)} exercises)" if week.ready else "coming"
        lines.append(f"| {week.label} | {week.phase} | {week.title} | {week.summary} | {status} |")
    return "\n".join(lines)


def render(manifest: Manifest, text: str) -> str:
    start, stop = text.index(BEGIN), text.index(END)
    return text[: start + len(BEGIN)] + "\n" + week_table(manifest) + "\n" + text[stop:]
