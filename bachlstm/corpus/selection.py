"""Choose melodies from the corpus (time signature, voice, length) and report what was left out and why."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields

from bachlstm.corpus.grouping import DisjointSets
from bachlstm.corpus.tunes import SIMILAR_TUNE, cached_similar_pairs, skeleton_intervals
from bachlstm.music.events import Corpus, Event, Melody, Part, Piece
from bachlstm.settings.problems import Checks, SettingsError

VOICES = ("first", "soprano", "alto", "tenor", "bass", "all")
SATB = ("soprano", "alto", "tenor", "bass")

# How many intervals of the opening make a tune key: 6 separates the tunes of the corpus while two
# harmonisations of one tune still agree (measured: longer keys split known same-tune pairs apart).
TUNE_INTERVALS = 6
_STEPS = "CDEFGAB"


class SelectionError(SettingsError):
    """SelectionConfig values that cannot be used; `problems` lists every one."""


@dataclass(frozen=True)
class SelectionConfig:
    """Which melodies to take: allowed time signatures (every part, every measure), voice, length limits.

    `time_signatures` empty means any. `voice` is "first" (the first part, as the original did), one of
    "soprano", "alto", "tenor", "bass" (found by part name), or "all" (the four voices as separate
    melodies). `min_events`/`max_events` bound notes+rests, inclusive; None means no limit.
    `skip_duplicates` leaves out the three Humdrum files that repeat a MusicXML file of the same BWV.
    """

    time_signatures: tuple[str, ...] = ("4/4",)
    voice: str = "soprano"
    min_events: int | None = None
    max_events: int | None = None
    skip_duplicates: bool = True  # the .krn copies would count one chorale twice

    def __post_init__(self) -> None:
        if isinstance(self.time_signatures, str):
            raise SelectionError(
                f"time_signatures must be a tuple of strings, got the string {self.time_signatures!r}"
            )
        object.__setattr__(self, "time_signatures", tuple(self.time_signatures))
        check = Checks()  # every problem at once, so a form can name each bad field
        bad = [repr(ts) for ts in self.time_signatures if not re.fullmatch(r"\d+/\d+", str(ts))]
        if bad:
            check.add("time_signatures", f"must be of the form '4/4', got {', '.join(bad)}")
        if self.voice not in VOICES:
            check.add("voice", f"must be one of {', '.join(VOICES)}, got {self.voice!r}")
        lo = self.min_events is None or check.whole("min_events", self.min_events, 0)
        hi = self.max_events is None or check.whole("max_events", self.max_events, 0)
        if lo and hi and None not in (self.min_events, self.max_events) and self.min_events > self.max_events:
            check.add(
                "min_events", f"({self.min_events}) must not be larger than the maximum ({self.max_events})"
            )
        check.raise_any(SelectionError)

    @classmethod
    def preset(cls, name: str) -> SelectionConfig:
        """A named selection: "default" (4/4 sopranos), "original" (4/4, first part, 30..65), "all_voices"."""
        presets = {
            "default": cls(),
            "original": cls(time_signatures=("4/4",), voice="first", min_events=30, max_events=65),
            "all_voices": cls(voice="all"),
        }
        if name not in presets:
            raise ValueError(f"unknown selection preset {name!r}; choose from {sorted(presets)}")
        return presets[name]

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-safe)."""
        d = asdict(self)
        d["time_signatures"] = list(self.time_signatures)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SelectionConfig:
        """Inverse of to_dict (unknown keys are an error, not silently ignored)."""
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown SelectionConfig field(s) {sorted(unknown)}")
        return cls(**{**d, "time_signatures": tuple(d.get("time_signatures", ("4/4",)))})


@dataclass(frozen=True)
class Exclusion:
    """One piece (or one voice of it) that the selection left out, with the reason."""

    piece_id: str
    voice: str
    reason: str  # a short category: "time signature", "no such voice", "empty part", "too short", ...
    detail: str = ""  # the specifics in English ("3/4", "23 < 30 events")
    values: tuple[tuple[str, object], ...] = ()  # the same for a page to word: found, parts, n, limit


@dataclass
class Selection:
    """The chosen melodies (with hymn tunes set) and every exclusion."""

    config: SelectionConfig
    melodies: list[Melody]
    excluded: list[Exclusion] = field(default_factory=list)

    def report(self):
        """The exclusions as a pandas DataFrame (columns piece_id, voice, reason, detail, values: a dict)."""
        import pandas as pd

        rows = [{**asdict(e), "values": dict(e.values)} for e in self.excluded]
        return pd.DataFrame(rows, columns=["piece_id", "voice", "reason", "detail", "values"])

    def summary(self):
        """Counts per exclusion reason, plus a "selected" row, as a DataFrame (reason, count)."""
        import pandas as pd

        counts: dict[str, int] = {"selected": len(self.melodies)}
        for e in self.excluded:
            counts[e.reason] = counts.get(e.reason, 0) + 1
        return pd.DataFrame({"reason": list(counts), "count": list(counts.values())})


def voice_role(name: str) -> str | None:
    """The SATB voice a part name starts with ("Soprano 1" -> "soprano"); None for instruments."""
    words = name.lower().split()
    first = words[0] if words else ""
    for role in SATB:
        if first.startswith(role):
            return role
    return None


def find_voice(piece: Piece, voice: str) -> Part | None:
    """The part of `piece` singing `voice` ("first" = the first part); None when there is none."""
    if voice == "first":
        return piece.parts[0] if piece.parts else None
    for part in piece.parts:
        if voice_role(part.name) == voice:
            return part
    return None


def _onsets(events: Sequence[Event], on_beat: bool) -> list[Event]:
    out = []
    for e in events:
        if e.kind != "note" or e.tie in ("stop", "continue"):
            continue  # a tied continuation is the same sung note
        if on_beat and abs(e.beat - round(e.beat)) > 1e-6:
            continue
        out.append(e)
    return out


def tune_key(events: Sequence[Event], n_intervals: int = TUNE_INTERVALS) -> str:
    """A key naming the hymn tune of a soprano line: equal for two harmonisations of one melody.

    Rule: take the notes that start on a metrical beat (tied continuations and off-beat notes such
    as passing eighths are skipped, because Bach decorates the same tune differently), and write the
    first `n_intervals` intervals between them in diatonic steps (letter names, so a transposition or
    a major/minor variant of the tune gives the same steps), e.g. "+3-1-1-1-1+1" for "O Haupt voll
    Blut und Wunden". Rhythm is deliberately left out: it varies between settings of one tune. On the
    corpus the 412 sopranos give 220 keys, 71 of them shared by several files (70 without the three
    Humdrum duplicates, 63 among the 4/4 sopranos); the "58 shared openings" of an earlier count used
    another rule. Longer keys split known same-tune pairs apart, shorter ones merge distinct tunes;
    spot checks show the shared keys are real tune families (the Passion chorale with "Befiehl du
    deine Wege" and the Christmas Oratorio's last chorale, the Innsbruck tune with "Nun ruhen alle
    Wälder"). `tune_groups()` additionally merges pieces whose titles name the same hymn. Fewer notes
    give a shorter key; no notes give "empty".
    """
    notes = _onsets(events, on_beat=True)
    if len(notes) < 2:
        notes = _onsets(events, on_beat=False)  # e.g. a line that only syncopates: use all onsets
    if not notes:
        return "empty"
    steps = [7 * e.octave + _STEPS.index(e.pitch[0].upper()) for e in notes[: n_intervals + 1]]
    intervals = [b - a for a, b in zip(steps, steps[1:])]
    return "".join(f"{i:+d}" for i in intervals) or "0"


def _title_key(title: str) -> str:
    """A hymn title reduced to letters ("25. Christ lag in Todesbanden" -> "christlagintodesbanden")."""
    title = re.sub(r"^\s*\d+\.\s*", "", title)
    return re.sub(r"[^a-zäöüß]", "", title.lower())


def tune_groups(corpus: Corpus, threshold: float = SIMILAR_TUNE) -> dict[str, str]:
    """piece id -> tune: pieces joined by the soprano's `tune_key`, by titles naming the same hymn, and by
    melodic similarity (`tunes.similarity` of the beat skeletons >= `threshold`), transitively.

    The similarity catches what the opening misses: another decoration of the same tune, a piece that
    is a section of another, pieces without a title (bwv149.7 ~ bwv174.5, bwv328 ~ bwv120.6,
    bwv185.6 ~ bwv177.5). Each group is named by its smallest tune_key, so the result is
    deterministic. Pieces without a soprano use their first part.
    """
    sets = DisjointSets()
    find = sets.find
    piece_key, skeletons = {}, {}
    for piece in corpus.pieces:
        part = find_voice(piece, "soprano") or find_voice(piece, "first")
        key = tune_key(part.events) if part is not None else "empty"
        # "empty" lines carry no tune: give each its own group instead of lumping them together
        piece_key[piece.id] = key if key != "empty" else f"empty:{piece.id}"
        find(piece_key[piece.id])
        if piece.title:
            sets.union(piece_key[piece.id], "title:" + _title_key(piece.title))
        if part is not None:
            skeletons[piece.id] = skeleton_intervals(part.events)
    for a, b, _ in cached_similar_pairs(skeletons, threshold):
        sets.union(piece_key[a], piece_key[b])
    # name each group by its smallest real tune key (titles only glue groups together)
    members: dict[str, list[str]] = {}
    for key in piece_key.values():
        members.setdefault(find(key), []).append(key)
    names = {root: min(keys) for root, keys in members.items()}
    return {pid: names[find(key)] for pid, key in piece_key.items()}


def _melody(piece: Piece, part: Part, voice: str, tune: str) -> Melody:
    return Melody(
        piece_id=piece.id,
        voice=voice,
        events=tuple(part.events),
        tune=tune,
        key_sharps=piece.key_sharps,
        mode=piece.mode,
        meta={
            "part_name": part.name,
            "title": piece.title,
            "time_signatures": list(part.time_signatures),
            "flags": list(part.flags),
            "key_estimate": piece.key_estimate,
            "pickup_quarters": piece.pickup_quarters,
        },
    )


def is_duplicate_file(piece) -> bool:
    """Whether a piece is a Humdrum (.krn) file that repeats a MusicXML chorale of the same BWV (three in
    music21's corpus); `select` leaves these out unless `skip_duplicates` is off."""
    return piece.id.endswith("-krn")


def select(corpus: Corpus, config: SelectionConfig | None = None) -> Selection:
    """The melodies `config` asks for, each with its hymn tune, and the exclusions with reasons."""
    config = config or SelectionConfig()
    tunes = tune_groups(corpus)
    melodies: list[Melody] = []
    excluded: list[Exclusion] = []
    voices = SATB if config.voice == "all" else (config.voice,)
    for piece in corpus.pieces:
        if config.skip_duplicates and is_duplicate_file(piece):
            copy_of = piece.id.removesuffix("-krn")
            excluded.append(
                Exclusion(piece.id, config.voice, "duplicate file", copy_of, (("piece", copy_of),))
            )
            continue
        bad = [ts for ts in piece.time_signatures if ts not in config.time_signatures]
        if config.time_signatures and (bad or not piece.time_signatures):
            detail = ", ".join(bad) if bad else "none found"
            values = (("found", tuple(bad)),)
            excluded.append(Exclusion(piece.id, config.voice, "time signature", detail, values))
            continue
        for voice in voices:
            part = find_voice(piece, voice)
            if part is None:
                names = tuple(piece.part_names)
                excluded.append(
                    Exclusion(piece.id, voice, "no such voice", ", ".join(names), (("parts", names),))
                )
                continue
            if "empty_part" in part.flags:
                excluded.append(Exclusion(piece.id, voice, "empty part", part.name, (("part", part.name),)))
                continue
            n = part.n_events
            if config.min_events is not None and n < config.min_events:
                detail, values = f"{n} < {config.min_events} events", (("n", n), ("limit", config.min_events))
                excluded.append(Exclusion(piece.id, voice, "too short", detail, values))
                continue
            if config.max_events is not None and n > config.max_events:
                detail, values = f"{n} > {config.max_events} events", (("n", n), ("limit", config.max_events))
                excluded.append(Exclusion(piece.id, voice, "too long", detail, values))
                continue
            label = voice if voice != "first" else (voice_role(part.name) or part.name)
            melodies.append(_melody(piece, part, label, tunes[piece.id]))
    return Selection(config=config, melodies=melodies, excluded=excluded)
