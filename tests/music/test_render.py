"""Cheap rendering from events: kern text, durations, key estimate (= music21's), SVG, the content cache."""

import re

import pytest

from bachlstm.music import scores as music
from bachlstm.music.events import Event
from bachlstm.music.render import (
    ContentCache,
    beams,
    engrave,
    estimate_key_sharps,
    kern_pitch,
    key_signature_token,
    measures,
    recip,
    spell,
    to_kern,
    to_mei,
    to_svg,
)
from tests.builders import TWO_BARS, note, rest

# Two 4/4 bars less the last note; the half note on beat 4 of bar 1 crosses the bar line, tied across it.
MELODY = TWO_BARS[:7]


def test_kern_of_a_two_bar_melody_is_exact():
    assert to_kern(MELODY, key_sharps=1) == (
        "**kern\n*clefG2\n*k[f#]\n*M4/4\n*MM80\n=1-\n4g\n8aL\n8bJ\n4cc\n[4dd\n=2\n4dd]\n4r\n4f#\n==\n*-\n"
    )


# A pickup bar, then a whole note tied over the bar line.
PICKUP_TIE = [
    note("D", 4, 1.0, measure=0),
    note("G", 4, 4.0, 1, tie="start"),
    note("G", 4, 2.0, 2, tie="stop"),
    rest(2.0),
]


def test_a_pickup_bar_and_a_tie_from_the_events_themselves():
    melody = PICKUP_TIE
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
    kern = to_kern([note("C", 4, 1.25), note("C", 4, 2.75)], key_sharps=0)
    assert kern.splitlines()[6:10] == ["[4c", "16c]", "[2c", "8.c]"]


def test_kern_pitches_and_key_signatures():
    assert [kern_pitch(note(*p, 1.0)) for p in [("C", 4), ("C", 5), ("B-", 3), ("F#", 2), ("E", 6)]] == [
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
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import SelectionConfig, select

    melodies = select(load_corpus(), SelectionConfig()).melodies[:40]
    ours = [estimate_key_sharps(m.events) for m in melodies]
    assert ours == [music21_key_sharps(m.events) for m in melodies]
    assert estimate_key_sharps([rest(4.0)]) == 0
    assert estimate_key_sharps(MELODY) == music21_key_sharps(MELODY) == 1
    assert music.estimate_key_sharps is estimate_key_sharps  # one key estimate, used by the exports too


def test_svg_shows_every_written_note():
    pages = to_svg(MELODY, key_sharps=1)
    assert len(pages) == 1 and pages[0].startswith("<svg")
    written = len(re.findall(r'class="note"', pages[0]))
    assert written == 7  # six notes, one of them split in two at the bar line
    assert len(re.findall(r'class="rest"', pages[0])) == 1
    assert to_svg([rest(0.0)]) == []


def test_a_long_melody_breaks_into_systems_on_one_page_or_more():
    long = [note("C", 5, 1.0)] * 200
    pages = to_svg(long, page_width=1000)
    assert sum(len(re.findall(r'class="note"', p)) for p in pages) == 200


def test_a_column_page_holds_two_bars_of_quarters_and_eighths_per_system():
    # A Sampling column's page (450): one bar per system took about 12 screens at 800 px.
    bar = [note("G", 4, 1.0), note("A", 4, 0.5), note("B", 4, 0.5), note("C", 5, 1.0), note("D", 5, 1.0)]
    (page,) = to_svg(bar * 8, page_width=450)
    systems, measures = page.count('class="system"'), page.count('class="measure"')
    assert measures == 8 and systems <= 5, (measures, systems)  # 8 systems with verovio's spacing


@pytest.mark.parametrize(
    "events, pickup, expected",
    [
        ([note("G", 4, 1.0), note("A", 4, 0.5), note("B", 4, 0.5), note("C", 5, 1.0),
          *[note("D", 5, 0.25)] * 4], 0.0, [(1, 2), (4, 7)]),
        ([note("A", 4, 0.5), note("B", 4, 1.0), note("C", 5, 0.5), note("D", 5, 2.0)], 0.0, []),
        ([note("A", 4, 0.5), rest(0.5), note("B", 4, 0.5), note("C", 5, 0.5), note("D", 5, 2.0)], 0.0,
         [(2, 3)]),
        ([note("A", 4, 0.75), note("B", 4, 0.25), note("C", 5, 3.0)], 0.0, [(0, 1)]),
        ([note("A", 4, 0.5), note("B", 4, 0.5)], 1.0, [(0, 1)]),  # a pickup bar: its beat 4
        ([note("A", 4, 0.5), note("B", 4, 0.5), note("C", 5, 0.5)], 1.5, [(1, 2)]),  # from beat 3.5
    ],
    ids=["eighths and sixteenths", "syncopation", "a rest breaks", "dotted", "pickup beat", "pickup offbeat"],
)  # fmt: skip
def test_notes_shorter_than_a_quarter_are_beamed_by_beat(events, pickup, expected):
    bar = measures(events, pickup)[0]
    start = 4.0 - pickup if pickup else 0.0
    assert beams(bar, start) == expected


def test_mei_of_a_two_bar_melody_is_exact():
    mei = to_mei(MELODY, key_sharps=1)
    section = mei[mei.index("<section>") : mei.index("</section>")]
    assert '<keySig sig="1s"/><meterSig count="4" unit="4"/>' in mei
    assert section == (
        '<section><measure n="1"><staff n="1"><layer n="1"><note pname="g" oct="4" dur="4"/>'
        '<beam><note pname="a" oct="4" dur="8"/><note pname="b" oct="4" dur="8"/></beam>'
        '<note pname="c" oct="5" dur="4"/>'
        '<note pname="d" oct="5" xml:id="n4" dur="4"/></layer></staff><tie startid="#n4" endid="#n5"/>'
        '</measure><measure n="2" right="end"><staff n="1"><layer n="1"><note pname="d" oct="5" xml:id="n5" '
        'dur="4"/><rest dur="4"/><note pname="f" oct="4" dur="4"/></layer></staff></measure>'
    )  # F#4 is in the key: no accidental drawn


ACCIDENTALS = [  # in D major: C natural, C natural again, C#, C natural in another octave; ties over bars
    note("C", 5, 1.0), note("C", 5, 1.0), note("C#", 5, 1.0), note("C", 4, 1.0),
    note("G#", 4, 4.0, tie="start"), note("G#", 4, 1.0, tie="stop"),
    note("G#", 4, 1.0), note("G", 4, 1.0), note("G#", 4, 1.0),
    rest(4.0), rest(4.0), rest(4.0), note("E#", 4, 2.0), note("B--", 4, 2.0), rest(4.0),
]  # fmt: skip


def test_mei_accidentals_rests_and_ties_are_written_as_the_humdrum_reader_writes_them():
    mei = to_mei(ACCIDENTALS, key_sharps=2)
    notes = re.findall(r'<note pname="(\w)" oct="(\d)"[^>]*?(?: accid="(\w+)")?/?>(<accid[^>]*>)?', mei)
    assert [(p, o, a, bool(c)) for p, o, a, c in notes] == [
        ("c", "5", "n", False), ("c", "5", "", False), ("c", "5", "s", False), ("c", "4", "n", False),
        ("g", "4", "s", False), ("g", "4", "", False),  # the tied note shows nothing
        ("g", "4", "", True),  # the G# after a tie over the bar line: a cautionary sharp
        ("g", "4", "n", False), ("g", "4", "s", False), ("e", "4", "s", False), ("b", "4", "ff", False),
    ]  # fmt: skip
    assert '<multiRest num="3"/>' in mei and mei.count("<mRest/>") == 1  # three bars of rest, then one


def canonical(svg: str) -> str:
    """An SVG with verovio's random ids replaced by their order of appearance, and the empty groups of
    accidentals that are only sounded (the Humdrum reader records them; nothing is drawn) dropped."""
    svg = re.sub(r'<g id="[^"]+" class="accid"/>', "", svg)
    svg = re.sub(r"<style.*?</style>", "", svg, flags=re.S)  # scoped by a random id
    svg = svg.replace(re.search(r'<svg [^>]*id="([^"]+)"', svg).group(1), "ROOT")  # also in glyph names
    svg = re.sub(r'class="(\w+MilestoneEnd) [^"]+"', r'class="\1"', svg)
    svg = re.sub(r" id-[^\" ]+", " id-X", svg)
    names: dict[str, str] = {}
    return re.sub(
        r'(id="|href="#)([^"]+)"', lambda m: m[1] + names.setdefault(m[2], f"i{len(names)}") + '"', svg
    )


def engraved_both_ways(events, **kw) -> tuple[list[str], list[str]]:
    return (
        [canonical(p) for p in engrave(to_kern(events, **kw), "humdrum")],
        [canonical(p) for p in engrave(to_mei(events, **kw), "mei")],
    )


@pytest.mark.parametrize(
    "events, kw",
    [(MELODY, {"key_sharps": 1}), (ACCIDENTALS, {"key_sharps": 2}), (ACCIDENTALS, {"key_sharps": -6}),
     (PICKUP_TIE, {}),
     ([note("C", 5, 1.25), note("C#", 5, 2.75), note("D", 5, 0.125), rest(1.75), note("A", 4, 10.0)],
      {"pickup": 0.5})],
    ids=["two bars", "accidentals in D", "accidentals in G-flat", "pickup and tie", "odd values"],
)  # fmt: skip
def test_mei_engraves_the_same_page_as_humdrum(events, kw):
    kern, mei = engraved_both_ways(events, **kw)
    assert kern == mei


def test_mei_engraves_real_chorales_as_humdrum_does():
    from bachlstm.corpus.cache import load_corpus
    from bachlstm.corpus.selection import SelectionConfig, select

    melodies = select(load_corpus(), SelectionConfig(time_signatures=(), voice="all")).melodies[::60]
    assert len(melodies) > 20
    for m in melodies:
        kern, mei = engraved_both_ways(
            m.events, key_sharps=m.key_sharps, pickup=m.meta.get("pickup_quarters")
        )
        assert kern == mei, m.piece_id


def test_what_mei_does_not_write_is_engraved_from_kern():
    triplets = [note("C", 5, 1 / 3), note("D", 5, 1 / 3), note("E", 5, 1 / 3), note("F", 5, 3.0)]
    # a tie to nothing: the Humdrum reader draws it in red
    broken = [note("C", 5, 1.0, tie="start"), rest(1.0)]
    for events in (triplets, broken):
        assert to_mei(events) is None
        pages = to_svg(events)
        assert len(pages) == 1 and pages[0].count('class="note"') == len([e for e in events if not e.is_rest])


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


def test_a_tightly_set_line_engraves_without_a_word_on_stderr(capfd):
    # Eight bars of quarters in 450 px: verovio warns "Justification is highly compressed" for it unless
    # its log is limited to errors. A server whose output nobody reads hung on such warnings.
    crowded = [note("F", 4, 1.0), *([note("A", 4, 1.0)] * 31)]
    capfd.readouterr()
    pages = to_svg(crowded, page_width=450)
    assert sum(len(re.findall(r'class="note"', p)) for p in pages) == 32
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_every_thread_engraves_with_the_one_toolkit_of_the_verovio_thread():
    import threading

    from bachlstm.music.render import ENGRAVER

    seen = []
    threads = [threading.Thread(target=lambda: seen.append(ENGRAVER.run(id))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 3 and len(set(seen)) == 1  # made once, not per thread (each rerun is a thread)
    with pytest.raises(RuntimeError, match="verovio could not read"):
        engrave("<mei><not closed", "mei")
    after = to_svg(MELODY, key_sharps=1)  # the thread still serves after a job failed
    assert len(re.findall(r'class="note"', after[0])) == 7


def test_kern_marks_the_first_events_grey():
    from bachlstm.music.render import MARKED_COLOUR

    kern = to_kern(MELODY, key_sharps=1, marked=2).splitlines()
    assert kern[6:9] == ["4g@", "8aL@", "8bJ"]
    assert kern[-1] == f'!!!RDF**kern: @ = marked note, color="{MARKED_COLOUR}"'
    assert "@" not in to_kern(MELODY, key_sharps=1)
