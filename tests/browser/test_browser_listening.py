"""Three students answer "Bach or model?" at once in one real Chromium (three contexts): a double click,
a reload between question and answer; every answer stored once. A Sampling link opened in a fresh
browser gives the same MIDI files byte for byte."""

from pathlib import Path

import pytest

from bachlstm.classroom.records import ClassRecords
from tests.browser.helpers import (
    assert_no_exception,
    by_key,
    chromium,
    need_browser,
    new_page,
    streamlit_server,
    student_url,
    wait_ready,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_browser()
    folder = tmp_path_factory.mktemp("listening-browser")
    db = ClassRecords(folder / "class.sqlite3")
    db.set_listening_settings(["workshop"], ["top-p"], 2)  # the shipped small model, short excerpts
    env = {"BACHLSTM_RUNS_DIR": str(folder / "runs"), "BACHLSTM_CLASS_DB": str(db.path)}
    with streamlit_server(env=env) as url:
        yield url, db


def test_three_students_answer_at_once_and_each_answer_counts_once(server):
    url, db = server
    students = ["Anna", "Ben", "Cem"]
    with chromium() as browser:
        pages = []
        for name in students:
            page = new_page(browser, 1200, 900)  # a context of its own: another student's laptop
            page.set_default_timeout(120_000)
            page.goto(student_url(url, "listening", name))
            wait_ready(page, 180)
            by_key(page, "pick_A").wait_for()
            assert_no_exception(page, f"Bach or model? for {name}")
            pages.append(page)
        dealt = {name: db.open_round(name) for name in students}
        assert all(dealt.values())
        # Cem reloads between question and answer: the same round comes back
        pages[2].reload()
        wait_ready(pages[2], 120)
        by_key(pages[2], "pick_B").wait_for()
        assert db.open_round("Cem") == dealt["Cem"]
        # all three answer together; Anna double-clicks
        by_key(pages[0], "pick_A", "button").dblclick()
        by_key(pages[1], "pick_B", "button").click()
        by_key(pages[2], "pick_B", "button").click()
        for page in pages:
            page.get_by_text("was Bach.").first.wait_for()
            assert_no_exception(page, "after the answer")
    answered = db.answered_rounds()
    assert sorted(r.student for r in answered) == students  # one each: none lost, none twice
    assert {r.student: r.picked for r in answered} == {"Anna": "A", "Ben": "B", "Cem": "B"}
    assert {r.id for r in answered} == {r.id for r in dealt.values()}


def _run_ends(page) -> list[int]:
    """Each script run's end the server reports to `page` from now on (ForwardMsg.script_finished:
    3 a fragment's run, 0 the whole page's), gathered as they arrive."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ends: list[int] = []

    def frame(payload) -> None:
        if isinstance(payload, bytes):
            msg = ForwardMsg.FromString(payload)
            if msg.WhichOneof("type") == "script_finished":
                ends.append(msg.script_finished)

    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    return ends


def test_an_answer_and_next_round_rerun_the_round_only(server):
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    url, db = server
    with chromium() as browser:
        page = new_page(browser, 1200, 900)
        page.set_default_timeout(120_000)
        ends = _run_ends(page)  # before the page opens: its websocket is watched from the start
        page.goto(student_url(url, "listening", "Dora"))
        wait_ready(page, 180)
        by_key(page, "pick_A").wait_for()
        assert ends and ends[-1] == ForwardMsg.FINISHED_SUCCESSFULLY  # the page's first run is whole
        ends.clear()
        by_key(page, "pick_A", "button").click()
        by_key(page, "next_round", "button").wait_for()
        wait_ready(page, 60)
        by_key(page, "next_round", "button").click()
        by_key(page, "pick_B", "button").wait_for()
        wait_ready(page, 60)
        assert_no_exception(page, "the next round")
        # two runs, both of the round's fragment: the title, the results and the rest were not redrawn
        assert ends == [ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY] * 2, ends
        assert page.locator("audio").count() == 2 and page.get_by_text("Bach or model?").count() >= 1
        # while a run is on its way the round's stale parts dim after 0.5 s in one step (layout.css), not
        # in a 1 s fade of a frame every 16 ms
        timing = page.evaluate(
            """() => { const el = document.querySelector('.st-key-listening_round [data-stale]');
              el.setAttribute('data-stale', 'true'); const s = getComputedStyle(el);
              return [s.transitionDuration, s.transitionDelay]; }"""
        )
        assert timing == ["0s", "0.5s"], timing
    assert [r.student for r in db.answered_rounds()].count("Dora") == 1
    assert db.open_round("Dora") is not None


def _midi(page, column: int) -> bytes:
    """The MIDI file a column's download button gives."""
    with page.expect_download() as info:
        by_key(page, f"midi_{column}", "button").click()
    return Path(info.value.path()).read_bytes()


def test_a_link_reproduces_its_melodies_byte_for_byte_in_a_fresh_browser(server):
    url, _ = server
    with chromium() as browser:
        anna = new_page(browser)
        anna.set_default_timeout(120_000)
        anna.goto(student_url(url, "sampling", "Anna"))
        wait_ready(anna, 180)
        by_key(anna, "seed", "input").fill("5")
        by_key(anna, "seed", "input").press("Tab")
        wait_ready(anna, 60)
        by_key(anna, "generate", "button").click()
        by_key(anna, "midi_3", "button").wait_for()
        wait_ready(anna, 120)
        made = [_midi(anna, i) for i in range(4)]
        link = anna.locator('[data-testid="stCode"]').first.inner_text().strip()
        assert "/sampling?model=" in link and "seed=5" in link and "student" not in link
        ben = new_page(browser)  # another laptop opens the link Anna sent
        ben.set_default_timeout(120_000)
        ben.goto(f"{link}&student=Ben")
        by_key(ben, "midi_3", "button").wait_for()
        wait_ready(ben, 120)
        assert_no_exception(ben, "Sampling opened from a link")
        assert [_midi(ben, i) for i in range(4)] == made
