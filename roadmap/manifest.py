"""Read the manifest, `curriculum/index.toml` plus one `curriculum/<week slug>.toml` per week, into
plain dataclasses. It is the one list of weeks and exercises; the file format is described at the top
of the index."""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from roadmap import ROOT

MANIFEST_DIR = ROOT / "curriculum"
INDEX = MANIFEST_DIR / "index.toml"


class NotInManifest(KeyError):
    """A week or exercise named on the command line is not in the manifest (or not ready)."""


@dataclass
class Exercise:
    """One exercise (or a week's project, kind == "project") as the manifest states it."""

    id: str  # "w01.softmax"
    title: str
    week: int
    slug: str  # the week's package, "week01_tensors"
    file: str  # path inside a tree ("week01_tensors/softmax.py"); a project's file is in course/
    functions: list[str]
    checks: list[str]  # repository-relative check files
    prerequisites: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    difficulty: int = 1
    minutes: int = 30
    extras: list[str] = field(default_factory=list)
    kind: str = "exercise"  # or "project"
    produces: str = ""  # projects only: what the run leaves in reports/

    def path(self, tree: str) -> Path:
        """Absolute path of this item's file in `tree` ("exercises", "solutions" or "course")."""
        return ROOT / tree / self.file

    @property
    def module(self) -> str:
        """Module name inside a tree, for roadmap.impl.load: "week01_tensors.softmax"."""
        return self.file.removesuffix(".py").replace("/", ".")


@dataclass
class Week:
    number: int
    slug: str
    title: str
    phase: str
    status: str  # "ready" or "coming"
    extras: list[str]
    summary: str
    exercises: list[Exercise]
    project: Exercise | None
    reflection: list[str] = field(default_factory=list)  # questions for logs/weekNN.md

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def label(self) -> str:
        return f"{self.number:02d}"

    def items(self) -> list[Exercise]:
        """Exercises in order, then the project."""
        return self.exercises + ([self.project] if self.project else [])


@dataclass
class Manifest:
    weeks: list[Week]

    def ready_weeks(self) -> list[Week]:
        return [week for week in self.weeks if week.ready]

    def all_items(self) -> list[Exercise]:
        return [item for week in self.ready_weeks() for item in week.items()]

    def week(self, key: str | int) -> Week:
        """A week by number ("4", "04", 4) or slug ("week04_attention")."""
        for week in self.weeks:
            if str(key) in (week.slug, str(week.number), week.label):
                return week
        raise NotInManifest(f"no week {key!r} in the manifest; weeks are 1..{len(self.weeks)}")

    def item(self, exercise_id: str) -> Exercise:
        for item in self.all_items():
            if item.id == exercise_id:
                return item
        raise NotInManifest(
            f"no exercise {exercise_id!r} in the manifest; `python tracker.py list` shows them"
        )

    def select(self, key: str | None) -> list[Exercise]:
        """Items for a command argument: None (all ready), a week, or an exercise id."""
        if key is None:
            return self.all_items()
        if key.startswith("w") and "." in key:
            return [self.item(key)]
        week = self.week(key)
        if not week.ready:
            raise NotInManifest(f"week {week.label} ({week.title}) is coming, not ready yet")
        return week.items()


def unwrap(text: str) -> str:
    """A hint as written in the manifest (a literal string wrapped at ~100 columns) as one paragraph
    per blank-line-separated block."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _item(raw: dict, week: dict, kind: str) -> Exercise:
    return Exercise(
        id=raw["id"],
        title=raw["title"],
        week=week["number"],
        slug=week["slug"],
        file=raw["file"],
        functions=list(raw.get("functions", [])),
        checks=list(raw["checks"]),
        prerequisites=list(raw.get("prerequisites", [])),
        hints=[unwrap(h) for h in raw.get("hints", [])],
        difficulty=int(raw.get("difficulty", 1)),
        minutes=int(raw.get("minutes", 30)),
        extras=sorted(set(week.get("extras", [])) | set(raw.get("extras", []))),
        kind=kind,
        produces=raw.get("produces", ""),
    )


def week_file(slug: str, root: Path = MANIFEST_DIR) -> Path:
    """The manifest file of one week: curriculum/week06_tokenizers.toml."""
    return root / f"{slug}.toml"


def load_manifest(root: Path = MANIFEST_DIR) -> Manifest:
    with open(root / "index.toml", "rb") as f:
        index = tomllib.load(f)
    phases = index.get("phases", {})
    weeks = []
    for slug in index["weeks"]:
        with open(week_file(slug, root), "rb") as f:
            w = tomllib.load(f)
        if w.get("slug") != slug:
            raise ValueError(f"{week_file(slug, root)}: slug {w.get('slug')!r} must be {slug!r}")
        project = w.get("project")
        weeks.append(
            Week(
                number=w["number"],
                slug=w["slug"],
                title=w["title"],
                phase=phases.get(str(w["phase"]), str(w["phase"])),
                status=w["status"],
                extras=list(w.get("extras", [])),
                summary=w.get("summary", ""),
                exercises=[_item(e, w, "exercise") for e in w.get("exercises", [])],
                project=_item(project, w, "project") if project else None,
                reflection=[unwrap(q) for q in w.get("reflection", [])],
            )
        )
    return Manifest(weeks)
