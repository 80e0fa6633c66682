"""verify's one stub form (roadmap.verify.stub_form_problems): a good stub passes, each kind of bad
stub is reported as file:line with what is wrong. Maintainers' tests: `pytest tests/test_stub_form.py`.
"""

import pytest

from roadmap.manifest import load_manifest
from roadmap.verify import check_stub_form, stub_form_problems

REL = "exercises/week01_tensors/demo.py"
IDS = ["w01.demo", "w01.other"]

GOOD = '''\
"""What the file builds.

Check: `python tracker.py check w01.demo`
"""

import torch


def double(x: torch.Tensor) -> torch.Tensor:
    """Twice `x`, same shape. Example: [1., 2.] -> [2., 4.]. Raises nothing."""
    # TODO(w01.demo): return a tensor twice as large as x
    raise NotImplementedError("w01.demo: write double in exercises/week01_tensors/demo.py")


class Counter:
    """Given code."""

    def __init__(self) -> None:
        self.n = 0

    def bump(self, k: int) -> int:
        """Add k >= 0 and return the total. Example: bump(2) then bump(3) -> 5.

        Raises:
            ValueError: if k < 0.
        """
        # TODO(w01.other): keep a running total that rejects negative steps
        raise NotImplementedError(
            "w01.other: write Counter.bump in exercises/week01_tensors/demo.py"
        )


def given(x):
    """Code the learner does not write has no TODO and is not a stub."""
    return x
'''


def problems_of(source: str, ids=IDS) -> list[str]:
    return stub_form_problems(source, REL, ids)


def test_a_good_file_has_no_problem():
    assert problems_of(GOOD) == []


def test_several_exercises_may_share_one_check_line_with_then():
    source = GOOD.replace("check w01.demo`\n", "check w01.demo` (then w01.other)\n")
    assert problems_of(source) == []


def test_a_stub_without_a_docstring_is_reported_at_its_def():
    source = GOOD.replace(
        '    """Twice `x`, same shape. Example: [1., 2.] -> [2., 4.]. Raises nothing."""\n', ""
    )
    (problem,) = problems_of(source)
    assert problem.startswith(f"{REL}:9: double is a stub without a docstring")


def test_a_stub_without_a_todo_is_reported():
    source = GOOD.replace("    # TODO(w01.demo): return a tensor twice as large as x\n", "")
    (problem,) = problems_of(source)
    assert problem.startswith(f"{REL}:9: double has no `# TODO(<exercise id>): ...` line")


def test_two_todo_lines_are_reported_at_the_second():
    source = GOOD.replace(
        "    # TODO(w01.demo): return a tensor twice as large as x\n",
        "    # TODO(w01.demo): return a tensor twice as large as x\n    x = x\n"
        "    # TODO(w01.demo): and keep its dtype\n",
    )
    (problem,) = problems_of(source)
    assert problem.startswith(f"{REL}:13: double has 2 TODO lines; keep exactly one")


def test_a_todo_that_runs_over_two_lines_is_reported():
    source = GOOD.replace(
        "twice as large as x\n", "twice as large as x,\n    # by multiplying it by 2\n"
    )
    (problem,) = problems_of(source)
    assert problem.startswith(f"{REL}:12: double's TODO goes on over a second comment line")


@pytest.mark.parametrize(
    "todo",
    ["# TODO: return twice x", "# TODO(w01.demo) return twice x", "# todo(w01.demo): twice TODO"],
)
def test_a_todo_without_the_exercise_id_form_is_reported(todo):
    source = GOOD.replace("# TODO(w01.demo): return a tensor twice as large as x", todo)
    (problem,) = problems_of(source)
    assert problem.startswith(f"{REL}:11: double's TODO must read `# TODO(<exercise id>)")


def test_a_todo_naming_another_files_exercise_is_reported():
    source = GOOD.replace("# TODO(w01.demo):", "# TODO(w01.softmax):")
    problems = problems_of(source)
    assert problems[0].startswith(f"{REL}:11: double's TODO names w01.softmax, not an exercise")


@pytest.mark.parametrize(
    "raise_line",
    [
        'raise NotImplementedError("w01.demo: double")',  # the short form
        "raise NotImplementedError",  # bare
        'raise NotImplementedError("w01.demo: write double in exercises/week01_tensors/other.py")',
        'raise NotImplementedError("w01.other: write double in exercises/week01_tensors/demo.py")',
        'raise NotImplementedError(f"w01.demo: write double in {__file__}")',
    ],
)
def test_a_raise_in_another_form_is_reported_with_the_expected_text(raise_line):
    source = GOOD.replace(
        'raise NotImplementedError("w01.demo: write double in exercises/week01_tensors/demo.py")',
        raise_line,
    )
    (problem,) = problems_of(source)
    assert problem.startswith(
        f'{REL}:12: double must raise NotImplementedError("w01.demo: write double in {REL}")'
    )


def test_a_method_raise_must_name_class_and_method():
    source = GOOD.replace("write Counter.bump in", "write bump in")
    (problem,) = problems_of(source)
    assert 'must raise NotImplementedError("w01.other: write Counter.bump in' in problem


@pytest.mark.parametrize(
    "check_line",
    [
        "Check: `pytest checks/week01_tensors/test_demo.py`",  # the old pytest form
        "Check: `python tracker.py check w01.demo` now",
        "",
    ],
)
def test_a_module_docstring_without_the_check_line_is_reported(check_line):
    source = GOOD.replace("Check: `python tracker.py check w01.demo`", check_line)
    (problem,) = problems_of(source)
    assert problem.startswith(f"{REL}:")
    assert (
        "the module docstring must end with the line Check: `python tracker.py check w01.demo`"
        in problem
    )


def test_a_check_line_that_is_not_the_last_line_is_reported():
    source = GOOD.replace("w01.demo`\n", "w01.demo`\nMore text.\n", 1)
    (problem,) = problems_of(source)
    assert problem.startswith(f"{REL}:4: the module docstring must end with the line Check:")


def test_a_check_line_naming_a_stranger_is_reported():
    source = GOOD.replace("check w01.demo`", "check w02.demo`")
    (problem,) = problems_of(source)
    assert "the Check line names w02.demo, not an exercise of this file" in problem


def test_a_module_without_a_docstring_is_reported():
    source = GOOD.split('"""\n\n', 1)[1]
    (problem,) = problems_of(source)
    assert problem.startswith(f"{REL}:1: no module docstring")


def test_a_stub_in_a_file_the_manifest_does_not_list_is_reported():
    problems = problems_of(GOOD, ids=[])
    assert any("not an exercise of this file (none" in p for p in problems)


def test_verify_runs_the_rule_over_the_course():
    """check_stub_form reads every exercise file; its lines all have the file:line form."""
    manifest = load_manifest()
    for problem in check_stub_form(manifest):
        assert problem.startswith("exercises/") and problem.split(":")[1].isdigit(), problem
