"""Cheap rendering straight from events, for the Sampling page's hot path: sheet music (MEI, or Humdrum
**kern for what our MEI does not write, engraved by verovio), the key signature (music21's key analysis,
redone with numpy) and a bounded cache by content. No music21 stream is built; MIDI and MusicXML export
stay in music.py (built on download).

Both scores come from one layout (`measures`); verovio reads our MEI in about half the time it takes to
read the **kern, and engraves the same page (tests/music/test_render.py compares the SVGs).
"""

from __future__ import annotations

import math
import queue
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from importlib.resources import files

import verovio

from bachlstm.music.events import Event
from bachlstm.music.pitches import FIFTHS_LETTERS, alteration, estimate_key_sharps, midi_of, pitch_class_name
from bachlstm.music.scores import BAR_QUARTERS, DEFAULT_TEMPO, infer_pickup

# --- Humdrum **kern --------------------------------------------------------------------------------


def recip(ql: float) -> str | None:
    """The kern duration ("4" quarter, "8." dotted eighth, "2.." ...) of one written value, None if none."""
    for dots in range(3):
        base = ql / (2 - 0.5**dots)  # a value with d dots lasts base * (2 - 1/2**d)
        r = 4 / base
        if abs(r - round(r)) < 1e-6 and round(r) >= 1 and (round(r) & (round(r) - 1)) == 0:
            return f"{round(r)}{'.' * dots}"
    if abs(ql - 8) < 1e-6:
        return "0"  # a breve
    r = 4 / ql
    if abs(r - round(r)) < 1e-6:  # a tuplet value such as 12 (triplet eighth)
        return str(round(r))
    return None


def spell(ql: float) -> list[tuple[float, str]]:
    """(quarter length, kern duration) pieces, longest first, that add up to `ql` (tied when several)."""
    pieces: list[tuple[float, str]] = []
    left = ql
    while left > 1e-6:
        one = recip(left)
        if one is not None:
            pieces.append((left, one))
            break
        # the longest plain value that fits, down to a 64th; odd remainders are dropped below that
        part = 2.0 ** math.floor(math.log2(left))
        if part < 1 / 16:
            break
        pieces.append((part, recip(part)))
        left -= part
    return pieces


def written_pitch(e: Event, key_sharps: int = 0) -> tuple[str, int]:
    """(spelled name, octave) a note is written with: its own spelling, or one from its MIDI number and
    the key when the spelling is missing or disagrees with the MIDI number (trust midi)."""
    name, octave = e.pitch, e.octave
    if not name or octave is None or midi_of(name, octave) != e.midi:
        name = pitch_class_name(e.midi % 12, key_sharps)
        octave = (e.midi - alteration(name)) // 12 - 1  # B#3 is MIDI 60: the octave of the letter
    return name, octave


def kern_pitch(e: Event, key_sharps: int = 0) -> str:
    """kern pitch of a note: c = C4, cc = C5, C = C3, CC = C2; '#', '-' for sharps and flats."""
    name, octave = written_pitch(e, key_sharps)
    letter = name[0]
    text = letter.lower() * (octave - 3) if octave >= 4 else letter.upper() * (4 - octave)
    return text + name[1:]


def key_signature_token(sharps: int) -> str:
    """`*k[f#c#]` for two sharps, `*k[b-]` for one flat, `*k[]` for none."""
    if sharps >= 0:
        return "*k[" + "".join(s.lower() + "#" for s in FIFTHS_LETTERS[:sharps]) + "]"
    return "*k[" + "".join(s.lower() + "-" for s in FIFTHS_LETTERS[::-1][:-sharps]) + "]"


@dataclass(frozen=True)
class Written:
    """One written note or rest: its event, its kern duration ("4", "8.", "12") and its tie marks."""

    event: Event
    recip: str
    tied_in: bool  # a tie arrives from the note before (never on a rest)
    tied_out: bool  # a tie leaves for the note after
    index: int  # the event's place among the events written (zero-length ones skipped)

    @property
    def tuplet(self) -> bool:
        """A value only a tuplet writes (a triplet eighth is "12"): not a power of two."""
        n = int(self.recip.rstrip("."))
        return n > 0 and n & (n - 1) != 0

    @property
    def quarters(self) -> float:
        """How long the written value lasts, in quarters (a breve "0" is 8)."""
        n, dots = int(self.recip.rstrip(".")), len(self.recip) - len(self.recip.rstrip("."))
        return (8.0 if n == 0 else 4 / n) * (2 - 0.5**dots)


def beams(bar: Sequence[Written], start: float = 0.0) -> list[tuple[int, int]]:
    """(first, last) positions in `bar` of the notes beamed together: two or more neighbouring notes
    shorter than a quarter (no tuplet values) within one beat; a rest or a longer value breaks a beam.
    `start`: where the bar's first value begins in its 4/4 bar (a pickup bar begins late). Unbeamed,
    each eighth and sixteenth carried a flag, and at a tight spacing the flags ran into their neighbours."""
    groups: list[tuple[int, int]] = []
    run: list[int] = []
    beat = None
    at = start
    for i, w in enumerate(bar):
        end = at + w.quarters
        short = not w.event.is_rest and not w.tuplet and w.quarters < 1 - 1e-9
        this_beat = math.floor(at + 1e-9)
        if short and math.floor(end - 1e-9) == this_beat and (not run or this_beat == beat):
            run.append(i)
        else:
            if len(run) > 1:
                groups.append((run[0], run[-1]))
            run = [i] if short and math.floor(end - 1e-9) == this_beat else []
        beat = this_beat
        at = end
    if len(run) > 1:
        groups.append((run[0], run[-1]))
    return groups


def bar_starts(bars: Sequence[Sequence[Written]], pickup: float) -> list[float]:
    """Where each bar's first value begins in its 4/4 bar: a pickup bar late, every other at 0."""
    return [BAR_QUARTERS - pickup if i == 0 and pickup > 0 else 0.0 for i in range(len(bars))]


def measures(events: Sequence[Event], pickup: float) -> list[list[Written]]:
    """The events written in 4/4 measures (the first one the pickup when `pickup` > 0): a value that
    crosses a bar line, or that no single value spells, becomes tied pieces. Zero-length events are
    skipped; durations below a 64th left over by `spell` are dropped."""
    bars: list[list[Written]] = [[]]
    room = pickup if pickup > 0 else BAR_QUARTERS
    for index, e in enumerate(e for e in events if e.quarter_length > 0):
        left, first = e.quarter_length, True
        tied_in = not e.is_rest and e.tie in ("stop", "continue")
        tied_out = not e.is_rest and e.tie in ("start", "continue")
        while left > 1e-9:
            if room <= 1e-9:
                bars.append([])
                room = BAR_QUARTERS
            span = min(left, room)
            left, room = left - span, room - span
            pieces = spell(span)
            for i, (_, dur) in enumerate(pieces):
                has_in = not e.is_rest and (not first or tied_in or i > 0)
                has_out = not e.is_rest and (left > 1e-9 or tied_out or i < len(pieces) - 1)
                bars[-1].append(Written(e, dur, has_in, has_out, index))
            first = False
    return bars if bars[0] else []


MARKED_COLOUR = "#8c8c8c"  # the first `marked` events (a primer) are drawn in this grey


def to_kern(
    events: Sequence[Event],
    *,
    key_sharps: int | None = None,
    pickup: float | None = None,
    tempo_bpm: float = DEFAULT_TEMPO,
    marked: int = 0,
) -> str:
    """A one-spine Humdrum **kern score in 4/4: bars, ties across bar lines, key signature, tempo.

    Events are laid end to end (zero-length ones skipped); `key_sharps` None = estimated, `pickup`
    None = `music.infer_pickup`. The same layout as music.to_score, for verovio. The first `marked`
    events (a primer) are drawn in MARKED_COLOUR (a Humdrum "marked note" signifier).
    """
    events = [e for e in events if e.quarter_length > 0]
    key_sharps = estimate_key_sharps(events) if key_sharps is None else int(key_sharps)
    pickup = infer_pickup(events) if pickup is None else pickup
    lines = ["**kern", "*clefG2", key_signature_token(key_sharps), "*M4/4", f"*MM{tempo_bpm:g}"]
    first = 0 if pickup > 0 else 1
    if first == 1:
        lines.append("=1-")  # an invisible bar line: measure 1 starts the piece
    bars = measures(events, pickup)
    for number, (bar, at) in enumerate(zip(bars, bar_starts(bars, pickup)), start=first):
        if number > first:
            lines.append(f"={number}")
        beam = {a: "L" for a, _b in beams(bar, at)} | {b: "J" for _a, b in beams(bar, at)}
        for j, w in enumerate(bar):
            mark = "@" if w.index < marked else ""
            if w.event.is_rest:
                lines.append(f"{w.recip}r{mark}")
                continue
            start = "[" if w.tied_out and not w.tied_in else ""
            end = {(True, True): "_", (True, False): "]"}.get((w.tied_in, w.tied_out), "")
            lines.append(f"{start}{w.recip}{kern_pitch(w.event, key_sharps)}{end}{beam.get(j, '')}{mark}")
    lines += ["==", "*-"]
    if marked > 0:
        lines.append(f'!!!RDF**kern: @ = marked note, color="{MARKED_COLOUR}"')
    return "\n".join(lines) + "\n"


# --- MEI --------------------------------------------------------------------------------------------

MEI_ACCID = {2: "x", 1: "s", 0: "n", -1: "f", -2: "ff"}  # written accidentals by alteration


def key_alterations(sharps: int) -> dict[str, int]:
    """The alteration the key signature gives each letter: {"F": 1, "C": 1, ...} for two sharps."""
    letters = FIFTHS_LETTERS[:sharps] if sharps >= 0 else FIFTHS_LETTERS[::-1][:-sharps]
    return {letter: (1 if sharps > 0 else -1) for letter in letters}


def mei_measure(
    bar: Sequence[Written],
    first: int,
    key: dict[str, int],
    key_sharps: int,
    marked: int = 0,
    start: float = 0.0,
) -> str:
    """One MEI measure's layer and ties; `first` numbers its first piece (tied notes get ids "n<number>").

    Accidentals as verovio's Humdrum reader decides them (humlib's analyzeKernAccidentals): shown where
    a note differs from the key or from an earlier note of the same letter and octave in the measure,
    never on a note a tie arrives at; when a bar opens with such a note off the key, the next note of
    that letter and octave shows its accidental as a cautionary one. The first `marked` events (a primer)
    are drawn in MARKED_COLOUR.
    """
    state: dict[tuple[str, int], int | None] = {}  # None: the next note must show its accidental
    items, ties = [], []
    for j, w in enumerate(bar, start=first):
        dur = w.recip.rstrip(".")
        attrs = f' dur="{dur}"' + (f' dots="{len(w.recip) - len(dur)}"' if w.recip != dur else "")
        if w.index < marked:
            attrs += f' color="{MARKED_COLOUR}"'
        if w.event.is_rest:
            items.append(f"<rest{attrs}/>")
            continue
        name, octave = written_pitch(w.event, key_sharps)
        alter, place, inner = alteration(name), (name[0], octave), ""
        if w.tied_in:
            if j == first and alter != key.get(name[0], 0):
                state[place] = None
        elif place in state and state[place] is None:
            # func and type both, as the Humdrum reader writes them (type becomes the SVG's class)
            inner = f'<accid accid="{MEI_ACCID[alter]}" func="caution" type="caution"/>'
            state[place] = alter
        elif state.get(place, key.get(name[0], 0)) != alter:
            attrs += f' accid="{MEI_ACCID[alter]}"'
            state[place] = alter
        if w.tied_in or w.tied_out:
            attrs = f' xml:id="n{j}"{attrs}'
        if w.tied_out:
            ties.append(f'<tie startid="#n{j}" endid="#n{j + 1}"/>')
        note = f'<note pname="{name[0].lower()}" oct="{octave}"{attrs}'
        items.append(f"{note}>{inner}</note>" if inner else f"{note}/>")
    for a, b in reversed(beams(bar, start)):  # the beamed notes (`beams`) inside one <beam>
        items[a : b + 1] = [f"<beam>{''.join(items[a : b + 1])}</beam>"]
    return f'<staff n="1"><layer n="1">{"".join(items)}</layer></staff>{"".join(ties)}'


def whole_rest(bar: Sequence[Written]) -> bool:
    """A bar that is one whole rest (Humdrum "1r" alone)."""
    return len(bar) == 1 and bar[0].event.is_rest and bar[0].recip == "1"


def bar_runs(bars: Sequence[Sequence[Written]]) -> list[tuple[int, int]]:
    """(first bar, number of bars) per written measure: each bar alone, except that consecutive bars of
    whole rest join into one (verovio's Humdrum reader writes them as one multi-bar rest)."""
    runs: list[tuple[int, int]] = []
    for i, bar in enumerate(bars):
        if runs and whole_rest(bar) and whole_rest(bars[runs[-1][0]]):
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


def mei_writable(bars: Sequence[Sequence[Written]]) -> bool:
    """True when MEI here writes these measures as the Humdrum reader would: no tuplet values, and every
    tie joins two neighbouring pieces of one pitch (a broken tie is drawn in red from Humdrum)."""
    pieces = [w for bar in bars for w in bar]
    after = pieces[1:] + [None]
    before = [None] + pieces[:-1]
    for w, nxt, prev in zip(pieces, after, before):
        if w.tuplet:
            return False
        if w.tied_out and (nxt is None or not nxt.tied_in or nxt.event.midi != w.event.midi):
            return False
        if w.tied_in and (prev is None or not prev.tied_out):
            return False
    return True


def to_mei(
    events: Sequence[Event],
    *,
    key_sharps: int | None = None,
    pickup: float | None = None,
    tempo_bpm: float = DEFAULT_TEMPO,
    marked: int = 0,
) -> str | None:
    """The score of `to_kern` as MEI, verovio's own format: it reads MEI in half the time it takes to
    read Humdrum and engraves the same page. None where `mei_writable` says no (tuplets, broken ties)."""
    events = [e for e in events if e.quarter_length > 0]
    key_sharps = estimate_key_sharps(events) if key_sharps is None else int(key_sharps)
    pickup = infer_pickup(events) if pickup is None else pickup
    bars = measures(events, pickup)
    if not mei_writable(bars):
        return None
    key = key_alterations(key_sharps)
    sig = "0" if key_sharps == 0 else f"{abs(key_sharps)}{'s' if key_sharps > 0 else 'f'}"
    out = [
        '<mei xmlns="http://www.music-encoding.org/ns/mei" meiversion="5.1"><meiHead/>',  # no warnings
        "<music><body><mdiv><score>",
        f'<scoreDef midi.bpm="{tempo_bpm:g}"><staffGrp><staffDef n="1" lines="5"><clef shape="G" line="2"/>',
        f'<keySig sig="{sig}"/><meterSig count="4" unit="4"/></staffDef></staffGrp></scoreDef><section>',
    ]
    first, piece = (0 if pickup > 0 else 1), 0
    runs, starts = bar_runs(bars), bar_starts(bars, pickup)
    for k, (start, count) in enumerate(runs):
        n = f' n="{first + start}"' if first + start else ""  # a pickup is measure 0, unnumbered
        end = ' right="end"' if k == len(runs) - 1 else ""
        if whole_rest(bars[start]):  # one bar's rest, or one sign for several bars of rest
            rest = "<mRest/>" if count == 1 else f'<multiRest num="{count}"/>'
            out.append(f'<measure{n}{end}><staff n="1"><layer n="1">{rest}</layer></staff></measure>')
        else:
            out.append(
                f"<measure{n}{end}>{mei_measure(bars[start], piece, key, key_sharps, marked, starts[start])}"
                "</measure>"
            )
        piece += sum(len(bar) for bar in bars[start : start + count])
    out.append("</section></score></mdiv></body></music></mei>")
    return "".join(out)


# --- verovio ---------------------------------------------------------------------------------------


class Engraver:
    """verovio in one thread of its own, which every caller hands its scores to and waits for.

    Streamlit runs each rerun of each session in a new thread, and a verovio toolkit belongs to the
    thread that made it (verovio keeps its fonts per thread): a toolkit per thread loaded the fonts
    again at every rerun, about 6 ms of server CPU per Generate. One rendering thread that owns the
    toolkit is also what verovio's maintainers advise for threaded programs (verovio issue #3192).
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self, job: Callable[[verovio.toolkit], object]) -> object:
        """`job(toolkit)` run in the rendering thread; its result, or its exception raised here."""
        with self._start:  # a forked child inherits no threads: it starts its own
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="verovio", daemon=True)
                self._thread.start()
        future: Future = Future()
        self._jobs.put((job, future))
        return future.result()

    def _serve(self) -> None:
        # Errors only: verovio warns on stderr about every tightly set line ("Justification is highly
        # compressed"), hundreds of lines per class minute in the server's log.
        verovio.enableLog(verovio.LOG_ERROR)
        toolkit = verovio.toolkit(False)  # the resource path given: a thread's own fonts load from it
        toolkit.setResourcePath(str(files("verovio") / "data"))
        while True:
            job, future = self._jobs.get()
            try:
                future.set_result(job(toolkit))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
                future.set_exception(exc)


ENGRAVER = Engraver()  # one per process


# Narrow margins and tighter horizontal spacing than verovio's (margins 50, spacingLinear 0.25,
# spacingNonLinear 0.6): a Sampling column's page (450 wide) held one bar per system, about 12 screens of
# sheet music at 800 px; with these, 2.0 bars per system on the first parts of 40 chorales at the same
# staff size (measured: 1.0 before), and 5 on a focus or projector page (1100).
COMPACT = {"pageMarginLeft": 10, "pageMarginRight": 10, "spacingLinear": 0.15, "spacingNonLinear": 0.5}


def engrave(
    score: str, input_from: str, *, page_width: int = 1000, scale: int = 40, all_pages: bool = True
) -> list[str]:
    """SVG pages of a score in verovio's `input_from` format ("mei", "humdrum"); RuntimeError when verovio
    cannot read it. Engraved in the process's verovio thread (`ENGRAVER`)."""
    options = {
        "pageWidth": page_width,
        "scale": scale,
        **COMPACT,
        "adjustPageHeight": True,
        "header": "none",
        "footer": "none",
        "breaks": "auto",
        "inputFrom": input_from,
        "svgFormatRaw": True,  # no indentation: a third smaller
    }

    def job(tk: verovio.toolkit) -> list[str]:
        tk.setOptions(options)
        if not tk.loadData(score):
            raise RuntimeError("verovio could not read the score it was given")
        n = tk.getPageCount() if all_pages else 1
        return [tk.renderToSVG(i) for i in range(1, n + 1)]

    return ENGRAVER.run(job)


def to_svg(
    events: Sequence[Event],
    *,
    page_width: int = 1000,
    all_pages: bool = True,
    key_sharps: int | None = None,
    pickup: float | None = None,
    marked: int = 0,
) -> list[str]:
    """Sheet music of the events as SVG pages; [] when there is nothing to engrave. `key_sharps` None =
    estimated, `pickup` None = `music.infer_pickup`, the first `marked` events (a primer) in grey.
    Written as MEI, or as **kern where MEI here does not write the same score (tuplets, broken ties):
    verovio engraves both alike, MEI in less time."""
    marked_events = list(events[: max(marked, 0)])
    events = [e for e in events if e.quarter_length > 0]
    if not events:
        return []
    marked = sum(1 for e in marked_events if e.quarter_length > 0)  # counted among the kept events
    key_sharps = estimate_key_sharps(events) if key_sharps is None else int(key_sharps)
    pickup = infer_pickup(events) if pickup is None else pickup
    kw = {"page_width": page_width, "all_pages": all_pages}
    mei = to_mei(events, key_sharps=key_sharps, pickup=pickup, marked=marked)
    if mei is not None:
        return engrave(mei, "mei", **kw)
    kern = to_kern(events, key_sharps=key_sharps, pickup=pickup, marked=marked)
    return engrave(kern, "humdrum", **kw)


# --- a bounded cache by content --------------------------------------------------------------------


class ContentCache:
    """A thread-safe LRU of rendered results, bounded by their total size in bytes (server-wide).

    `get(key, make)` returns the cached value or makes, stores and returns it; two threads asking for
    the same missing key may both make it (rendering is pure, so either result is right).
    """

    def __init__(self, max_bytes: int = 64 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.size = 0
        self.hits = self.misses = 0

    def get(self, key: Hashable, make: Callable[[], object]) -> object:
        """The value for `key`, made by `make()` on a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key][0]
            self.misses += 1
        value = make()
        size = size_of(value)
        with self._lock:
            if key not in self._items and size <= self.max_bytes:
                self._items[key] = (value, size)
                self.size += size
                while self.size > self.max_bytes:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self.size -= dropped
        return value

    def __len__(self) -> int:
        return len(self._items)


def size_of(value: object) -> int:
    """Bytes a rendered value holds: strings and bytes by length, containers summed, others by getsizeof."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(size_of(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(size_of(v) for v in value)
    memory = getattr(value, "memory_usage", None)  # a pandas DataFrame
    if callable(memory):
        return int(memory(deep=True).sum())
    nbytes = getattr(value, "nbytes", None)  # a pyarrow Table, a numpy array
    if isinstance(nbytes, int):
        return nbytes
    return sys.getsizeof(value)
