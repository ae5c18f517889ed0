"""Music in and out: notes and rests as events, pitch and duration names, MIDI, music21 scores and MusicXML,
the top line of many voices, key and closure, sheet music and audio.
"""

from bachlstm import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "events": (
            "Event",
            "Melody",
            "Part",
            "Piece",
            "Corpus",
        ),
        "pitches": (
            "midi_of",
            "midi_name",
            "spelled_pitch",
            "pitch_class_name",
            "key_name",
            "transpose",
        ),
        "names": (
            "pitch_name",
            "pitch_class_label",
            "key_label",
            "duration_name",
        ),
        "durations": (
            "duration_ql",
            "format_ql",
            "parse_ql",
        ),
        "notices": (
            "Notice",
            "NoticeError",
        ),
        "midi": (
            "read_midi",
            "write_midi",
            "MidiReading",
            "MidiReadError",
        ),
        "scores": (
            "to_score",
            "to_midi",
            "to_musicxml",
            "piano_roll",
            "zip_melodies",
        ),
        "skyline": (
            "top_line",
            "fit_to_grid",
        ),
        "tonality": (
            "estimate_key",
            "closure",
            "Key",
            "Closure",
            "inner_rests",
        ),
        "render": (
            "to_svg",
            "to_kern",
            "to_mei",
            "ContentCache",
        ),
        "audio": (
            "synthesize",
            "to_ogg",
        ),
    },
)
