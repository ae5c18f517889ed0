"""The class board in AppTest: newest first, filters, Listen, downloads, links, removal by the owner or
the teacher only, the projector's one large melody with next and previous."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from bachlstm.classroom.records import ClassRecords
from bachlstm.music.events import Event
from tests.app.helpers import fresh_caches, new_app  # noqa: F401

PAGE = "app_pages/board.py"


def melody(*midis: int) -> dict:
    events = [Event("note", 1.0, pitch="C", octave=m // 12 - 1, midi=m, measure=1) for m in midis]
    return {"events": [e.to_dict() for e in events], "n_primer": 0, "key_sharps": 0}


@pytest.fixture
def board(tmp_path, monkeypatch) -> ClassRecords:
    """Three shared melodies: Anna's top-p (with its link), Ben's greedy, Anna's temperature (newest)."""
    monkeypatch.setenv("BACHLSTM_CLASS_DB", str(tmp_path / "class.sqlite3"))
    db = ClassRecords(tmp_path / "class.sqlite3")
    link = {"model": "bach", "primer": "", "seed": "3", "length": "64"}
    db.add_board_item("Anna", "Rising", "bach", "top-p", "top-p (p=0.9)", link, melody(60, 62, 64, 65))
    db.add_board_item("Ben", "Stuck", "workshop", "greedy", "greedy", {}, melody(67, 67, 67, 67))
    db.add_board_item(
        "Anna", "Wild", "bach", "temperature", "temperature (T=1.5)", {}, melody(72, 59, 76, 55)
    )
    return db


def board_page(student: str) -> AppTest:
    at = new_app(student, timeout=120)
    at.run()
    return at.switch_page(PAGE).run()


def titles(at: AppTest) -> list[str]:
    return [m.value.strip("*") for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")]


def test_the_board_lists_newest_first_with_everything_a_melody_needs(board):
    at = board_page("Ben")
    assert not at.exception and not at.error
    assert titles(at) == ["Wild", "Stuck", "Rising"]
    assert any(
        c.value == "by **Anna** · model bach · top-p (p=0.9); seed 3, 64 notes, primer none"
        for c in at.caption
    )
    assert len(at.image) == 3  # sheet music of each
    assert [b.proto.label for b in at.get("download_button")].count("MIDI") == 3
    links = [c.value for c in at.code]
    assert len(links) == 1 and links[0].endswith("/sampling?model=bach&primer=&seed=3&length=64&lang=en")
    assert {b.key for b in at.button if b.key.startswith("board_remove_")} == {
        "board_remove_2"
    }  # his own only
    at.button(key="board_listen_1").click().run()
    assert len(at.get("audio")) == 1


def test_filters_by_model_and_method(board):
    at = board_page("Ben")
    at.selectbox(key="board_model").set_value("bach").run()
    assert titles(at) == ["Wild", "Rising"]
    at.selectbox(key="board_method").set_value("greedy").run()
    assert not titles(at) and at.info[0].value == "No shared melody of this model and method."


def test_the_owner_or_the_teacher_removes_an_item(board, monkeypatch):
    at = board_page("anna")  # her name in another case is still her
    assert {b.key for b in at.button if b.key.startswith("board_remove_")} == {
        "board_remove_1",
        "board_remove_3",
    }
    at.button(key="board_remove_1").click().run()
    assert titles(at) == ["Wild", "Stuck"] and [i.id for i in board.board_items()] == [3, 2]
    monkeypatch.setenv("BACHLSTM_TEACHER_PIN", "2468")
    teacher = new_app(student="Teacher")  # signs in on the teacher page, then opens the board
    teacher.run()
    teacher.switch_page("app_pages/teacher.py").run()
    teacher.text_input(key="teacher_pin_input").input("2468")
    next(b for b in teacher.button if b.label == "Open the teacher page").click().run()
    teacher.switch_page(PAGE).run()
    assert not teacher.exception
    assert {b.key for b in teacher.button if b.key.startswith("board_remove_")} == {
        "board_remove_2",
        "board_remove_3",
    }
    teacher.button(key="board_remove_2").click().run()
    assert [i.id for i in board.board_items()] == [3]


def staff_share(svg: str) -> float:
    """The first staff's height (top to bottom line) as a share of the page's width: the sheet music
    is stretched to the width it is shown at, so this times that width is the staff's height on screen."""
    page_width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    staff = re.search(r'class="staff"[^>]*>((?:<path d="M[\d.]+ [\d.]+ L[\d.]+ [\d.]+"[^>]*/>){5})', svg)
    ys = [float(y) for y in re.findall(r'd="M[\d.]+ ([\d.]+) ', staff.group(1))]
    return (max(ys) - min(ys)) / page_width


def test_the_projector_shows_one_melody_large_with_next_and_previous(board, monkeypatch):
    from app_pages import charts

    drawn, draw = [], charts.melody_view
    monkeypatch.setattr(
        charts, "melody_view", lambda *a, **kw: (lambda v: drawn.append(v["svg"][0]) or v)(draw(*a, **kw))
    )
    at = board_page("Ben")
    card = staff_share(drawn[0]) / 2  # a board card is half the page wide (two cards a row)
    at.get("button_group")[0].set_value("Projector").run()
    assert not at.exception
    # Read from the back of a room: the staff 1.5 times as high as a card's (it was 0.82 times)
    assert staff_share(drawn[-1]) == pytest.approx(1.5 * card)
    assert at.markdown[0].value.startswith("### Wild") and "(1 of 3)" in at.markdown[0].value
    assert len(at.image) == 1 and len(at.get("vega_lite_chart")) == 1  # the sheet music and the piano roll
    at.button(key="board_next").click().run()
    assert at.markdown[0].value.startswith("### Stuck")
    at.button(key="board_prev").click().run()
    assert at.markdown[0].value.startswith("### Wild") and at.button(key="board_prev").disabled


def test_a_boards_link_keeps_the_sharers_language_unless_the_opener_picked_one(board):
    from app_pages import i18n

    at = new_app("Ben", timeout=120, lang="de")
    at.run()
    at.switch_page(PAGE).run()
    (link,) = [c.value for c in at.code]
    assert link.endswith("/sampling?model=bach&primer=&seed=3&length=64&lang=de")
    query = dict(pair.split("=", 1) for pair in link.split("?", 1)[1].split("&"))
    cara = new_app("Cara", timeout=120, **query)  # a classmate's fresh session, an English browser
    cara.run()
    assert cara.session_state["lang"] == "de" and cara.query_params["lang"] == "de"
    # a student who picked English in this session keeps it when an address asks for German
    at = new_app("Dora", timeout=120, lang="de")
    at.run()
    at.sidebar.selectbox(key=i18n._WIDGET_KEY).set_value("en").run()
    at.query_params.update(query)
    at.switch_page(PAGE).run()
    assert at.session_state["lang"] == "en" and at.title[0].value == "Class board"


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_board_opens_in_both_languages(board, lang):
    at = new_app("Ben", timeout=120, lang=lang)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception and len(at.image) == 3


@pytest.mark.parametrize(
    "lang, line, projected",
    [
        (
            "de",
            "von **Anna** · Modell bach · Top-p (p=0,9); Seed 3, 64 Noten, Primer keine",
            "Temperatur (T=1,5)",
        ),
        (
            "en",
            "by **Anna** · model bach · top-p (p=0.9); seed 3, 64 notes, primer none",
            "temperature (T=1.5)",
        ),
    ],
)
def test_items_word_the_method_and_the_sampling_settings_as_the_sampling_page_does(
    board, lang, line, projected
):
    # the records hold the library's English label ("top-p (p=0.9)") and the link's length in notes
    at = new_app("Ben", timeout=120, lang=lang)
    at.run()
    at.switch_page(PAGE).run()
    assert line in [c.value for c in at.caption]
    at.get("button_group")[0].set_value(at.get("button_group")[0].options[1]).run()
    assert f"· bach · {projected} (1 " in at.markdown[0].value
