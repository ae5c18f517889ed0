"""A student's name on the pages (AppTest): asked once, kept in the session and the address, recorded."""

from bachlstm.classroom.records import ClassRecords
from tests.app.helpers import fresh_caches, new_app, open_app  # noqa: F401 (autouse fixture)

HOME_TITLE = "bachlstm: an LSTM writes Bach-like melodies"


def titles(at) -> list[str]:
    return [t.value for t in at.title]


def _submit(at):
    (button,) = [b for b in at.button if b.label == "Continue"]
    return button.click().run()


def test_a_first_visit_asks_for_a_name_and_shows_the_page_once_given():
    at = new_app(student=None)
    at.run()
    assert not at.exception
    assert titles(at) == ["Welcome to bachlstm"]  # the page waits for a name
    at.text_input(key="student_name_input").input("  Anna   M. ")
    _submit(at)
    assert not at.exception and not at.error
    assert titles(at) == [HOME_TITLE]
    assert at.session_state["student"] == "Anna M."
    assert at.query_params["student"] == "Anna M."  # a reload or a bookmark comes back as Anna M.
    assert [s.name for s in ClassRecords().students()] == ["Anna M."]
    assert any(c.value == "Student: **Anna M.**" for c in at.sidebar.caption)


def test_an_unusable_name_gets_a_sentence_and_nothing_is_recorded():
    at = new_app(student=None)
    at.run()
    at.text_input(key="student_name_input").input("<b>Anna</b>")
    _submit(at)
    assert [e.value for e in at.error] == [
        "A name can have letters, digits, spaces, hyphens, apostrophes and dots, but not / < >."
    ]
    assert titles(at) == ["Welcome to bachlstm"] and "student" not in at.session_state
    at.text_input(key="student_name_input").input("   ")
    _submit(at)
    assert [e.value for e in at.error] == ["Please type your name: at least one letter or digit."]
    at.text_input(key="student_name_input").input("x" * 31)
    _submit(at)
    assert [e.value for e in at.error] == ["A name can have at most 30 characters; this one has 31."]
    assert ClassRecords().students() == []


def test_the_address_opens_the_app_as_that_student_on_every_page():
    at = open_app("app_pages/training.py", student="Ben")
    assert not at.exception and titles(at) == ["Training"]
    assert at.session_state["student"] == "Ben"
    at.switch_page("app_pages/sampling.py").run()
    assert at.query_params["student"] == "Ben"  # put back after a page switch
    assert [s.name for s in ClassRecords().students()] == ["Ben"]


def test_a_bad_name_in_the_address_is_said_and_the_name_asked():
    at = new_app(student="Ben<script>")
    at.run()
    assert [e.value for e in at.error] == [
        "The name in the address cannot be used: A name can have letters, digits, spaces, hyphens, "
        "apostrophes and dots, but not < >."
    ]
    assert titles(at) == ["Welcome to bachlstm"]


def test_a_shared_laptop_can_change_the_name():
    at = open_app(student="Cleo")
    at.sidebar.button(key="student_change").click().run()
    assert titles(at) == ["Welcome to bachlstm"] and "student" not in at.query_params
    at.text_input(key="student_name_input").input("Dana")
    _submit(at)
    assert at.session_state["student"] == "Dana" and at.query_params["student"] == "Dana"
    assert [s.name for s in ClassRecords().students()] == ["Cleo", "Dana"]


def test_damaged_records_are_said_and_the_pages_keep_working(tmp_path, monkeypatch):
    bad = tmp_path / "class.sqlite3"
    bad.write_bytes(b"not a database, " * 100)
    monkeypatch.setenv("BACHLSTM_CLASS_DB", str(bad))
    at = open_app(student="Emil")
    assert not at.exception
    assert titles(at) == [HOME_TITLE] and at.session_state["student"] == "Emil"
    assert any("The class's records (class.sqlite3) are damaged" in w.value for w in at.warning)
    assert bad.read_bytes() == b"not a database, " * 100  # nothing saved is lost


def test_a_name_in_another_case_is_the_same_student():
    open_app(student="Anna")
    at = open_app(student="anna")
    assert at.session_state["student"] == "Anna" and at.query_params["student"] == "Anna"
    assert [s.name for s in ClassRecords().students()] == ["Anna"]
