"""The class board and the "Bach or model?" answers in the class's records, and the results table:
exact shares and Wilson intervals from hand-made answers, each answer stored once under many sessions."""

import json
import threading

import pytest

from bachlstm.classroom.listening import (
    ListeningResult,
    StudentScore,
    listening_results,
    student_scores,
    wilson_interval,
)
from bachlstm.classroom.records import ClassRecords, ListeningRound
from bachlstm.cli import main


def _db(tmp_path) -> ClassRecords:
    return ClassRecords(tmp_path / "class.sqlite3")


def _round(rid, student="Anna", model="bach", method="top-p", bach_first=True, dealt=1.0) -> ListeningRound:
    return ListeningRound(
        rid, student, model, method, 4, "bwv66.6:soprano", f"{model}/{method}/0", bach_first, dealt
    )


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    # Published Wilson 95% intervals (e.g. Newcombe 1998, table I; Brown, Cai & DasGupta 2001).
    [(3, 10, 0.1078, 0.6032), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (81, 263, 0.2553, 0.3662)],
    ids=["3-of-10", "none-of-10", "all-of-10", "81-of-263"],
)
def test_the_wilson_interval_matches_published_values(k, n, low, high):
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_the_wilson_interval_without_answers_is_everything():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes must be from 0 to trials"):
        wilson_interval(4, 3)


def test_results_per_model_and_method_from_hand_made_answers(tmp_path):
    db = _db(tmp_path)
    # bach/top-p: 4 rounds, the model's excerpt taken for Bach in 3 (Bach as A picked B, ...)
    plan = [
        ("r1", "Anna", "bach", "top-p", True, "B"),  # Bach is A, picked B: took the model for Bach
        ("r2", "Ben", "bach", "top-p", False, "A"),  # Bach is B, picked A: took the model
        ("r3", "Cem", "bach", "top-p", True, "A"),  # found Bach
        ("r4", "anna", "bach", "top-p", False, "A"),  # took the model ('anna' is Anna)
        ("r5", "Ben", "bach", "greedy", True, "A"),  # found Bach
        ("r6", "Cem", "workshop", "greedy", False, "B"),  # found Bach
    ]
    for i, (rid, student, model, method, bach_first, _) in enumerate(plan):
        db.deal_round(_round(rid, student, model, method, bach_first, dealt=i))
        stored, _ = db.answer_round(rid, plan[i][5])
        assert stored
    db.deal_round(_round("open", "Dora"))  # dealt, never answered: not in the results
    results = listening_results(db.answered_rounds())
    assert [(r.model, r.method, r.answers, r.taken_for_bach) for r in results] == [
        ("bach", "greedy", 1, 0.0),
        ("bach", "top-p", 4, 0.75),
        ("workshop", "greedy", 1, 0.0),
    ]
    assert (results[1].low, results[1].high) == pytest.approx((0.3006, 0.9544), abs=5e-5)  # Wilson 3 of 4
    assert results[0] == ListeningResult("bach", "greedy", 1, 0.0, 0.0, pytest.approx(0.7935, abs=5e-5))
    assert student_scores(db.answered_rounds()) == [
        StudentScore("Cem", 2, 2),
        StudentScore("Ben", 2, 1),
        StudentScore("Anna", 2, 0),
    ]


def test_the_command_line_prints_the_same_table(tmp_path, monkeypatch, capsys):
    db = _db(tmp_path)
    for rid, picked in (("r1", "B"), ("r2", "A"), ("r3", "B")):
        db.deal_round(_round(rid, student=rid))
        db.answer_round(rid, picked)
    monkeypatch.setenv("BACHLSTM_CLASS_DB", str(db.path))
    assert main(["listening", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    low, high = wilson_interval(2, 3)
    assert printed == {
        "results": [
            {
                "model": "bach",
                "method": "top-p",
                "answers": 3,
                "taken_for_bach": 2 / 3,
                "low": low,
                "high": high,
            }
        ]
    }
    assert main(["listening"]) == 0
    assert "bach                 top-p              3   66.7% (20.8% to 93.9%)" in capsys.readouterr().out


def test_a_second_click_or_a_reload_stores_one_answer_and_the_first_wins(tmp_path):
    db = _db(tmp_path)
    dealt = db.deal_round(_round("r1"))
    assert db.deal_round(_round("r2")) == dealt  # a reload before the answer: the open round, not a new one
    assert db.open_round("anna") == dealt
    assert db.answer_round("r1", "B")[0]
    stored, kept = db.answer_round("r1", "A")  # the double click's second answer
    assert not stored and kept.picked == "B" and kept.took_model_for_bach
    assert db.open_round("Anna") is None and len(db.answered_rounds()) == 1
    assert db.deal_round(_round("r2")).id == "r2"  # answered: the next round is a new one
    with pytest.raises(ValueError, match="picked must be 'A' or 'B'"):
        db.answer_round("r2", "C")


def test_the_teachers_reset_clears_the_results_and_keeps_the_file(tmp_path):
    db = _db(tmp_path)
    db.deal_round(_round("r1"))
    db.answer_round("r1", "A")
    db.deal_round(_round("r2", student="Ben"))
    assert db.reset_listening() == 2
    assert db.answered_rounds() == [] and db.open_round("Ben") is None
    assert db.answer_round("r2", "A") == (False, None)  # answered after the reset: counts nowhere
    db.deal_round(_round("r3"))
    db.answer_round("r3", "B")
    assert [r.id for r in db.answered_rounds()] == ["r3"]


def test_thirty_sessions_answering_at_once_each_twice_store_thirty_answers(tmp_path):
    db = _db(tmp_path)
    for i in range(30):
        db.deal_round(_round(f"r{i}", student=f"s{i}", bach_first=bool(i % 2)))
    barrier, stored, errors = threading.Barrier(30), [], []

    def answer(i):
        mine = ClassRecords(db.path)  # each session its own connection, as on the server
        barrier.wait()
        try:
            for picked in ("A", "B"):  # a double click: the first answer stays
                stored.append(mine.answer_round(f"r{i}", picked)[0])
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(stored) == [False] * 30 + [True] * 30
    answered = db.answered_rounds()
    assert len(answered) == 30 and {r.picked for r in answered} == {"A"}
    assert listening_results(answered)[0].taken_for_bach == 0.5  # Bach first in every other round


def test_the_board_newest_first_filtered_and_removed_only_by_owner_or_teacher(tmp_path):
    db = _db(tmp_path)
    melody = {"events": [], "n_primer": 0, "key_sharps": None}
    first = db.add_board_item("Anna", "Sad ending", "bach", "top-p", "top-p (p=0.9)", {"seed": "1"}, melody)
    second = db.add_board_item("Ben", "Loop", "workshop", "greedy", "greedy", {}, melody)
    third = db.add_board_item("Anna", "Wild", "bach", "temperature", "temperature (T=1.5)", {}, melody)
    assert [i.id for i in db.board_items()] == [third, second, first]
    assert [i.id for i in db.board_items(model="bach")] == [third, first]
    assert [i.id for i in db.board_items(model="bach", method="top-p")] == [first]
    assert db.board_item(first).settings == {"seed": "1"} and db.board_item(first).melody == melody
    assert not db.remove_board_item(first, "Ben")  # not his
    assert db.remove_board_item(first, "anna")  # hers, in any case
    assert db.remove_board_item(second, "Cem", teacher=True)
    assert not db.remove_board_item(second, "Ben")  # gone already
    assert [i.id for i in db.board_items()] == [third]


def test_the_teachers_choice_is_kept(tmp_path):
    db = _db(tmp_path)
    assert db.listening_settings() is None
    db.set_listening_settings(["bach"], ["top-p", "greedy"], 4)
    db.set_listening_settings(["bach", "workshop"], ["top-p"], 2)
    chosen = db.listening_settings()
    assert (chosen.models, chosen.methods, chosen.bars) == (("bach", "workshop"), ("top-p",), 2)


def test_an_unplayable_open_round_is_abandoned_never_an_answered_one(tmp_path):
    db = _db(tmp_path)
    db.deal_round(_round("r1"))
    assert db.abandon_round("r1") and db.open_round("Anna") is None
    db.deal_round(_round("r2"))
    db.answer_round("r2", "A")
    assert not db.abandon_round("r2") and [r.id for r in db.answered_rounds()] == ["r2"]
