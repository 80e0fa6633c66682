"""reports/SUMMARY.md: the whole journey on one page, rewritten by the capstone and by the tracker.

Only the section between the two marker lines is rewritten (as in logs/weekNN.md); every byte the
learner writes outside it is kept. The section holds the progress per week with the time spent and
the latest project metrics line, the capstone table (one row per stage: status, time, size,
perplexity, ARC acc, tokens/s), a link to the final model's card (evaluate/MODEL_CARD.md), the
answers of every stage's model to the same five prompts and the quality plot (copied next to the
summary as capstone_quality.png).
"""

import datetime as dt
import json
import shutil
from pathlib import Path

from roadmap import ROOT
from roadmap.progress import atomic_write

from .card import CARD, FINAL
from .hashing import read_state
from .presets import PROMPTS, STAGES

SUMMARY = ROOT / "reports" / "SUMMARY.md"
RUNS = ROOT / "runs" / "capstone"
BEGIN = (
    "<!-- summary:begin — this section is rewritten by `python tracker.py` and "
    "`python tracker.py capstone`; write your notes outside it -->"
)
END = "<!-- summary:end -->"


def time_spent(entries: list[dict]) -> str:
    """The work recorded on these exercises ("—" if none): the sum of their `seconds`.

    The tracker credits an exercise with the time since the learner's previous attempt when a new
    version of it is checked (roadmap/progress.py, Progress.record_results); merely running the
    tracker adds nothing, so a week never touched shows "—".
    """
    seconds = sum(e.get("seconds", 0.0) for e in entries)
    if seconds <= 0:
        return "—"
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def progress_lines(manifest, progress, base: Path) -> list[str]:
    lines = [
        "## Progress",
        "",
        "| week | title | passing | time spent | latest project metrics |",
        "|---|---|---:|---|---|",
    ]
    for week in manifest.weeks:
        items = week.items()
        entries = [progress.data["exercises"].get(i.id, {}) for i in items]
        passed = sum(e.get("status") == "passing" for e in entries)
        metrics = progress.data.get("metrics", {}).get(week.label, [])
        report = ROOT / "reports" / f"week{week.label}"
        latest = metrics[-1] if metrics else "—"
        if metrics and report.exists():
            latest += f" ([report]({_rel(report, base)}))"
        done = f"{passed}/{len(items)}" if week.ready else "coming"
        lines.append(f"| {week.label} | {week.title} | {done} | {time_spent(entries)} | {latest} |")
    return lines + [""]


def _rel(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        import os

        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _size(n) -> str:
    if not isinstance(n, (int, float)):
        return "—"
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def stages_seconds(runs: Path) -> float:
    """The time the finished stages took when they ran, summed (a skipped stage keeps its time)."""
    states = (read_state(runs / name) for name in STAGES)
    return sum(s.get("seconds", 0.0) for s in states if s)


def capstone_lines(runs: Path, base: Path) -> list[str]:
    states = {name: read_state(runs / name) for name in STAGES}
    if not any((runs / name).exists() for name in STAGES):
        return ["## Capstone", "", "Not run yet: `python tracker.py capstone --short`.", ""]
    eval_path = runs / "evaluate" / "eval.json"
    evals = json.loads(eval_path.read_text()) if eval_path.exists() else {}
    first = next((s for s in states.values() if s), {})
    lines = [
        "## Capstone",
        "",
        f"Preset `{first.get('preset', '?')}`, tree `{first.get('tree', '?')}`; artifacts in "
        f"`{_rel(runs, ROOT)}/<stage>/`. Perplexity on the held-out text, ARC acc with its 95 % "
        "bootstrap interval, greedy tokens/s at batch 1 (the serve row: through the API), unsafe "
        "answers: harmful or jailbreak prompts of the week-17 battery answered without a refusal.",
        "",
        "| stage | week | status | time (s) | size | perplexity | ARC acc | tokens/s | unsafe "
        "answers | notes |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for name, (week, _, _) in STAGES.items():
        s = states[name]
        if s is None:
            todo = runs / name / "todo.txt"
            status = "not run"
            if todo.exists():
                status = "todo: " + _cell(todo.read_text(encoding="utf-8").strip())
            elif (runs / name / "pending").exists():
                status = "started, not finished"
            lines.append(f"| {name} | {week} | {status} | — | — | — | — | — | — | |")
            continue
        m, e = s.get("metrics", {}), evals.get(name, {})
        ppl = f"{e['ppl']['ppl']:.2f}" if e else "—"
        acc = f"{e['acc'][0]:.2f} [{e['acc'][1]:.2f}, {e['acc'][2]:.2f}]" if e else "—"
        tps = e.get("tokens_per_s") or m.get("tokens_per_s")
        unsafe = f"{e['safety_unsafe']}/{e['safety_harmful']}" if e else "—"
        lines.append(
            f"| {name} | {week} | done | {s.get('seconds', 0):.1f} | {_size(m.get('size_bytes'))} | "
            f"{ppl} | {acc} | {f'{tps:,.0f}' if tps else '—'} | {unsafe} | {notes(name, m)} |"
        )
    lines.append(
        f"| total | | {sum(s is not None for s in states.values())}/{len(STAGES)} done | "
        f"{stages_seconds(runs):.1f} | | | | | | time the finished stages took |"
    )
    card_path = runs / "evaluate" / CARD
    if states["evaluate"] and card_path.exists():
        lines += [
            "",
            f"The final model's card (`{FINAL}/run`, written by your week-17 `model_card` with this "
            f"run's numbers): [{CARD}]({_rel(card_path, base)})",
        ]
    elif states["evaluate"]:
        lines += [
            "",
            f"No model card yet (an evaluate stage from before the card): `python tracker.py "
            f"capstone --from evaluate` writes {CARD}.",
        ]
    if evals:
        names = list(evals)
        lines += [
            "",
            "### The same five prompts, stage by stage (greedy)",
            "",
            "| prompt | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for i, prompt in enumerate(PROMPTS):
            cells = [_cell(evals[n]["answers"][i]) for n in names]
            lines.append(f"| {_cell(prompt)} | " + " | ".join(cells) + " |")
    plot = runs / "evaluate" / "quality.png"
    if plot.exists():
        shutil.copy(plot, base / "capstone_quality.png")
        lines += ["", "![quality across stages](capstone_quality.png)"]
    return lines + [""]


def _cell(text: str) -> str:
    if not text.strip():  # a tiny model often answers with spaces or nothing: show which
        return f"`{text!r}`" if text else "(nothing: stopped at once)"
    text = text.replace("|", "\\|").replace("\n", " ⏎ ").strip()
    return f"`{text[:80]}`"


def notes(name: str, m: dict) -> str:
    """The one or two numbers that say most about a stage."""
    if name == "tokenizer":
        return f"vocab {m.get('vocab')}, {m.get('bytes_per_token', 0):.2f} bytes/token"
    if name == "pretrain":
        return f"{m.get('steps')} steps, {m.get('tokens_per_s_train', 0):,.0f} train tok/s"
    if name == "sft":
        return f"answer loss {m.get('test_loss_before', 0):.3f} → {m.get('test_loss', 0):.3f}"
    if name == "lora":
        return f"{m.get('method')}: {m.get('trainable'):,} trainable of {m.get('total'):,}"
    if name == "dpo":
        return (
            f"loss {m.get('loss_first', 0):.3f} → {m.get('loss_last', 0):.3f}, held-out acc "
            f"{m.get('held_out_accuracy', 0):.2f}"
        )
    if name == "quantize":
        ggufs = [k[5:-4] for k in m if k.startswith("gguf_") and k.endswith("_ppl")]
        return "int8; GGUF " + ", ".join(f"{q} ppl {m[f'gguf_{q}_ppl']:.2f}" for q in ggufs)
    if name == "evaluate":
        return f"{m.get('models')} models, {m.get('questions')} {m.get('arc')} questions, safety battery"
    if name == "rag":
        return f"{m.get('chunks')} chunks, recall@1 {m.get('recall_at_1', 0):.2f}"
    if name == "serve":
        return f"OpenAI client reply: {_cell(str(m.get('reply', '')))}"
    return ""


def render(manifest, progress, runs: Path, base: Path) -> str:
    stamp = dt.datetime.now().astimezone().isoformat(timespec="minutes").replace("T", " ")
    return "\n".join(
        [BEGIN, "", f"_Updated {stamp}_", ""]
        + progress_lines(manifest, progress, base)
        + capstone_lines(runs, base)
        + [END]
    )


def write_summary(manifest, progress, runs: Path = RUNS, path: Path = SUMMARY) -> Path:
    """Rewrite the marked section of `path` (created if missing); keep everything else byte for
    byte. `manifest` and `progress` are the tracker's (roadmap.manifest / roadmap.progress)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    section = render(manifest, progress, runs, path.parent)
    if not path.exists():
        text = (
            f"# My LLM Roadmap journey\n\n{section}\n\n## My notes\n\n"
            "Write here what you learned along the way; only the marked section above is "
            "rewritten.\n"
        )
    else:
        with open(path, encoding="utf-8", newline="") as f:  # keep the learner's line endings
            text = f.read()
        start = text.find(BEGIN)
        stop = text.find(END, start + len(BEGIN)) if start != -1 else -1
        if start != -1 and stop != -1:
            text = text[:start] + section + text[stop + len(END) :]
        else:  # no intact marker pair: a fresh section on top, every byte below it kept
            text = section + "\n\n" + text
    atomic_write(path, text)
    return path
