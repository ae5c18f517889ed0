"""Audio for the dashboard: events -> a real instrument (FluidSynth) or a built-in organ tone -> OGG Vorbis.

OGG Vorbis through `soundfile` (its wheels carry libsndfile for Linux, macOS and Windows) at its
smallest setting, about 18 kbit/s, is a fourteenth of a 16 kHz 16-bit WAV. Measured on the four columns
of default-length `bach` Generates: Vorbis 300-510 KB in 0.5 s of CPU; Ogg Opus (libsndfile's encoder)
230-390 KB at ~13 kbit/s but 6-7 s of CPU, and MP3 660-890 KB: for a class on one server the CPU
decides, so Vorbis.

FluidSynth is used when the `pyfluidsynth` package and the system's FluidSynth library are both present,
with the General MIDI SoundFont that ships inside pretty_midi (TimGM6mb); otherwise a small additive
organ tone is synthesised with numpy. Which one this machine uses is `synth_name()`;
`BACHLSTM_SYNTH=organ` forces the built-in tone.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

import numpy as np
import soundfile

from bachlstm.music.events import Event
from bachlstm.music.midi import ORGAN_PROGRAM

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # Hz: a melody's partials fit below 8 kHz (11 or 12 kHz saved no Vorbis bytes)
PROGRAM = ORGAN_PROGRAM  # General MIDI church organ: chorales were sung over one (our MIDI names it too)
VELOCITY = 80
TAIL_S = 0.6  # seconds after the last note for the instrument's release to die away
QUALITY = 1.0  # soundfile's compression level: 1.0 = Vorbis' smallest files (~18 kbit/s), plenty for a melody
PEAK = 0.8  # players such as st.audio normalise by the maximum; we leave headroom ourselves
DEFAULT_TEMPO = 80  # quarter notes per minute, as music.DEFAULT_TEMPO


def note_times(events: Sequence[Event], tempo_bpm: float = DEFAULT_TEMPO) -> list[tuple[float, float, int]]:
    """(start s, end s, midi) of each sounding note; a tied continuation extends its note.

    Rests and zero-length events only move time on. [] when there is no note.
    """
    seconds_per_quarter = 60.0 / tempo_bpm
    notes: list[list] = []
    t = 0.0
    for e in events:
        dur = e.quarter_length * seconds_per_quarter
        if not e.is_rest and dur > 0:
            tied = e.tie in ("stop", "continue") and notes and notes[-1][2] == e.midi
            if tied and abs(notes[-1][1] - t) < 1e-9:
                notes[-1][1] = t + dur
            else:
                notes.append([t, t + dur, int(e.midi)])
        t += dur
    return [tuple(n) for n in notes]


def _organ(notes: list[tuple[float, float, int]], sample_rate: int) -> np.ndarray:
    """A soft organ-like tone (three harmonics, 10 ms attack and release): the fallback synthesiser."""
    total = int(np.ceil((notes[-1][1] + TAIL_S) * sample_rate))
    out = np.zeros(total, dtype=np.float32)
    ramp = max(1, int(0.01 * sample_rate))
    for start, end, midi in notes:
        a, b = int(start * sample_rate), int(end * sample_rate)
        n = b - a
        if n <= 0:
            continue
        phase = (2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) / sample_rate) * np.arange(n, dtype=np.float32)
        tone = (np.sin(phase) + 0.35 * np.sin(2 * phase) + 0.15 * np.sin(3 * phase)) / 1.5
        edge = min(ramp, n // 2)
        if edge:  # no clicks at note boundaries
            env = np.ones(n, dtype=np.float32)
            env[:edge] = np.linspace(0, 1, edge, dtype=np.float32)
            env[n - edge :] = np.linspace(1, 0, edge, dtype=np.float32)
            tone *= env
        out[a:b] += tone
    return out


@cache
def _fluidsynth():
    """(module, lock, synth) for FluidSynth at SAMPLE_RATE, or None when it is not available here."""
    if os.environ.get("BACHLSTM_SYNTH", "auto").strip().lower() == "organ":
        return None
    try:
        import fluidsynth  # optional: needs the pyfluidsynth package and the system library
    except Exception as exc:  # ImportError, or OSError from a missing/broken libfluidsynth
        log.info("FluidSynth not available (%s): using the built-in organ tone", exc)
        return None
    sf2 = files("pretty_midi") / "TimGM6mb.sf2"
    synth = fluidsynth.Synth(samplerate=float(SAMPLE_RATE))
    sfid = synth.sfload(str(sf2))
    if sfid < 0:
        log.warning("FluidSynth could not load %s: using the built-in organ tone", sf2)
        return None
    synth.program_select(0, sfid, 0, PROGRAM)
    return fluidsynth, threading.Lock(), synth


def synth_name() -> str:
    """Which synthesiser this process uses, in words for the README and the page."""
    if _fluidsynth() is None:
        return "built-in organ tone"
    return "FluidSynth with the TimGM6mb General MIDI SoundFont (church organ)"


def _fluid(notes: list[tuple[float, float, int]], sample_rate: int) -> np.ndarray:
    """Render the notes with the shared FluidSynth instance (one render at a time: it has state)."""
    _, lock, synth = _fluidsynth()
    changes = sorted([(s, 1, m) for s, _, m in notes] + [(e, 0, m) for _, e, m in notes])  # offs first
    chunks, now = [], 0
    with lock:
        for t, on, midi in changes:
            at = int(round(t * sample_rate))
            if at > now:
                chunks.append(synth.get_samples(at - now)[::2])  # interleaved stereo: keep the left
                now = at
            if on:
                synth.noteon(0, midi, VELOCITY)
            else:
                synth.noteoff(0, midi)
        chunks.append(synth.get_samples(int(TAIL_S * sample_rate))[::2])
        synth.all_sounds_off(0)  # the next render starts from silence
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def synthesize(events: Sequence[Event], tempo_bpm: float = DEFAULT_TEMPO) -> np.ndarray | None:
    """Mono float32 audio at SAMPLE_RATE, peak PEAK, or None when there is no note to hear.

    Never NaN and never all zeros (a player would divide by a zero maximum).
    """
    notes = note_times(events, tempo_bpm)
    if not notes:
        return None
    audio = _fluid(notes, SAMPLE_RATE) if _fluidsynth() is not None else _organ(notes, SAMPLE_RATE)
    audio = np.nan_to_num(audio)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak == 0.0:
        return None
    return audio * (PEAK / peak)


def encode_ogg(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """OGG Vorbis bytes of mono float audio in [-1, 1] (about 2-3 KB per second at 16 kHz)."""
    buf = io.BytesIO()
    soundfile.write(buf, audio, sample_rate, format="OGG", subtype="VORBIS", compression_level=QUALITY)
    return buf.getvalue()


def to_ogg(
    events: Sequence[Event], tempo_bpm: float = DEFAULT_TEMPO, seconds: float | None = None
) -> bytes | None:
    """The melody as OGG Vorbis bytes, or None when it has no note.

    `seconds`: the audio's exact length (silence added, or the end cut), so that two excerpts of equal
    bars play equally long whatever their last note (a player's length would otherwise give away which
    ends in a rest).
    """
    audio = synthesize(events, tempo_bpm)
    if audio is None:
        return None
    if seconds is not None:
        n = int(round(seconds * SAMPLE_RATE))
        audio = np.pad(audio, (0, max(0, n - len(audio))))[:n]
    return encode_ogg(audio)
