"""Learner-facing text survives the trip to the screen, and reset restores only one exercise.

Hints and check messages pass through rich, which reads `[...]` as markup: every hint of every week
must print intact, brackets and all.
"""

import pytest

from roadmap.commands.learn import show_hints
from roadmap.commands.reset import restore_functions
from roadmap.manifest import load_manifest
from roadmap.progress import Progress
from roadmap.ui import say, teaching_line

MANIFEST = load_manifest()
ITEMS = [item for week in MANIFEST.weeks for item in week.items()]


@pytest.mark.parametrize("item", ITEMS, ids=[item.id for item in ITEMS])
def test_every_hint_prints_intact(item, tmp_path, capsys):
    progress = Progress(tmp_path / "progress.json")
    for _ in item.hints:
        show_hints(item, progress)
    out = " ".join(capsys.readouterr().out.split())
    for n, hint in enumerate(item.hints, 1):
        assert " ".join(hint.split()) in out, f"hint {n} of {item.id} lost text on the way:\n{out}"


def test_messages_with_brackets_print_intact(capsys):
    from roadmap.ui import esc

    say(f"    {esc('y = part[i + 1 : i + T + 1] and [bold] and x[:, None]')}")
    assert "y = part[i + 1 : i + T + 1] and [bold] and x[:, None]" in capsys.readouterr().out


def test_status_line_is_the_teaching_message_not_a_dump():
    message = (
        "test_softmax_rows: softmax(x) for x (2, 7, 5): 3 of 70 values differ\n"
        "  likely cause: subtract the row max before exp"
    )
    line = teaching_line(message)
    assert "3 of 70 values differ" in line and "likely cause: subtract the row max" in line
    dump = teaching_line("test_x: assert tensor([1., 2.]) == tensor([1., 3.])\n  +  where ...")
    assert "assert tensor" not in dump and "check <id>" in dump


STUB = '''import torch


def first(x):
    """Doc."""
    # TODO(w99.a): write it
    raise NotImplementedError("w99.a: write first")


def second(x):
    """Doc."""
    # TODO(w99.b): write it
    raise NotImplementedError("w99.b: write second")
'''


def test_reset_of_one_exercise_keeps_its_neighbour():
    mine = STUB.replace(
        '    # TODO(w99.a): write it\n    raise NotImplementedError("w99.a: write first")',
        "    return x + 1",
    ).replace(
        '    # TODO(w99.b): write it\n    raise NotImplementedError("w99.b: write second")',
        "    y = x * 2\n    return y",
    )
    restored = restore_functions(mine, STUB, {"first"})
    assert 'NotImplementedError("w99.a' in restored, restored
    assert "y = x * 2" in restored and "return x + 1" not in restored, restored


def test_reset_refuses_a_file_that_does_not_parse():
    with pytest.raises(ValueError, match="does not parse"):
        restore_functions("def first(:\n", STUB, {"first"})
