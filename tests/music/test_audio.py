"""Audio: note timing with ties, both synthesisers, OGG Vorbis that decodes to the same tone, and its size."""

import io
import os

import numpy as np
import pytest
import soundfile

from bachlstm.music import audio
from tests.builders import n, rest


@pytest.fixture(params=["organ", "fluidsynth"])
def synth(request, monkeypatch):
    """Each test once with the built-in organ tone and once with FluidSynth (skipped where absent, a failure
    where BACHLSTM_REQUIRE_FLUIDSYNTH=1, as in CI, which installs it)."""
    monkeypatch.setenv("BACHLSTM_SYNTH", "organ" if request.param == "organ" else "auto")
    audio._fluidsynth.cache_clear()
    if request.param == "fluidsynth" and audio._fluidsynth() is None:
        missing = "FluidSynth (pyfluidsynth + libfluidsynth) is not installed here"
        if os.environ.get("BACHLSTM_REQUIRE_FLUIDSYNTH") == "1":
            pytest.fail(f"{missing}, and BACHLSTM_REQUIRE_FLUIDSYNTH=1 requires it")
        pytest.skip(missing)
    yield request.param
    audio._fluidsynth.cache_clear()


def test_note_times_merge_ties_and_skip_rests():
    events = [n(60, 1.0), rest(1.0), n(62, 2.0, tie="start"), n(62, 1.0, tie="stop"), n(62, 1.0), rest(0.0)]
    assert audio.note_times(events, tempo_bpm=60) == [(0.0, 1.0, 60), (2.0, 5.0, 62), (5.0, 6.0, 62)]
    assert audio.note_times([rest(2.0)]) == []


def test_synthesis_has_the_melodys_length_and_a_fixed_peak(synth):
    wave = audio.synthesize([n(60, 1.0), n(64, 1.0), rest(1.0), n(67, 1.0)], tempo_bpm=60)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) == pytest.approx((4 + audio.TAIL_S) * audio.SAMPLE_RATE, abs=2)
    assert np.isfinite(wave).all()
    assert float(np.abs(wave).max()) == pytest.approx(audio.PEAK, rel=1e-5)
    assert audio.synthesize([rest(1.0)]) is None


def test_the_rest_in_the_middle_is_quieter_than_the_notes(synth):
    wave = audio.synthesize([n(69, 1.0), rest(1.0), n(69, 1.0)], tempo_bpm=60)
    sr = audio.SAMPLE_RATE
    sounding = np.abs(wave[int(0.2 * sr) : int(0.8 * sr)]).mean()
    silent = np.abs(wave[int(1.6 * sr) : int(1.9 * sr)]).mean()  # after the release has died away
    assert silent < sounding / 4


def test_ogg_vorbis_decodes_to_the_same_duration_and_tone(synth):
    events = [n(60 + (i % 12), 1.0) for i in range(32)]  # 32 quarters at 80 bpm = 24 s
    data = audio.to_ogg(events)
    assert data[:4] == b"OggS"
    info = soundfile.info(io.BytesIO(data))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("OGG", "VORBIS", 16000, 1)
    assert info.duration == pytest.approx(24 + audio.TAIL_S, abs=0.05)
    assert len(data) < 24 * 3000  # under 3 KB per second of music (a 16-bit WAV needs 32 KB)
    # The codec keeps each note's tone: per note, the decoded magnitude spectrum follows the original's.
    original, decoded = audio.synthesize(events), soundfile.read(io.BytesIO(data), dtype="float32")[0]
    shift = int(np.argmax(np.correlate(decoded[:4000], original[:2000], "valid")))  # the codec's delay
    sr, quarter = audio.SAMPLE_RATE, audio.SAMPLE_RATE * 60 // 80
    for k in range(12):
        a = original[k * quarter + 1000 : k * quarter + 1000 + sr // 4]
        b = decoded[shift + k * quarter + 1000 : shift + k * quarter + 1000 + sr // 4]
        fa, fb = np.abs(np.fft.rfft(a)), np.abs(np.fft.rfft(b))
        assert np.argmax(fa) == np.argmax(fb)  # the strongest partial is the same
        assert np.corrcoef(fa, fb)[0, 1] > 0.9
    assert audio.to_ogg([rest(4.0)]) is None


def test_synth_name_says_which_one_is_used(synth):
    assert ("FluidSynth" in audio.synth_name()) == (synth == "fluidsynth")
