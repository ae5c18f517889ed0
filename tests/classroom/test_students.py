"""A student's display name: the rule, its problems as codes, the run names made from it."""

import pytest

from bachlstm.classroom import students
from bachlstm.classroom.students import StudentNameError, default_run_name, run_stem, validate_student_name
from bachlstm.model.checkpoints import validate_run_name


@pytest.mark.parametrize(
    ("raw", "kept"),
    [("Anna", "Anna"), ("  Jürgen   O. ", "Jürgen O."), ("Zoë", "Zoë"), ("D'Arcy", "D'Arcy"), ("李", "李")],
    ids=["plain", "spaces", "accent", "apostrophe", "cjk"],
)
def test_usable_names_are_kept_tidied(raw, kept):
    assert validate_student_name(raw) == kept


@pytest.mark.parametrize(
    ("raw", "code", "values"),
    [
        ("", students.EMPTY, {}),
        ("  - . ", students.EMPTY, {}),
        ("a" * 31, students.TOO_LONG, {"max": 30, "length": 31}),
        ("<b>Anna</b>", students.BAD_CHARACTERS, {"chars": "/<>"}),
        ("Anna&Ben", students.BAD_CHARACTERS, {"chars": "&"}),
    ],
    ids=["empty", "punctuation-only", "too-long", "markup", "ampersand"],
)
def test_unusable_names_are_codes_with_values(raw, code, values):
    with pytest.raises(StudentNameError) as caught:
        validate_student_name(raw)
    assert (caught.value.code, caught.value.values) == (code, values)


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("Anna", "anna"),
        ("Jürgen O.", "juergen-o"),
        ("Zoë Weiß", "zoe-weiss"),
        ("李", "student"),
        ("a" * 30, "a" * 20),
    ],
    ids=["plain", "umlaut", "eszett", "cjk", "long"],
)
def test_run_names_are_made_from_the_student_name(name, stem):
    assert run_stem(name) == stem
    assert validate_run_name(default_run_name(name, "workshop")) == f"{stem}-workshop-1"


def test_next_run_name():
    assert students.next_run_name("my-run-1", set()) == "my-run-2"
    assert students.next_run_name("my-run-1", {"my-run-2", "my-run-3"}) == "my-run-4"
    assert students.next_run_name("tiny", set()) == "tiny-2"
    assert students.next_run_name("run9", set()) == "run-10"
    assert students.next_run_name("42", set()) == "42-2"
