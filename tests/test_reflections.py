"""The week's reflection questions in logs/weekNN.md: the tracker inserts, the learner's text stays.

The rule under test (roadmap/reflection.py, logs/README.md): the tracker adds a question whose
heading it cannot find in the log and never changes or removes a line that is there. So an answer
survives every rerun, a reworded question keeps the old heading with its answer, a new question
appears, and a log written before the questions existed gets the section after its notes.
"""

import argparse
import dataclasses

import pytest

from roadmap import progress as progress_module
from roadmap.commands import reflect as reflect_command
from roadmap.manifest import load_manifest
from roadmap.progress import BEGIN, END, Progress, update_log
from roadmap.reflection import HEADING, PLACEHOLDER, add_questions, answers, headings, missing
from roadmap.verify import reflection_problems

MANIFEST = load_manifest()
WEEK = dataclasses.replace(
    MANIFEST.week(2), reflection=["What can the bigram not capture?", "Why do samples look so?"]
)
ANSWER = "It sees one character back, so no word ever spans more than two letters. ✓\r\n"


@pytest.fixture
def log(tmp_path, monkeypatch):
    """Logs in tmp_path (as logs/ would be), progress in tmp_path."""
    monkeypatch.setattr(progress_module, "LOGS_DIR", tmp_path)
    monkeypatch.setattr(progress_module, "PROGRESS_DIR", tmp_path)
    return tmp_path / "week02.md"


def write(week, path):
    return update_log(week, Progress(path.parent / "progress.json"), path)


def answer(path, question, text):
    """The learner replaces the placeholder under `question` with `text`."""
    data = path.read_bytes().decode("utf-8")
    at = data.index(f"### {question}")
    slot = data.index(PLACEHOLDER, at)
    path.write_bytes((data[:slot] + text + data[slot + len(PLACEHOLDER) :]).encode("utf-8"))


def test_a_new_log_asks_every_question_after_the_notes(log):
    text = write(WEEK, log).read_text(encoding="utf-8")
    notes, reflection = text.index("## My notes"), text.index(HEADING)
    assert text.index(END) < notes < reflection, "expected: tracker section, notes, reflection"
    for question in WEEK.reflection:
        assert f"### {question}\n\n{PLACEHOLDER}\n" in text, question
    assert text.endswith(f"{PLACEHOLDER}\n") and not text.endswith("\n\n")


def test_answers_survive_reruns_byte_for_byte(log):
    write(WEEK, log)
    answer(log, WEEK.reflection[0], ANSWER)
    before = log.read_bytes()
    tail = before[before.index(END.encode()) + len(END) :]
    for _ in range(3):
        write(WEEK, log)
    after = log.read_bytes()
    assert after[after.index(END.encode()) + len(END) :] == tail, "the text after the section moved"
    got = answers(after.decode("utf-8"), WEEK.reflection)
    assert got == {WEEK.reflection[0]: ANSWER.strip(), WEEK.reflection[1]: ""}, got


def test_a_new_question_is_appended_to_the_section_and_nothing_else_moves(log):
    write(WEEK, log)
    answer(log, WEEK.reflection[1], ANSWER)
    log.write_bytes(log.read_bytes() + b"\n## Later\n\nmy own section\n")  # after Reflection
    old = log.read_bytes().decode("utf-8")
    added = "What would a trigram fix?"
    write(dataclasses.replace(WEEK, reflection=[*WEEK.reflection, added]), log)
    new = log.read_bytes().decode("utf-8")
    at = new.index(f"### {added}")
    assert new.index(ANSWER) < at < new.index("## Later"), "the question belongs in its section"
    inserted = f"### {added}\n\n{PLACEHOLDER}\n\n"
    assert new[:at] + new[at + len(inserted) :] == old, "the insertion changed other text"


def test_a_reworded_question_keeps_the_old_heading_and_its_answer(log):
    write(WEEK, log)
    answer(log, WEEK.reflection[0], ANSWER)
    reworded = "What can a bigram model never capture, and why?"
    write(dataclasses.replace(WEEK, reflection=[reworded, WEEK.reflection[1]]), log)
    text = log.read_bytes().decode("utf-8")
    old_heading = f"### {WEEK.reflection[0]}\n\n{ANSWER}"
    assert old_heading in text, "the old question and its answer must stay as written"
    assert text.index(old_heading) < text.index(f"### {reworded}"), text
    assert text.count(f"### {WEEK.reflection[1]}") == 1, "an unchanged question was added twice"


def test_a_question_the_learner_reformatted_is_not_added_again(log):
    write(WEEK, log)
    text = log.read_text(encoding="utf-8")
    first = WEEK.reflection[0]
    log.write_text(text.replace(f"### {first}", f"#### {first.upper()}  ##"), encoding="utf-8")
    same = log.read_bytes()
    write(WEEK, log)
    after = log.read_bytes()
    assert after[after.index(END.encode()) :] == same[same.index(END.encode()) :], (
        "a heading that differs only in level, case, spacing or closing #s is the same question"
    )


def test_an_old_log_without_the_section_gets_it_after_the_notes(log):
    old = f"# Week 02\r\n\r\n{BEGIN}\nold\n{END}\n\n## My notes\n\nbigram = lookup table  \n"
    log.write_bytes(old.encode("utf-8"))
    write(WEEK, log)
    text = log.read_bytes().decode("utf-8")
    notes = text[text.index(END) + len(END) :]
    assert notes.startswith("\n\n## My notes\n\nbigram = lookup table  \n\n" + HEADING), notes
    assert text.startswith("# Week 02\r\n\r\n" + BEGIN)


def test_headings_in_code_fences_and_in_the_tracker_section_do_not_count():
    question = "Why?"
    text = f"{BEGIN}\n### {question}\n{END}\n\n```\n### {question}\n## Reflection\n```\n"
    assert missing(text, [question]) == [question]
    new = add_questions(text, [question])
    assert new.startswith(text), "the text before the new section must stay as it was"
    assert [h[2] for h in headings(new)] == ["Reflection", question]


def test_questions_go_into_an_existing_section_before_the_next_heading():
    text = "## Reflection\n\nmine\n## Next\n"
    assert (
        add_questions(text, ["Q?"])
        == f"## Reflection\n\nmine\n\n### Q?\n\n{PLACEHOLDER}\n\n## Next\n"
    )
    assert add_questions("", ["Q?"]).startswith(HEADING)
    assert add_questions(text, []) is text


def test_reflect_lists_the_questions_with_what_is_answered(log, capsys, monkeypatch):
    monkeypatch.setattr(MANIFEST.weeks[1], "reflection", WEEK.reflection)
    args = argparse.Namespace(week="2")
    assert reflect_command.cmd_reflect(args, MANIFEST) == 0
    assert log.exists(), "reflect creates the log with the questions when there is none"
    answer(log, WEEK.reflection[1], "because")
    capsys.readouterr()
    reflect_command.cmd_reflect(args, MANIFEST)
    out = capsys.readouterr().out
    assert f"⬜ 1. {WEEK.reflection[0]}" in out and f"✅ 2. {WEEK.reflection[1]}" in out, out
    reflect_command.cmd_reflect(argparse.Namespace(week=None), MANIFEST)
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("02 ")]
    assert line.endswith(" 1/2"), line


def test_every_ready_week_asks_three_to_five_distinct_one_line_questions():
    problems = [p for week in MANIFEST.ready_weeks() for p in reflection_problems(week)]
    assert not problems, "\n".join(problems)
    bad = dataclasses.replace(WEEK, reflection=["Same one?", "same  ONE?", "x" * 201])
    found = " ".join(reflection_problems(bad))
    assert "twice" in found and "200 characters" in found, found
    assert "3 to 5" in " ".join(reflection_problems(dataclasses.replace(WEEK, reflection=[])))
