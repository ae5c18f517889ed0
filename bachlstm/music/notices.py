"""What reading a student's file found, as codes with values: the English words the command line prints
(`TEXTS`), which a page translates (the template is the message id) and fills with the same values.

Values named in `NOTE_VALUES` are MIDI numbers, named in the reader's convention by `names.pitch_name`
when worded; every other value is shown as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from bachlstm.music.names import pitch_name

NOTE_VALUES = frozenset({"note", "low", "high"})
PLURAL_BY = ("count", "said")  # the value a counted notice's words agree with, the first one it has

# Each code's English words: what happened to the file, and what to try where the student can act. A
# counted one has (singular, plural) words, chosen by its `PLURAL_BY` value ("1 note was", "2 notes were").
TEXTS: dict[str, str | tuple[str, str]] = {
    # what was read, and how
    "line_named": "the melody was taken from {line} ({instrument}, {low} to {high}): its name says it is "
    "the tune. The file has {lines} lines; choose another if this is not the melody",
    "line_highest": "the melody was taken from {line} ({instrument}, {low} to {high}), the highest of the "
    "file's {lines} lines; choose another if this is not the melody",
    "line_chosen": "the melody was taken from {line} ({instrument}, {low} to {high}), as chosen",
    "chords": (
        "{count} note sounding under a higher note (chords) was left out: the melody is the top line",
        "{count} notes sounding under a higher note (chords) were left out: the melody is the top line",
    ),
    "cue_notes": (
        "{count} cue note (a small note reminding of another part, not played) was left out",
        "{count} cue notes (small notes reminding of another part, not played) were left out",
    ),
    "grace_notes": ("{count} grace note was left out", "{count} grace notes were left out"),
    "grid_dropped": (
        "{count} note faster than a sixteenth was left out, keeping the notes on the sixteenths: the model "
        "writes nothing finer",
        "{count} notes faster than a sixteenth were left out, keeping the notes on the sixteenths: the "
        "model writes nothing finer",
    ),
    "grid_moved": (
        "{count} note between two sixteenths (a triplet, for example) was moved to the nearest sixteenth: "
        "the model writes nothing finer",
        "{count} notes between two sixteenths (triplets, for example) were moved to the nearest sixteenth: "
        "the model writes nothing finer",
    ),
    "patterns": "the file holds {count} separate patterns (MIDI format 2); they were read one after another",
    "meter": "the file is (partly) in {meters}; the model writes 4/4, so bar lines are counted in 4/4",
    "mxl_rootfile": "the compressed file holds {count} scores; the first one its table of contents names "
    "({path}) was read",
    "transposed": "the primer was transposed by {shift:+d} semitones to notes this model knows",
    # what a damaged or unusual file lost or how it was mended
    "cut_short": "track {track} ends in the middle of a note or message (the file was cut short): what "
    "came after {at} quarters is lost",
    "bytes_skipped": (
        "track {track}: {count} damaged byte was skipped about {at} quarters in; a note there may be lost",
        "track {track}: {count} damaged bytes were skipped about {at} quarters in; a note there may be lost",
    ),
    "track_unreadable": "track {track} could not be read after {at} quarters: its notes from there on are "
    "lost",
    "status_assumed": "track {track} starts without saying what its first message is; it was read as the "
    "strike of {note}, which the track releases later",
    "tracks_missing": "the file was cut short: {missing} of its {total} tracks are missing",
    "track_count": (
        "the file's header announces {said} track but it holds {found}; all {found} were read",
        "the file's header announces {said} tracks but it holds {found}; all {found} were read",
    ),
    "chunk_length": "track {track}'s length in the file is wrong ({said} bytes; {found} found): it was "
    "read to where the next track begins",
    "unreleased": (
        "{count} note was never released; it ends with its track (or lasts one quarter)",
        "{count} notes were never released; they end with their track (or last one quarter)",
    ),
    "zero_length": (
        "{count} note of zero length (released as soon as struck) was left out",
        "{count} notes of zero length (released as soon as struck) were left out",
    ),
    "release_other_channel": (
        "{count} note release came on another channel than its note; it was matched to the note of the "
        "same pitch it ends",
        "{count} note releases came on another channel than their note; each was matched to the note of "
        "the same pitch it ends",
    ),
    "drums_left_out": (
        "{count} drum note was left out (drums carry no melody)",
        "{count} drum notes were left out (drums carry no melody)",
    ),
    # why a file cannot be used (MusicInputError, PrimerError)
    "empty_file": "the file is empty",
    "too_large": "the file is too large ({size:,} bytes, limit {limit:,}); use the opening of the piece only",
    "too_large_unpacked": "the file is too large once unpacked ({size:,} bytes, limit {limit:,})",
    "not_music": "this is not a MIDI or MusicXML file (its content is not music)",
    "unreadable": "the file could not be read as {format}: it may be damaged ({detail})",
    "not_midi": "it is not a standard MIDI file (no 'MThd' header)",
    "rmid_without_data": "it is a RIFF MIDI (RMID) file, but the MIDI data inside it is missing",
    "header_incomplete": "it starts like a MIDI file but its header is incomplete",
    "header_invalid": "it starts like a MIDI file, but its header is invalid (a damaged file)",
    "no_track": "it starts like a MIDI file, but holds no track (a damaged or truncated file)",
    "zero_division": "its header says a quarter note lasts 0 ticks, so no note can be placed",
    "drums_only": "the file holds only drum notes: there is no melody to continue; try a file with a tune",
    "all_rests": "the score holds only rests: there is no melody to continue; try a file with notes",
    "no_notes": "the file holds no notes (an empty track, or a damaged or truncated file); try another file",
    "too_long": "the piece is too long ({notes:,} notes and rests; a primer may have {limit}); use the "
    "opening of the piece only",
    "line_unknown": "there is no line {asked} in this file; its lines are: {lines}",
    "unknown_notes": "the melody has a note this model never learned, even moved up or down by up to "
    "{max_shift} semitones: {note} lasting {quarters} quarters. Try another track, a melody with a smaller "
    "range, or a simpler rhythm",
    "unknown_note": "the melody has a note this model never learned: {note} lasting {quarters} quarters. "
    "Try another track, a melody with a smaller range, or a simpler rhythm",
    "unknown_rest": "the melody has a rest this model never learned: {quarters} quarters. Try a simpler "
    "rhythm",
    "breaks_grammar": "the melody breaks this model's token grammar at token {token} ({text}); is it in "
    "4/4 with complete bars?",
}


@dataclass(frozen=True)
class Notice:
    """One thing reading found: a code of `TEXTS` and its values (MIDI numbers for notes)."""

    code: str
    values: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, code: str, **values: object) -> Notice:
        """A notice from a code and its values as keywords; raises KeyError for an unknown code."""
        TEXTS[code]  # noqa: B018 (a code without words is a bug here, not when a page shows it)
        return cls(code, tuple(values.items()))

    def value(self, name: str) -> object:
        """One value by name."""
        return dict(self.values)[name]

    @property
    def plural_n(self) -> int | None:
        """The number its words agree with (a `PLURAL_BY` value), None for words without a plural."""
        if not isinstance(TEXTS[self.code], tuple):
            return None
        values = dict(self.values)
        return next(int(values[k]) for k in PLURAL_BY if k in values)

    def worded(self, template: str | None = None, lang: str = "en") -> str:
        """`template` (default: the English of `TEXTS`, singular or plural) filled with the values, notes
        named in `lang`."""
        values = {k: pitch_name(v, lang) if k in NOTE_VALUES else v for k, v in self.values}
        if template is None:
            template = TEXTS[self.code]
            if isinstance(template, tuple):
                template = template[0] if self.plural_n == 1 else template[1]
        return template.format(**values)

    @property
    def text(self) -> str:
        """The English words (the command line's)."""
        return self.worded()

    def __str__(self) -> str:
        return self.text


class NoticeError(ValueError):
    """An error that carries a `Notice` (why a file or primer cannot be used); its message is English."""

    def __init__(self, code: str, *, filename: str | None = None, **values: object):
        self.notice = Notice.of(code, **values)
        self.filename = filename
        super().__init__(f"{filename}: {self.notice.text}" if filename else self.notice.text)
