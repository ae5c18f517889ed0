"""Corpus extraction and our cache: exact counts on the real corpus, flags, and rebuilds of a bad cache."""

import collections
import gzip
import json
import logging
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bachlstm.corpus import cache as C
from bachlstm.corpus import extraction as X
from bachlstm.corpus.cache import CorpusCacheError, load_corpus, read_cache, save_corpus
from bachlstm.corpus.extraction import EXTRACTOR_VERSION
from bachlstm.music.events import Corpus, Event, Part, Piece


def _ev(kind="note", ql=1.0, pitch="C", octave=4, midi=60, **kw):
    if kind == "rest":
        return Event("rest", ql, **kw)
    return Event("note", ql, pitch=pitch, octave=octave, midi=midi, **kw)


def tiny_corpus(version=EXTRACTOR_VERSION, m21=None) -> Corpus:
    """Two hand-made pieces covering rests, ties, tuplet floats, a pickup and an empty part."""
    soprano = Part(
        "Soprano",
        ("4/4",),
        (
            _ev(pitch="F#", octave=4, midi=66, measure=0, beat=4.0),
            _ev(ql=2.0, duration_type="half", pitch="B-", octave=4, midi=70, tie="start", measure=1),
            _ev(
                ql=1 / 3,
                duration_type="eighth",
                pitch="B-",
                octave=4,
                midi=70,
                tie="stop",
                measure=1,
                beat=3.0,
            ),
            _ev("rest", ql=1.5, duration_type="quarter", dots=1, measure=1, beat=3.333333),
        ),
        ("tuplet",),
    )
    bass = Part("Bass", ("4/4",), (_ev("rest", ql=4.0, duration_type="whole", measure=1),), ("empty_part",))
    a = Piece(
        "bwv1.1", "bach/bwv1.1.mxl", "Títle ä", -2, "minor", "g minor", ("4/4",), (soprano, bass),
        2, 1.0, 5.0, ("empty_part", "tuplet"),
    )  # fmt: skip
    b = Piece("bwv2", "bach/bwv2.krn", "", 0, "major", "C major", ("3/4",), (), 0, 0.0, 0.0, ("no_parts",))
    return Corpus((a, b), 3, m21 or C.installed_music21_version(), version, failed=("broken.mxl",))


# ---- the real corpus (from the shipped cache) -----------------------------------------------------


def test_shipped_cache_is_current(real):
    assert real.extractor_version == EXTRACTOR_VERSION
    assert real.music21_version == C.installed_music21_version()
    assert real.failed == ()


def test_score_files_are_all_413_non_analysis_files():
    paths = X.score_paths()
    assert len(paths) == 413
    assert collections.Counter(p.suffix for p in paths) == {".mxl": 408, ".krn": 3, ".xml": 2}
    ids = X._piece_ids(paths)
    assert len(set(ids)) == 413
    assert sorted(i for i in ids if i.endswith("-krn")) == ["bwv277-krn", "bwv281-krn", "bwv366-krn"]


def test_real_corpus_counts(real):
    assert len(real) == real.n_score_files == 413
    four_four = [p for p in real if p.time_signatures == ("4/4",)]
    assert len(four_four) == 362  # checked on every measure of every part, as REFERENCE says
    assert sum(p.n_parts == 4 for p in four_four) == 328
    assert sum(p.n_parts == 4 for p in real) == 368
    assert collections.Counter(p.time_signatures for p in real) == {
        ("4/4",): 362,
        ("3/4",): 44,
        ("4/4", "3/4"): 4,
        ("3/2",): 1,
        ("12/8",): 1,
        ("4/4", "3/2"): 1,
    }
    assert collections.Counter(p.mode for p in real) == {"major": 242, "minor": 171}


def test_real_first_parts_of_four_four_pieces(real):
    lengths = [p.parts[0].n_events for p in real if p.time_signatures == ("4/4",)]
    assert (min(lengths), statistics.median(lengths), max(lengths)) == (23, 48, 622)
    assert sum(30 <= n <= 65 for n in lengths) == 293
    chords = [p.id for p in real if p.time_signatures == ("4/4",) and "chord" in p.parts[0].flags]
    assert chords == ["bwv248.9-1", "bwv846"]


def test_real_flags_are_counted(real):
    counts = collections.Counter(f for p in real for f in p.flags)
    assert counts == {"irregular_bar": 226, "inferred_part_names": 3, "voices": 2, "chord": 2, "grace": 2}
    assert [p.id for p in real if "grace" in p.flags] == ["bwv299", "bwv315"]


def test_real_piece_metadata(real):
    p = real.get("bwv1.6")
    assert p.part_names == ("Horn 2", "Soprano", "Alto", "Tenor", "Bass")
    assert (p.key_sharps, p.mode, p.key_estimate) == (-1, "major", "F major")
    assert (p.n_measures, p.pickup_quarters, p.length_quarters) == (21, 1.0, 80.0)
    assert p.path == "bach/bwv1.6.mxl" and p.bwv == "1.6"
    first = p.parts[1].events[0]
    assert first == Event("note", 1.0, "quarter", 0, "F", 4, 65, None, 0, 4.0)
    krn = real.get("bwv277-krn")
    assert krn.part_names == ("Soprano", "Alto", "Tenor", "Bass")
    assert krn.title == "25. Christ lag in Todesbanden"
    assert real.get("bwv277").title == "Christ lag in Todesbanden"


def test_cached_piece_equals_fresh_extraction(real):
    """The shipped file matches what the current extractor makes from the source (one file re-parsed)."""
    path = next(p for p in X.score_paths() if p.name == "bwv277.krn")
    assert X.extract_piece(path, "bwv277-krn") == real.get("bwv277-krn")


def test_parts_decode_events_lazily():
    corpus = read_cache(C.DEFAULT_CACHE_PATH)
    part = corpus.get("bwv1.6").parts[1]
    assert part._events is None and part.n_events == 71  # known without decoding
    assert len(part.events) == 71 and part._events is not None
    assert sum(p.n_parts for p in corpus) == 1779
    assert sum(q.n_events for p in corpus for q in p.parts) == 116174


# ---- extraction of a hand-made music21 part -------------------------------------------------------


def test_extract_part_flags_chords_graces_tuplets_and_keeps_ties():
    from music21 import chord, meter, note, stream, tie

    m0 = stream.Measure(number=0)
    m0.timeSignature = meter.TimeSignature("4/4")
    m0.append(note.Note("F4", quarterLength=1))
    m1 = stream.Measure(number=1)
    m1.append(chord.Chord(["C4", "E4", "G4"], quarterLength=1))
    m1.append(note.Note("D5").getGrace())
    for name in ("C5", "D5", "E5"):
        m1.append(note.Note(name, quarterLength=1 / 3))
    held = note.Note("B-4", quarterLength=2)
    held.tie = tie.Tie("start")
    m1.append(held)
    m2 = stream.Measure(number=2)
    end = note.Note("B-4", quarterLength=1)
    end.tie = tie.Tie("stop")
    m2.append([end, note.Rest(quarterLength=3)])
    p = stream.Part([m0, m1, m2])
    p.partName = "Soprano"
    part, facts = X._extract_part(p, 0)
    assert part.flags == ("chord", "grace", "tuplet")
    assert facts == {"n_measures": 3, "pickup": 1.0}
    ev = part.events
    assert [(e.pitch, e.octave, e.measure, e.beat) for e in ev[:3]] == [
        ("F", 4, 0, 4.0),
        ("G", 4, 1, 1.0),
        ("C", 5, 1, 2.0),
    ]
    assert ev[2].quarter_length == pytest.approx(1 / 3)
    assert [e.tie for e in ev[-3:]] == ["start", "stop", None]
    assert ev[-1] == Event("rest", 3.0, "half", 1, measure=2, beat=2.0)


# ---- the cache file -------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    corpus = tiny_corpus()
    path = save_corpus(corpus, tmp_path / "c.json.gz")
    back = load_corpus(path)
    assert back == corpus
    assert back.pieces[0].parts[0].events[2].quarter_length == 1 / 3
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def _gz(path, obj):
    with gzip.open(path, "wb") as f:
        f.write(json.dumps(obj).encode() if not isinstance(obj, bytes) else obj)


def _damage(kind, path):
    d = C.corpus_to_dict(tiny_corpus())
    if kind == "garbage":
        path.write_bytes(b"not a gzip file")
    elif kind == "truncated":
        save_corpus(tiny_corpus(), path)
        path.write_bytes(path.read_bytes()[:-20])
    elif kind == "bad_json":
        _gz(path, b"{ nope")
    elif kind == "not_object":
        _gz(path, [1, 2])
    elif kind == "short_column":
        d["events"]["midi"] = C._pack([60])
        _gz(path, d)
    elif kind == "bad_index":
        d["events"]["pitch"] = C._pack([99] * d["n_events"])
        _gz(path, d)
    elif kind == "bad_base64":
        d["events"]["beat"]["data"] = "###"
        _gz(path, d)
    elif kind == "bad_dtype":
        d["events"]["beat"]["dtype"] = "<f8"
        _gz(path, d)
    elif kind == "missing_key":
        del d["pieces"][0]["mode"]
        _gz(path, d)
    elif kind == "stale_extractor":
        d["extractor_version"] = EXTRACTOR_VERSION - 1
        _gz(path, d)
    elif kind == "stale_music21":
        d["music21_version"] = "1.0.0"
        _gz(path, d)
    elif kind == "wrong_format":
        d["format"] = "something-else"
        _gz(path, d)


DAMAGES = ["missing", "garbage", "truncated", "bad_json", "not_object", "short_column", "bad_index",
           "bad_base64", "bad_dtype", "missing_key", "stale_extractor", "stale_music21",
           "wrong_format"]  # fmt: skip


@pytest.mark.parametrize("kind", DAMAGES, ids=DAMAGES)
def test_bad_cache_is_rebuilt_with_a_warning(kind, tmp_path, monkeypatch, caplog):
    path = tmp_path / "c.json.gz"
    _damage(kind, path)
    with pytest.raises(CorpusCacheError) as caught:
        read_cache(path)
    assert caught.value.code == (
        "missing" if kind == "missing" else "stale" if kind.startswith("stale") else "damaged"
    )
    fresh = tiny_corpus()
    calls = []
    monkeypatch.setattr(C, "build_corpus", lambda progress=None: calls.append(1) or fresh)
    with caplog.at_level(logging.WARNING, logger="bachlstm.corpus.cache"):
        got = load_corpus(path)
    assert got == fresh and calls == [1]
    assert "rebuilding" in caplog.text
    assert read_cache(path) == fresh  # the rebuilt cache was written back


def test_rebuild_flag_forces_a_build(tmp_path, monkeypatch):
    path = save_corpus(tiny_corpus(), tmp_path / "c.json.gz")
    other = tiny_corpus()
    other = Corpus(other.pieces[:1], 1, other.music21_version, other.extractor_version)
    monkeypatch.setattr(C, "build_corpus", lambda progress=None: other)
    assert load_corpus(path, rebuild=True) == other
    assert read_cache(path) == other


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = save_corpus(tiny_corpus(), tmp_path / "c.json.gz")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(C.gzip.GzipFile, "write", boom)
    with pytest.raises(OSError, match="disk full"):
        save_corpus(tiny_corpus(), path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_unwritable_cache_still_returns_the_corpus(tmp_path, monkeypatch, caplog):
    fresh = tiny_corpus()
    monkeypatch.setattr(C, "build_corpus", lambda progress=None: fresh)

    def fail(corpus, path):
        raise PermissionError("read-only")

    monkeypatch.setattr(C, "save_corpus", fail)
    with caplog.at_level(logging.WARNING, logger="bachlstm.corpus.cache"):
        assert load_corpus(tmp_path / "missing.json.gz") == fresh
    assert "could not write" in caplog.text


def test_corpus_get_names_missing_id():
    with pytest.raises(KeyError, match="bwv999"):
        tiny_corpus().get("bwv999")


# ---- command line and benchmark report ------------------------------------------------------------


def test_cli_corpus_stats_json(capsys):
    from bachlstm.cli import main

    assert main(["corpus", "stats", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["n_scores"], figures["n_pieces"], figures["n_selected"]) == (413, 413, 359)
    assert figures["time_signatures"]["4/4"] == 362 and figures["four_four_four_parts"] == 328
    assert set(figures["vocab_size"]) == {"factored", "event"}
    assert all(v > 4 for v in figures["vocab_size"].values())


def test_cli_corpus_stats_text_for_a_preset(capsys):
    from bachlstm.cli import main

    assert main(["corpus", "stats", "--preset", "original"]) == 0
    out = capsys.readouterr().out
    assert "selection 'original': 292 melodies" in out and "too long: 62" in out


def test_progress_bar_off_a_terminal_prints_every_tenth():
    import io

    from bachlstm.cli.corpus import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(width=10, stream=stream)
    for done in range(0, 101):
        bar(done, 100, f"file{done}")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0] == "[----------] 0/100 file0" and lines[-1] == "[##########] 100/100 file100"


def test_bench_report_formats_figures():
    from benchmarks.corpus import format_report

    figures = {
        "n_files": 413, "n_events": 116174, "music21_version": "10.5.1", "cache_bytes": 267415,
        "cold_build_s": 60.0, "warm_load_s": 0.05, "warm_load_max_s": 0.07, "decode_all_events_s": 0.3,
        "fresh_process_load_s": 0.5, "music21_cached_parse_s": 15.0, "music21_pickles_written_first": 0,
        "speedup_vs_music21_cache": 300.0, "speedup_vs_cold_build": 1200.0, "warm_load_target_met": True,
        "ratio_target_met": True, "cpu_count": 2,
    }  # fmt: skip
    report = format_report(figures)
    assert "50 ms" in report and "300x" in report and "MISSED" not in report
    assert "MISSED" in format_report({**figures, "ratio_target_met": False})


def test_pieces_are_hashable_without_decoding():
    corpus = read_cache(C.DEFAULT_CACHE_PATH)
    assert len(set(corpus.pieces)) == 413
    assert all(part._events is None for piece in corpus.pieces for part in piece.parts)


_events = st.builds(
    lambda kind, ql, dtype, dots, pitch, octave, tie, measure, beat: Event(
        kind, ql, dtype, dots,
        pitch if kind == "note" else None, octave if kind == "note" else None,
        12 * (octave + 1) if kind == "note" else None, tie, measure, beat,
    ),
    st.sampled_from(["note", "rest"]),
    st.sampled_from([0.25, 0.5, 1 / 3, 1.0, 1.5, 4.0]),
    st.sampled_from(["16th", "eighth", "quarter", "complex"]),
    st.integers(0, 2),
    st.sampled_from(["C", "F#", "B-", "E##"]),
    st.integers(0, 8),
    st.sampled_from([None, "start", "continue", "stop"]),
    st.integers(0, 400),
    st.sampled_from([1.0, 2.5, 3.333333, 4.0]),
)  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(_events, max_size=12), min_size=0, max_size=4))
def test_cache_round_trip_property(tmp_path_factory, parts_events):
    parts = tuple(Part(f"p{i}", ("4/4",), tuple(ev), ()) for i, ev in enumerate(parts_events))
    piece = Piece("x", "bach/x.mxl", "", 0, "major", "C major", ("4/4",), parts, 1, 0.0, 4.0)
    corpus = Corpus((piece,), 1, C.installed_music21_version(), EXTRACTOR_VERSION)
    path = save_corpus(corpus, tmp_path_factory.mktemp("rt") / "c.json.gz")
    assert read_cache(path) == corpus
