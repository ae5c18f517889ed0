"""Scoring one melody: exact figures on a tiny split, and the `score` command on a file and a chorale id."""

import json

import pytest

from bachlstm.cli import main
from bachlstm.music.events import Event, Melody
from bachlstm.music.scores import to_midi
from bachlstm.reports.scoring import BachSplit, score_melody


def line(piece, midis, ql=1.0):
    events = tuple(
        Event("note", ql, "quarter", 0, "C", 4, m, measure=1 + k // 4, beat=1.0 + k % 4)
        for k, m in enumerate(midis)
    )
    return Melody(piece, "soprano", events)


C_TUNE = (60, 62, 64, 65, 67, 65, 64, 62, 64, 62, 60)


def test_score_melody_exact_on_a_tiny_split():
    split = BachSplit(
        train=[line("t1", C_TUNE)],
        val=[line("v1", (67, 69, 71, 72, 74, 72, 71, 69, 67)), line("v2", (60, 64, 62, 60))],
        test=[line("x1", (62, 64, 66, 67, 69, 67, 66, 64, 62))],
        source="tiny",
    )
    # the training tune a fourth higher: a full copy (10 steps after the first note), ending on its tonic
    score = score_melody(line("s", [m + 5 for m in C_TUNE]).events, split)
    assert score.key == "F major"
    assert (score.copy_notes, score.copy_piece) == (10, "t1")
    assert score.figures["ends_on_tonic"] == 1.0 and score.figures["tonic_by_step"] == 1.0
    assert score.figures["notes"] == 11.0 and score.figures["remote_key"] == 0.0
    assert score.bach["notes"] == {"p10": 4.5, "median": 6.5, "p90": 8.5}
    assert score.model == {}
    with pytest.raises(ValueError, match="no notes"):
        score_melody((Event("rest", 1.0),), split)


@pytest.mark.slow
def test_score_command_on_a_midi_file_and_a_chorale(tmp_path, capsys):
    path = tmp_path / "mine.mid"
    path.write_bytes(to_midi(line("s", C_TUNE).events))
    assert main(["score", str(path), "--checkpoint", "workshop", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (
        out["melody"] == "mine.mid" and out["key"] == "C major" and out["reference"] == "checkpoint workshop"
    )
    assert out["figures"]["notes"] == 11 and out["model"]["n_notes"] == 11
    assert 0 < out["model"]["pitch_bits_per_note"] < 20
    assert main(["score", "bwv66.6"]) == 0
    text = capsys.readouterr().out
    assert "bwv66.6 (soprano): key F# minor" in text and "held-out Bach shares up to" in text
    with pytest.raises(SystemExit):
        main(["score", "no-such-thing"])
    assert "no such file" in capsys.readouterr().err
