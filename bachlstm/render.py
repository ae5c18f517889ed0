"""Cheap rendering straight from events, for the Sampling page's hot path: sheet music (Humdrum **kern
read by verovio), the key signature (music21's key analysis, redone with numpy) and a bounded cache
by content. No music21 stream is built; MIDI and MusicXML export stay in music.py (built on download).
"""

from __future__ import annotations

import math
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from importlib.resources import files

import verovio

from bachlstm.events import Event
from bachlstm.music import BAR_QUARTERS, DEFAULT_TEMPO, infer_pickup
from bachlstm.pitches import FIFTHS_LETTERS, alteration, estimate_key_sharps, midi_of, pitch_class_name

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


def kern_pitch(e: Event, key_sharps: int = 0) -> str:
    """kern pitch of a note: c = C4, cc = C5, C = C3, CC = C2; '#', '-' for sharps and flats."""
    name, octave = e.pitch, e.octave
    if not name or octave is None or midi_of(name, octave) != e.midi:
        name = pitch_class_name(e.midi % 12, key_sharps)  # trust midi over a spelling we cannot read
        octave = (e.midi - alteration(name)) // 12 - 1  # B#3 is MIDI 60: the octave of the letter
    letter = name[0]
    text = letter.lower() * (octave - 3) if octave >= 4 else letter.upper() * (4 - octave)
    return text + name[1:]


def key_signature_token(sharps: int) -> str:
    """`*k[f#c#]` for two sharps, `*k[b-]` for one flat, `*k[]` for none."""
    if sharps >= 0:
        return "*k[" + "".join(s.lower() + "#" for s in FIFTHS_LETTERS[:sharps]) + "]"
    return "*k[" + "".join(s.lower() + "-" for s in FIFTHS_LETTERS[::-1][:-sharps]) + "]"


def to_kern(
    events: Sequence[Event],
    *,
    key_sharps: int | None = None,
    pickup: float | None = None,
    tempo_bpm: float = DEFAULT_TEMPO,
) -> str:
    """A one-spine Humdrum **kern score in 4/4: bars, ties across bar lines, key signature, tempo.

    Events are laid end to end (zero-length ones skipped); `key_sharps` None = estimated, `pickup`
    None = `music.infer_pickup`. The same layout as music.to_score, for verovio.
    """
    events = [e for e in events if e.quarter_length > 0]
    key_sharps = estimate_key_sharps(events) if key_sharps is None else key_sharps
    pickup = infer_pickup(events) if pickup is None else pickup
    lines = ["**kern", "*clefG2", key_signature_token(int(key_sharps)), "*M4/4", f"*MM{tempo_bpm:g}"]
    number = 0 if pickup > 0 else 1
    room = pickup if pickup > 0 else BAR_QUARTERS
    if number == 1:
        lines.append("=1-")  # an invisible bar line: measure 1 starts the piece
    for e in events:
        left, first = e.quarter_length, True
        tied_in = not e.is_rest and e.tie in ("stop", "continue")
        tied_out = not e.is_rest and e.tie in ("start", "continue")
        while left > 1e-9:
            if room <= 1e-9:
                number += 1
                lines.append(f"={number}")
                room = BAR_QUARTERS
            span = min(left, room)
            left, room = left - span, room - span
            pieces = spell(span)
            for i, (_, dur) in enumerate(pieces):
                if e.is_rest:
                    lines.append(f"{dur}r")
                    continue
                has_in = not first or tied_in or i > 0
                has_out = left > 1e-9 or tied_out or i < len(pieces) - 1
                start = "[" if has_out and not has_in else ""
                end = {(True, True): "_", (True, False): "]"}.get((has_in, has_out), "")
                lines.append(f"{start}{dur}{kern_pitch(e, key_sharps)}{end}")
            first = False
    lines += ["==", "*-"]
    return "\n".join(lines) + "\n"


# --- verovio ---------------------------------------------------------------------------------------

_local = threading.local()


def _toolkit() -> verovio.toolkit:
    """One verovio toolkit per thread (it is not thread-safe; making one loads fonts, ~10 ms)."""
    tk = getattr(_local, "toolkit", None)
    if tk is None:
        # verovio loads its fonts per thread: a toolkit made in a second thread (Streamlit runs each
        # rerun in one) finds no fonts unless the resource path is given explicitly (verovio 6.4.1).
        tk = verovio.toolkit(False)
        tk.setResourcePath(str(files("verovio") / "data"))
        _local.toolkit = tk
    return tk


def kern_to_svg(kern: str, *, page_width: int = 1000, scale: int = 40, all_pages: bool = True) -> list[str]:
    """SVG pages of a **kern score from verovio; RuntimeError when verovio cannot read it."""
    tk = _toolkit()
    tk.setOptions(
        {
            "pageWidth": page_width,
            "scale": scale,
            "adjustPageHeight": True,
            "header": "none",
            "footer": "none",
            "breaks": "auto",
            "inputFrom": "humdrum",
            "svgFormatRaw": True,  # no indentation: a third smaller
        }
    )
    if not tk.loadData(kern):
        raise RuntimeError("verovio could not read the score it was given")
    n = tk.getPageCount() if all_pages else 1
    return [tk.renderToSVG(i) for i in range(1, n + 1)]


def to_svg(events: Sequence[Event], *, page_width: int = 1000, all_pages: bool = True, **kwargs) -> list[str]:
    """Sheet music of the events as SVG pages (kern -> verovio); [] when there is nothing to engrave."""
    if not any(e.quarter_length > 0 for e in events):
        return []
    return kern_to_svg(to_kern(events, **kwargs), page_width=page_width, all_pages=all_pages)


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
    return sys.getsizeof(value)
