"""Cheap rendering from events: kern text, durations, key estimate (= music21's), SVG, the content cache."""

import re

import pytest

from bachlstm import music
from bachlstm.events import Event
from bachlstm.render import (
    ContentCache,
    estimate_key_sharps,
    kern_pitch,
    key_signature_token,
    recip,
    spell,
    to_kern,
    to_svg,
)


def n(name: str, octave: int, ql: float, tie: str | None = None, measure: int = 0) -> Event:
    steps = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    midi = 12 * (octave + 1) + steps[name[0]] + name.count("#") - name.count("-")
    return Event("note", ql, "quarter", 0, name, octave, midi, tie, measure)


def r(ql: float) -> Event:
    return Event("rest", ql)


# Two 4/4 bars; the half note on beat 4 of bar 1 crosses the bar line and is tied across it.
MELODY = [
    n("G", 4, 1.0),
    n("A", 4, 0.5),
    n("B", 4, 0.5),
    n("C", 5, 1.0),
    n("D", 5, 2.0),
    r(1.0),
    n("F#", 4, 1.0),
]


def test_kern_of_a_two_bar_melody_is_exact():
    assert to_kern(MELODY, key_sharps=1) == (
        "**kern\n*clefG2\n*k[f#]\n*M4/4\n*MM80\n=1-\n4g\n8a\n8b\n4cc\n[4dd\n=2\n4dd]\n4r\n4f#\n==\n*-\n"
    )


def test_a_pickup_bar_and_a_tie_from_the_events_themselves():
    melody = [n("D", 4, 1.0, measure=0), n("G", 4, 4.0, "start", 1), n("G", 4, 2.0, "stop", 2), r(2.0)]
    kern = to_kern(melody, key_sharps=-2)
    assert kern.splitlines()[2] == "*k[b-e-]"
    body = kern.splitlines()[5:]
    assert body == ["4d", "=1", "[1g", "=2", "2g]", "2r", "==", "*-"]


@pytest.mark.parametrize(
    "ql, text",
    [(4, "1"), (2, "2"), (1, "4"), (0.5, "8"), (0.25, "16"), (3, "2."), (1.5, "4."), (3.5, "2.."),
     (0.75, "8."), (8, "0"), (1 / 3, "12"), (1.25, None)],
    ids=str,
)  # fmt: skip
def test_recip(ql, text):
    assert recip(ql) == text


def test_odd_durations_are_spelled_as_tied_pieces():
    assert spell(1.25) == [(1.0, "4"), (0.25, "16")]
    assert spell(2.5) == [(2.0, "2"), (0.5, "8")]
    kern = to_kern([n("C", 4, 1.25), n("C", 4, 2.75)], key_sharps=0)
    assert kern.splitlines()[6:10] == ["[4c", "16c]", "[2c", "8.c]"]


def test_kern_pitches_and_key_signatures():
    assert [kern_pitch(n(*p, 1.0)) for p in [("C", 4), ("C", 5), ("B-", 3), ("F#", 2), ("E", 6)]] == [
        "c", "cc", "B-", "FF#", "eee",
    ]  # fmt: skip
    bad = Event("note", 1.0, "quarter", 0, "C", 4, 61)  # a spelling that disagrees with midi
    assert kern_pitch(bad) == "c#"
    assert kern_pitch(bad, key_sharps=-4) == "d-"  # re-spelled for the key
    assert kern_pitch(Event("note", 1.0, "quarter", 0, "D", 4, 60), key_sharps=7) == "B#"  # B#3 sounds C4
    assert key_signature_token(0) == "*k[]"
    assert key_signature_token(3) == "*k[f#c#g#]"
    assert key_signature_token(-4) == "*k[b-e-a-d-]"


def music21_key_sharps(events) -> int:
    """music21's own key analysis (what music.py used before), for comparison."""
    from music21 import note, stream

    s = stream.Stream()
    for e in events:
        if not e.is_rest:
            s.append(note.Note(e.midi, quarterLength=e.quarter_length))
    return s.analyze("key").sharps


def test_key_estimate_agrees_with_music21_on_real_chorales():
    from bachlstm.corpus import load_corpus
    from bachlstm.selection import SelectionConfig, select

    melodies = select(load_corpus(), SelectionConfig()).melodies[:40]
    ours = [estimate_key_sharps(m.events) for m in melodies]
    assert ours == [music21_key_sharps(m.events) for m in melodies]
    assert estimate_key_sharps([r(4.0)]) == 0
    assert estimate_key_sharps(MELODY) == music21_key_sharps(MELODY) == 1
    assert music.estimate_key_sharps is estimate_key_sharps  # one key estimate, used by the exports too


def test_svg_shows_every_written_note():
    pages = to_svg(MELODY, key_sharps=1)
    assert len(pages) == 1 and pages[0].startswith("<svg")
    written = len(re.findall(r'class="note"', pages[0]))
    assert written == 7  # six notes, one of them split in two at the bar line
    assert len(re.findall(r'class="rest"', pages[0])) == 1
    assert to_svg([r(0.0)]) == []


def test_a_long_melody_breaks_into_systems_on_one_page_or_more():
    long = [n("C", 5, 1.0)] * 200
    pages = to_svg(long, page_width=1000)
    assert sum(len(re.findall(r'class="note"', p)) for p in pages) == 200


def test_content_cache_is_bounded_by_bytes_and_least_recently_used():
    cache = ContentCache(max_bytes=10)
    made = []

    def make(value):
        return lambda: made.append(value) or value

    assert cache.get("a", make("aaaa")) == "aaaa"
    assert cache.get("a", make("xxxx")) == "aaaa"  # a hit: not made again
    cache.get("b", make("bbbb"))
    cache.get("a", make("aaaa"))  # a is now the most recently used
    cache.get("c", make("cccc"))  # 12 bytes > 10: the least recently used (b) goes
    assert made == ["aaaa", "bbbb", "cccc"]
    assert len(cache) == 2 and cache.size == 8
    cache.get("b", make("bbbb"))
    assert made[-1] == "bbbb"
    assert cache.get("huge", make("z" * 11)) == "z" * 11 and "huge" not in cache._items
    assert (cache.hits, cache.misses) == (2, 5)


def test_svg_from_another_thread_after_the_main_one():
    import threading

    to_svg(MELODY)  # the main thread's toolkit first, as in a running app
    result = {}

    def draw():
        try:
            result["svg"] = to_svg(MELODY)[0]
        except Exception as exc:  # reported below
            result["error"] = exc

    for _ in range(2):
        worker = threading.Thread(target=draw)
        worker.start()
        worker.join()
        assert "error" not in result and "</svg>" in result["svg"]
