"""The seam: resolve a module of a week to the learner's tree or the reference tree.

Checks, projects and console commands never import `exercises` or `solutions` directly; they call
`load("week01_tensors.softmax")`, which imports `exercises.week01_tensors.softmax` or
`solutions.week01_tensors.softmax` depending on `--impl` (pytest option, command flag) or the
environment variable `LLM_IMPL`.

The import rule (`python tracker.py verify` enforces it):
- A check reaches the code of its own week only through this seam. It may import an earlier week's
  building block from `solutions` (week 08's checks build the week-05 GPT from
  `solutions.week05_gpt.model`), never `exercises`, and never its own week's `solutions` directly.
- Exercises and solutions import earlier weeks' building blocks from `solutions` (so any week can be
  started without finishing the ones before it) and their own week with relative imports (so the two
  trees stay twins). Nothing imports `exercises.` of another week.
- Given runtime (`course/`: projects, commands, data helpers) goes through this seam for the week's
  own code, so it runs on either tree.
"""

import importlib
import os
from types import ModuleType

TREES = ("exercises", "solutions")
ENV_VAR = "LLM_IMPL"


def current_tree() -> str:
    """The tree under test: `LLM_IMPL` if set, else `exercises` (the learner's own code)."""
    tree = os.environ.get(ENV_VAR, "exercises").strip() or "exercises"
    if tree not in TREES:
        raise ValueError(f"{ENV_VAR}={tree!r} is not a tree; use one of {', '.join(TREES)}")
    return tree


def set_tree(tree: str) -> None:
    """Select the tree for this process and every process it starts."""
    if tree not in TREES:
        raise ValueError(f"--impl {tree!r} is not a tree; use one of {', '.join(TREES)}")
    os.environ[ENV_VAR] = tree


def load(name: str) -> ModuleType:
    """Import `name` ("week01_tensors.softmax") from the tree under test.

    Example: with LLM_IMPL=solutions, load("week01_tensors.softmax") is
    `solutions.week01_tensors.softmax`.
    """
    return importlib.import_module(f"{current_tree()}.{name}")
