"""Tokenizers (factored sub-words and one-token-per-event) with deterministic vocabularies.

Which token may follow which is the tokenizer's grammar, in `bachlstm.tokens.grammar`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bachlstm.music.durations import (
    BASE_QL,
    MAX_DOTS,
    duration_ql,
    duration_type_of,
    format_ql,
    parse_ql,
    representable_duration,
)
from bachlstm.music.events import Event, Melody
from bachlstm.music.pitches import PITCH_NAME_PATTERN, midi_of, transpose

log = logging.getLogger(__name__)

# Fixed ids: models, checkpoints and the loss (`ignore_index=PAD`) rely on them.
PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
FORMAT_VERSION = 1

_PITCH_RE = re.compile(f"^{PITCH_NAME_PATTERN}$")
_NOTE_TOKEN_RE = re.compile(f"^({PITCH_NAME_PATTERN})(\\d+)_([0-9./]+)$")


class TokenizerError(ValueError):
    """A tokenizer description (name, options, vocabulary) is invalid."""


def validity(n_groups: int, n_invalid: int) -> float:
    """Share of token groups that decode into a note or rest: 1 - invalid/groups; 1.0 if there is no group."""
    return 1.0 if n_groups == 0 else 1.0 - n_invalid / n_groups


@dataclass(frozen=True)
class DecodeResult:
    """Decoded events plus counts: groups (note/rest candidates), invalid groups, UNK tokens seen.

    A group containing UNK is invalid; so `n_invalid >= (groups holding an UNK)`.
    """

    events: tuple[Event, ...]
    n_groups: int
    n_invalid: int
    n_unknown: int

    @property
    def validity(self) -> float:
        """Share of groups that became a note or rest (1.0 when there are no groups)."""
        return validity(self.n_groups, self.n_invalid)


# ---------------------------------------------------------------- music helpers


def _place(durations_and_bars: list[tuple[float, int]], bar_quarters: float, bars_known: bool, n_bars=0):
    """(measure, beat) for each (quarter_length, bar index) of a decoded line with `n_bars` BARs.

    With bar tokens the first bar is a pickup when a BAR closed it short: it is measure 0 and its
    beats count from the end of the bar, as music21 numbers them. Without bar tokens, bars are cut
    every `bar_quarters` from the start (no pickup can be known).
    """
    out = []
    if not bars_known:
        offset = 0.0
        for ql, _ in durations_and_bars:
            out.append((1 + int(offset // bar_quarters), 1.0 + offset % bar_quarters))
            offset += ql
        return out
    first_len = sum(ql for ql, bar in durations_and_bars if bar == 0)
    pickup = n_bars > 0 and 0 < first_len < bar_quarters  # a BAR closed the short first bar
    offset, current = 0.0, 0
    for ql, bar in durations_and_bars:
        if bar != current:
            offset, current = 0.0, bar
        shift = bar_quarters - first_len if (pickup and bar == 0) else 0.0
        out.append((bar if pickup else bar + 1, 1.0 + shift + offset))
        offset += ql
    return out


def _placed(e: Event, tie: str | None, measure: int, beat: float) -> Event:
    # Direct construction: dataclasses.replace is several times slower and decoding does this per event.
    return Event(
        e.kind, e.quarter_length, e.duration_type, e.dots, e.pitch, e.octave, e.midi, tie, measure, beat
    )


def _events_of(items) -> Sequence[Event]:
    return items.events if isinstance(items, Melody) else items


# ---------------------------------------------------------------- tokenizers


class Tokenizer:
    """Common interface: `name`, `vocab`, `encode`, `decode`, `token_type`, `to_dict`."""

    name = ""
    OPTIONS: dict = {}

    def __init__(self, vocab: Sequence[str], **options) -> None:
        self.options = self.check_options(options)
        vocab = list(vocab)
        if tuple(vocab[:4]) != SPECIALS:
            raise TokenizerError(f"vocabulary must start with {list(SPECIALS)}, got {vocab[:4]}")
        rest = vocab[4:]
        if rest != sorted(set(rest)):
            raise TokenizerError("vocabulary after the special tokens must be sorted and without duplicates")
        for tok in rest:
            if tok in SPECIALS or self._classify(tok) is None:
                raise TokenizerError(f"{tok!r} is not a valid {self.name!r} token")
        self.vocab = vocab
        self.index = {tok: i for i, tok in enumerate(vocab)}
        self._parsed: dict = {}  # token id or group -> its decoded (frozen, shareable) event
        self._types = [self._type_of(tok) for tok in vocab]

    def __len__(self) -> int:
        return len(self.vocab)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.vocab), tuple(sorted(self.options.items()))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(V={len(self.vocab)}, {self.options})"

    @property
    def vocab_size(self) -> int:
        """Number of token ids, specials included."""
        return len(self.vocab)

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """The full option dict (defaults filled in); TokenizerError naming a bad option."""
        unknown = set(options) - set(cls.OPTIONS)
        if unknown:
            raise TokenizerError(
                f"unknown option(s) {sorted(unknown)} for the {cls.name!r} tokenizer; "
                f"known: {sorted(cls.OPTIONS)}"
            )
        full = {**cls.OPTIONS, **options}
        for key, default in cls.OPTIONS.items():
            if isinstance(default, bool) and not isinstance(full[key], bool):
                raise TokenizerError(f"option {key} must be True or False, got {full[key]!r}")
        return full

    def _type_of(self, tok: str) -> str:
        if tok in SPECIALS:
            return tok.strip("<>")
        return self._classify(tok)

    def token_type(self, token_id: int) -> str:
        """Type name of a token id ("pad", "unk", "bos", "eos", or the tokenizer's content types)."""
        return self._types[token_id]

    def token_id(self, token: str) -> int:
        """Id of a token string, UNK if it is not in the vocabulary."""
        return self.index.get(token, UNK)

    def count_unknown(self, ids: Iterable[int]) -> int:
        """Number of UNK ids in a token sequence."""
        return sum(1 for i in ids if i == UNK)

    def to_dict(self) -> dict:
        """JSON-safe description; `tokenizer_from_dict` rebuilds an equal tokenizer."""
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "options": dict(self.options),
            "vocab": list(self.vocab),
        }

    # subclasses: _classify, content_tokens, encode, decode

    def _classify(self, tok: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def content_tokens(cls, events: Sequence[Event], options: dict) -> set[str]:  # pragma: no cover
        raise NotImplementedError


class FactoredTokenizer(Tokenizer):
    """The workshop's sub-words: a note is [pitch, 'o'+octave, type, 'd'+dots, sep], a rest [type, dots, sep].

    `rest_marker=False` is the original exactly. `rest_marker=True` puts a "rest" token before a
    rest's duration so every group says what it is. Ties and tuplets are not modelled (as in the
    original): a tie is dropped, and a duration its type and dots cannot spell becomes UNK.
    """

    name = "factored"
    OPTIONS = {"rest_marker": False}
    SEP = " "  # the original's separator token, kept verbatim
    REST = "rest"

    def _classify(self, tok: str) -> str | None:
        if tok == self.SEP:
            return "separator"
        if tok == self.REST:
            return "rest" if self.options["rest_marker"] else None
        if tok in BASE_QL:
            return "duration"
        if re.fullmatch(r"o\d+", tok):
            return "octave"
        if re.fullmatch(r"d\d", tok) and int(tok[1:]) <= MAX_DOTS:
            return "dots"
        if _PITCH_RE.match(tok):
            return "pitch"
        return None

    @staticmethod
    def _event_tokens(event: Event, rest_marker: bool) -> list[str | None]:
        """Tokens of one event; None where it cannot be spelled (becomes UNK)."""
        ok = representable_duration(event)
        dur = [event.duration_type if ok else None, f"d{event.dots}" if ok else None]
        if event.is_rest:
            return ([FactoredTokenizer.REST] if rest_marker else []) + dur + [FactoredTokenizer.SEP]
        return [event.pitch, f"o{event.octave}", *dur, FactoredTokenizer.SEP]

    @classmethod
    def content_tokens(cls, events: Sequence[Event], options: dict) -> set[str]:
        """Vocabulary entries (no specials) needed to encode `events`."""
        toks = {cls.SEP}
        if options.get("rest_marker"):
            toks.add(cls.REST)
        for e in events:
            toks.update(t for t in cls._event_tokens(e, options.get("rest_marker", False)) if t)
        return toks

    def encode(self, events, bos_eos: bool = True) -> list[int]:
        """Token ids of a melody (Melody or events); unknown parts become UNK."""
        ids = [BOS] if bos_eos else []
        for e in _events_of(events):
            ids.extend(
                self.index.get(t, UNK) if t else UNK
                for t in self._event_tokens(e, self.options["rest_marker"])
            )
        if bos_eos:
            ids.append(EOS)
        return ids

    def _group_event(self, toks: list[str], types: list[str]) -> Event | None:
        if types == ["pitch", "octave", "duration", "dots"]:
            ql = duration_ql(toks[2], int(toks[3][1:]))
            octave = int(toks[1][1:])
            return Event("note", ql, toks[2], int(toks[3][1:]), toks[0], octave, midi_of(toks[0], octave))
        rest_types = ["rest", "duration", "dots"] if self.options["rest_marker"] else ["duration", "dots"]
        if types == rest_types:
            return Event("rest", duration_ql(toks[-2], int(toks[-1][1:])), toks[-2], int(toks[-1][1:]))
        return None

    def decode(self, ids: Iterable[int]) -> DecodeResult:
        """Events from ids: tokens between separators form a group; a group not a note/rest is invalid."""
        events: list[Event] = []
        n_groups = n_invalid = n_unknown = 0
        group: list[int] = []

        def close() -> None:
            nonlocal n_groups, n_invalid
            n_groups += 1
            key = tuple(group)
            if key not in self._parsed:  # a melody repeats few distinct groups: parse each once
                types = [self._types[i] for i in group]
                unk = "unk" in types
                self._parsed[key] = None if unk else self._group_event([self.vocab[i] for i in group], types)
            event = self._parsed[key]
            if event is None:
                n_invalid += 1
            else:
                events.append(event)
            group.clear()

        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i in (PAD, BOS):
                continue
            if i == UNK:
                n_unknown += 1
            if self._types[i] == "separator":
                close()
            else:
                group.append(i)
        if group:  # a trailing group without its separator is unfinished
            close()
        placed = _place([(e.quarter_length, 0) for e in events], 4.0, bars_known=False)
        events = [_placed(e, e.tie, m, b) for e, (m, b) in zip(events, placed)]
        return DecodeResult(tuple(events), n_groups, n_invalid, n_unknown)


class EventTokenizer(Tokenizer):
    """One token per note ("C#4_1.5": spelled pitch, octave, quarter length) or rest ("R_1").

    `bar_tokens=True` inserts "BAR" where Event.measure changes (see `bar_breaks` for split bars)
    and once after the last event, so a pickup is simply a short first bar. `ties=True` writes "TIE"
    right after a note tied to the next one (before a BAR the tie crosses); decoding restores
    music21's start/continue/stop. `bar_quarters` is the bar length the grammar enforces (4 for 4/4).
    Durations are kept as quarter lengths, so tuplets get their own tokens ("C4_1/3") and a
    zero-length (grace) note becomes UNK.
    """

    name = "event"
    OPTIONS = {"bar_tokens": True, "ties": True, "bar_quarters": 4.0}
    BAR = "BAR"
    TIE = "TIE"
    REST = "R"

    def __init__(self, vocab: Sequence[str], **options) -> None:
        super().__init__(vocab, **options)
        for flag, tok in (("bar_tokens", self.BAR), ("ties", self.TIE)):
            if self.options[flag] and tok not in self.index:
                raise TokenizerError(f"option {flag}=True needs the token {tok!r} in the vocabulary")

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """The full option dict (defaults filled in); TokenizerError naming a bad option."""
        full = super().check_options(options)
        bq = full["bar_quarters"]
        if isinstance(bq, bool) or not isinstance(bq, int | float) or not 0 < bq <= 64:
            raise TokenizerError(f"option bar_quarters must be a number in (0, 64], got {bq!r}")
        full["bar_quarters"] = float(bq)
        return full

    def _classify(self, tok: str) -> str | None:
        if tok == self.BAR:
            return "bar" if self.options["bar_tokens"] else None
        if tok == self.TIE:
            return "tie" if self.options["ties"] else None
        try:
            if tok.startswith(self.REST + "_"):
                return "rest" if parse_ql(tok[2:]) > 0 else None
            m = _NOTE_TOKEN_RE.match(tok)
            if m and parse_ql(m.group(3)) > 0:
                return "note"
        except (ValueError, ZeroDivisionError):
            return None
        return None

    @classmethod
    def event_token(cls, event: Event) -> str | None:
        """The token string of one event; None for a zero-length event."""
        if event.quarter_length <= 0:
            return None
        dur = format_ql(event.quarter_length)
        return f"{cls.REST}_{dur}" if event.is_rest else f"{event.pitch}{event.octave}_{dur}"

    @classmethod
    def content_tokens(cls, events: Sequence[Event], options: dict) -> set[str]:
        """Vocabulary entries (no specials) needed to encode `events`."""
        toks = {t for t in map(cls.event_token, events) if t}
        if options.get("bar_tokens", cls.OPTIONS["bar_tokens"]):
            toks.add(cls.BAR)
        if options.get("ties", cls.OPTIONS["ties"]):
            toks.add(cls.TIE)
        return toks

    def bar_breaks(self, events: Sequence[Event]) -> set[int]:
        """Indices of the events a BAR goes before: where Event.measure changes, with split bars merged.

        After the first measure (full or a pickup) a BAR always follows. Later, a measure shorter
        than a bar whose successor fits into the rest of it (the 3 + 1 or 2 + 2 quarters that some
        editions write at a fermata) is merged with it, so bars follow the meter and the grammar's
        whole-bar rule holds; irregular bars that cannot merge (a 6-quarter bar) are kept as written.
        """
        bar = self.options["bar_quarters"]
        starts = [k for k in range(1, len(events)) if events[k].measure != events[k - 1].measure]
        bounds = [0, *starts, len(events)]
        lengths = [sum(e.quarter_length for e in events[a:b]) for a, b in zip(bounds, bounds[1:])]
        breaks, acc = set(), lengths[0] if lengths else 0.0
        for j, start in enumerate(starts, 1):
            if j > 1 and acc < bar - 1e-9 and acc + lengths[j] <= bar + 1e-9:
                acc += lengths[j]
            else:
                breaks.add(start)
                acc = lengths[j]
        return breaks

    def encode(self, events, bos_eos: bool = True) -> list[int]:
        """Token ids of a melody (Melody or events); unknown events become UNK."""
        events = _events_of(events)
        bars, ties = self.options["bar_tokens"], self.options["ties"]
        bar_id, tie_id = self.index.get(self.BAR), self.index.get(self.TIE)
        breaks = self.bar_breaks(events) if bars else set()
        ids = [BOS] if bos_eos else []
        for k, e in enumerate(events):
            if k in breaks:
                ids.append(bar_id)
            tok = self.event_token(e)
            ids.append(self.index.get(tok, UNK) if tok else UNK)
            if ties and e.tie in ("start", "continue") and not e.is_rest and ids[-1] != UNK:
                ids.append(tie_id)
        if bars and events:
            ids.append(bar_id)
        if bos_eos:
            ids.append(EOS)
        return ids

    def _parse(self, tok: str) -> Event:
        if tok.startswith(self.REST + "_"):
            ql = parse_ql(tok[2:])
            return Event("rest", ql, *duration_type_of(ql))
        pitch, octave, dur = _NOTE_TOKEN_RE.match(tok).groups()
        ql, octave = parse_ql(dur), int(octave)
        dtype, dots = duration_type_of(ql)
        return Event("note", ql, dtype, dots, pitch, octave, midi_of(pitch, octave))

    def decode(self, ids: Iterable[int]) -> DecodeResult:
        """Events from ids; an UNK or a TIE that joins nothing counts as an invalid group."""
        items: list[list] = []  # [event, bar index]
        n_groups = n_invalid = n_unknown = 0
        bar, prev_type, pending = 0, "bos", None  # pending: index of the note a TIE hangs on
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            kind = self._types[i]
            if kind in ("pad", "bos"):
                continue
            if kind == "bar":
                bar += 1
            elif kind == "tie":
                if prev_type == "note" and pending is None:
                    pending = len(items) - 1
                else:
                    n_groups, n_invalid = n_groups + 1, n_invalid + 1
            elif kind == "unk":
                n_unknown, n_groups, n_invalid = n_unknown + 1, n_groups + 1, n_invalid + 1
            else:
                n_groups += 1
                event = self._parsed.get(i) or self._parsed.setdefault(i, self._parse(self.vocab[i]))
                if pending is not None:
                    src = items[pending][0]
                    if kind == "note" and (event.pitch, event.octave) == (src.pitch, src.octave):
                        start = "continue" if src.tie == "stop" else "start"
                        items[pending][0] = _placed(src, start, 0, 1.0)
                        event = _placed(event, "stop", 0, 1.0)
                    else:
                        n_groups, n_invalid = n_groups + 1, n_invalid + 1
                    pending = None
                items.append([event, bar])
            if kind == "unk" and pending is not None:
                n_groups, n_invalid, pending = n_groups + 1, n_invalid + 1, None
            prev_type = kind
        if pending is not None:
            n_groups, n_invalid = n_groups + 1, n_invalid + 1
        placed = _place(
            [(e.quarter_length, b) for e, b in items],
            self.options["bar_quarters"],
            self.options["bar_tokens"],
            bar,
        )
        events = tuple(_placed(e, e.tie, m, b) for (e, _), (m, b) in zip(items, placed))
        return DecodeResult(events, n_groups, n_invalid, n_unknown)


TOKENIZERS: dict[str, type[Tokenizer]] = {"factored": FactoredTokenizer, "event": EventTokenizer}


def build_tokenizer(name: str, melodies: Iterable, *, transpositions: Iterable[int] | None = None, **options):
    """A tokenizer whose vocabulary covers `melodies` (and their transpositions, if given), sorted.

    `transpositions` (semitones, e.g. range(-5, 7), or N for -N..N) adds the tokens of every
    transposition that `bachlstm.music.pitches.transpose` accepts, so augmented training data has no UNK.
    """
    if name not in TOKENIZERS:
        raise TokenizerError(f"unknown tokenizer {name!r}; choose one of {sorted(TOKENIZERS)}")
    cls = TOKENIZERS[name]
    options = cls.check_options(options)  # fail before the work
    if isinstance(transpositions, int):  # N means every shift in -N..N, as DataConfig reads it
        transpositions = range(-abs(transpositions), abs(transpositions) + 1)
    shifts = sorted({0, *(int(s) for s in transpositions)}) if transpositions is not None else [0]
    tokens: set[str] = set()
    for mel in melodies:
        for s in shifts:
            m = mel if s == 0 else transpose(mel, s)
            if m is not None:
                tokens |= cls.content_tokens(_events_of(m), options)
    if not tokens:
        tokens = cls.content_tokens([], options)
    return cls([*SPECIALS, *sorted(tokens)], **options)


def tokenizer_from_dict(d: dict) -> Tokenizer:
    """Rebuild a tokenizer from `to_dict()` output, validating it (TokenizerError on bad input)."""
    if not isinstance(d, dict):
        raise TokenizerError(f"a tokenizer description must be a dict, got {type(d).__name__}")
    missing = {"name", "vocab"} - set(d)
    if missing:
        raise TokenizerError(f"tokenizer description lacks {sorted(missing)}")
    if d.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        raise TokenizerError(f"tokenizer format_version {d['format_version']!r} is not {FORMAT_VERSION}")
    if d["name"] not in TOKENIZERS:
        raise TokenizerError(f"unknown tokenizer {d['name']!r}; choose one of {sorted(TOKENIZERS)}")
    if not isinstance(d["vocab"], list) or not all(isinstance(t, str) for t in d["vocab"]):
        raise TokenizerError("tokenizer vocab must be a list of strings")
    return TOKENIZERS[d["name"]](d["vocab"], **dict(d.get("options") or {}))
