"""The five statuses an exercise can have, shared by the runner, the progress files and the screen."""

from enum import StrEnum


class Status(StrEnum):
    """What an exercise's checks said. Values are the strings stored in progress/progress.json."""

    PASSING = "passing"
    FAILING = "failing"
    ERROR = "error"  # the checks could not run: an import error, a crash, a hang
    TODO = "todo"  # a stub still raises NotImplementedError
    NEEDS_EXTRA = "needs-extra"  # an optional dependency group is not installed

    @property
    def mark(self) -> str:
        return MARK[self]

    @property
    def style(self) -> str:
        return STYLE[self]


MARK = {
    Status.PASSING: "✅",
    Status.FAILING: "❌",
    Status.ERROR: "💥",
    Status.TODO: "⬜",
    Status.NEEDS_EXTRA: "📦",
}
STYLE = {
    Status.PASSING: "green",
    Status.FAILING: "red",
    Status.ERROR: "bold red",
    Status.TODO: "dim",
    Status.NEEDS_EXTRA: "yellow",
}
