"""The "Bach or model?" page in AppTest: a round gives nothing away before its answer, an answer is
stored once (a double click, a reload between question and answer), the class's results and chart."""

import io
import json
import re

import pyarrow as pa
import pytest
import soundfile
from streamlit.testing.v1 import AppTest

from app_pages.common import TEACHER, usable_checkpoints
from app_pages.listening_views import round_excerpts
from bachlstm.classroom.records import ClassRecords
from bachlstm.reports.excerpts import excerpt_audio
from tests.app.helpers import fresh_caches, new_app  # noqa: F401

PAGE = "app_pages/listening.py"


@pytest.fixture
def class_db(tmp_path, monkeypatch) -> ClassRecords:
    """A class whose teacher chose the shipped workshop model, top-p, 2 bars; pools under tmp_path."""
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BACHLSTM_CLASS_DB", str(tmp_path / "class.sqlite3"))
    db = ClassRecords(tmp_path / "class.sqlite3")
    db.set_listening_settings(["workshop"], ["top-p"], 2)
    return db


def listening_page(student: str = "Tess") -> AppTest:
    at = new_app(student, timeout=180)
    at.run()
    return at.switch_page(PAGE).run()


def texts(at: AppTest) -> list[str]:
    """Every text the page shows (titles, markdown, captions, buttons, alerts)."""
    out = [e.value for kind in ("title", "markdown", "caption", "success", "info", "warning", "error")
           for e in getattr(at, kind)]  # fmt: skip
    return out + [b.proto.label for b in at.button]


def test_a_round_gives_nothing_away_before_its_answer(class_db):
    at = listening_page()
    assert not at.exception and not at.error, [e.value for e in at.error]
    dealt = class_db.open_round("Tess")
    assert dealt is not None and (dealt.model, dealt.method, dealt.bars) == ("workshop", "top-p", 2)
    shown = texts(at)
    assert "#### Excerpt A" in shown and "#### Excerpt B" in shown
    assert {b.key for b in at.button} >= {"pick_A", "pick_B"}
    piece = dealt.bach.split(":")[0]
    assert not [t for t in shown if piece in t or "Bach (" in t or dealt.generated in t]
    players = at.get("audio")
    assert len(players) == 2 and not at.image  # no sheet music before the answer (a key, a clef...)
    urls = [p.proto.url for p in players]
    assert all(re.fullmatch(r".*/media/[0-9a-f]{32}\.oga", u) for u in urls), urls  # a hash of the bytes

    info = next(i for i in usable_checkpoints()[0] if i.name == "workshop")
    a, b = round_excerpts(dealt, info)  # the round's excerpts: their audio is equally long
    lengths = {soundfile.info(io.BytesIO(excerpt_audio(x, 2))).frames for x in (a, b)}
    assert len(lengths) == 1  # equal length: the player's clock says nothing


def test_an_answer_is_stored_once_and_shows_both_scores(class_db):
    at = listening_page()
    dealt = class_db.open_round("Tess")
    reloaded = listening_page()  # a reload before answering: the same round, not a new one
    assert class_db.open_round("Tess") == dealt
    assert [p.proto.url for p in reloaded.get("audio")] == [p.proto.url for p in at.get("audio")]
    at.button(key="pick_A").click().run()
    assert not at.exception
    reloaded.button(key="pick_B").click().run()  # the stale tab answers too: the first answer stays
    answered = class_db.answered_rounds()
    assert len(answered) == 1 and answered[0].picked == "A"
    right = dealt.bach_letter == "A"
    banner = (at.success if right else at.info)[0].value
    assert banner.endswith(f"**{dealt.bach_letter}** was Bach.")
    shown = texts(at)
    assert f"#### {dealt.bach_letter}: Bach ({dealt.bach.split(':')[0]})" in shown
    assert any(t.endswith(": workshop, top-p") for t in shown)
    assert len(at.image) == 2 and not at.get("audio")  # both scores now; the audio again when asked
    at.button(key="listen_again").click().run()
    assert len(at.get("audio")) == 2
    assert not at.dataframe and not at.get("vega_lite_chart")  # the class's table only when asked
    at.toggle(key="listen_results").set_value(True).run()
    table = at.dataframe[0].value
    assert list(table["answers"]) == [1] and list(table["taken for Bach"]) == [0.0 if right else 1.0]
    assert f"**Your score**: Bach found in {int(right)} of 1 rounds." in shown
    at.button(key="next_round").click().run()
    assert class_db.open_round("Tess") is not None and class_db.open_round("Tess").id != dealt.id


def test_german_and_english_both_open(class_db):
    for lang in ("de", "en"):
        at = new_app("Tess", timeout=180, lang=lang)
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception


def test_the_teacher_chooses_for_the_class_and_resets_the_results(class_db):
    at = listening_page()
    assert "listen_reset" not in {b.key for b in at.button}  # a student has no teacher controls
    at.session_state[TEACHER] = True  # signed in on the teacher page (its PIN: tests/app/test_app_board.py)
    at.run()
    at.multiselect(key="listen_methods").set_value(["top-k", "temperature"])
    at.selectbox(key="listen_bars").set_value(4)
    at.button(key="FormSubmitter:listening_teacher-Save for the class").click().run()
    chosen = class_db.listening_settings()
    assert (chosen.methods, chosen.bars) == (("top-k", "temperature"), 4)
    at.button(key="pick_A").click().run()
    assert len(class_db.answered_rounds()) == 1
    at.button(key="listen_reset").click().run()
    assert class_db.answered_rounds() == []


def test_a_round_whose_excerpts_are_gone_gives_way_to_a_new_one(class_db):
    import time

    from bachlstm.classroom.records import ListeningRound

    gone = ListeningRound(
        "old", "Tess", "workshop", "top-p", 2, "bwv0.0:soprano", "top-p/999", True, time.time()
    )
    class_db.deal_round(gone)  # dealt before the model was trained again: its excerpt is not in the pool
    at = listening_page()
    assert not at.exception and not at.error and {b.key for b in at.button} >= {"pick_A", "pick_B"}
    dealt = class_db.open_round("Tess")
    assert dealt is not None and dealt.id != "old"


def test_the_results_are_worded_in_german_too(class_db):
    at = new_app("Tess", timeout=180, lang="de")
    at.run()
    at.switch_page(PAGE).run()
    at.button(key="pick_A").click().run()
    at.toggle(key="listen_results").set_value(True).run()
    assert not at.exception
    config = json.loads(at.dataframe[0].proto.columns)  # the headers the page gave
    labels = [c["label"] for name, c in config.items() if name != "_index"]
    assert labels == ["Modell", "Verfahren", "Antworten", "für Bach gehalten", "95 % von", "95 % bis"]
    chart = at.get("vega_lite_chart")[0].proto
    spec = json.loads(chart.spec)
    title = spec["layer"][0]["encoding"]["x"]["title"]  # charts.localized: a long title in lines
    assert " ".join(title if isinstance(title, list) else [title]) == "für Bach gehalten (95-%-Intervall)"
    # the records hold the method's technical name ("top-p"): the table and the chart word it
    assert list(at.dataframe[0].value["method"]) == ["Top-p"]
    shares = at.dataframe[0].value[["taken for Bach", "low", "high"]].to_numpy().ravel()
    assert all(re.fullmatch(r"\d+,\d\u00a0%", v) for v in shares), (
        shares
    )  # 100,0 %: as every German percentage
    assert list(pa.ipc.open_stream(chart.data.data).read_all().to_pandas()["method"]) == ["Top-p"]


def test_the_results_after_several_answers_and_each_students_score(class_db):
    at = listening_page()
    picks = "ABA"
    for pick in picks:
        dealt = class_db.open_round("Tess")
        at.button(key=f"pick_{pick}").click().run()
        assert class_db.open_round("Tess") is None and not at.dataframe  # answered; no table unasked
        at.button(key="next_round").click().run()
        assert class_db.open_round("Tess").id != dealt.id
    ben = listening_page("Ben")
    ben.button(key="pick_B").click().run()
    answered = class_db.answered_rounds()
    right = [r.took_model_for_bach is False for r in answered if r.student == "Tess"]
    took = sum(bool(r.took_model_for_bach) for r in answered)
    assert [r.student for r in answered] == ["Tess"] * 3 + ["Ben"]
    assert f"**Your score**: Bach found in {sum(right)} of 3 rounds." in texts(at)
    at.toggle(key="listen_results").set_value(True).run()
    table = at.dataframe[0].value
    assert list(table["answers"]) == [4] and list(table["taken for Bach"]) == [pytest.approx(took / 4)]
    assert len(at.get("vega_lite_chart")) == 1
