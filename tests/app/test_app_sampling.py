"""Sampling page in AppTest: four columns per method, same seed same music, bad uploads and checkpoints."""

import json
from dataclasses import fields
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.texts import KNOB_HELP
from tests.app.helpers import clear_caches, leave_and_return, new_app, open_app, widget_value_warnings

GENERATE = "generate"
# The session keeps a result's events and figures, never drawings or audio (the server's cache has those).
RESULT_FIELDS = [
    "comparison", "gens", "settings", "checkpoint", "n_primer", "shown", "profiles", "note", "link",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A runs folder with two tiny models (trained once for the module), "tiny" the newest; none shipped."""
    import os

    from bachlstm.training.loop import train
    from bachlstm.training.presets import get_preset

    folder = tmp_path_factory.mktemp("sampling-runs")
    train(
        get_preset("workshop", epochs=1, max_melodies=24, num_threads=1),
        out=folder / "tiny-workshop.safetensors",
    )
    os.utime(folder / "tiny-workshop.safetensors", (1, 1))  # older: runs are listed newest first
    train(
        get_preset("bach", epochs=1, max_melodies=24, max_steps=4, num_threads=1),
        out=folder / "tiny.safetensors",
    )
    return folder


@pytest.fixture(autouse=True)
def _isolated(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(runs))
    monkeypatch.setenv("BACHLSTM_CHECKPOINTS_DIR", str(tmp_path / "no-shipped-models"))
    clear_caches()
    yield
    clear_caches()


def sampling_page() -> AppTest:
    return open_app("app_pages/sampling.py", timeout=180)


def column_titles(at: AppTest) -> list[str]:
    return [m.value.removeprefix("##### ") for m in at.markdown if m.value.startswith("##### ")]


def midi_buttons(at: AppTest) -> list:
    return [b for b in at.get("download_button") if b.proto.label == "MIDI"]


@pytest.mark.slow
def test_generate_fills_four_columns_with_every_part():
    at = sampling_page()
    assert not at.exception
    assert at.selectbox(key="ckpt").value == "tiny"
    assert at.number_input(key="samples").value == 1  # one melody per method: Generate stays cheap
    at.slider(key="length").set_value(48)
    at.number_input(key="samples").set_value(16)  # the table pools 16 per method: intervals appear
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert column_titles(at) == ["greedy", "top-k (k=8)", "top-p (p=0.9)", "temperature (T=1)"]
    assert len(midi_buttons(at)) == 4
    assert [b.proto.label for b in at.get("download_button")].count("MusicXML") == 4
    # Not the page's default length: the 64-melody comparison waits for a student to ask for it.
    assert not any(c.value.startswith("The bars: ") for c in at.caption)
    at.button(key="method_figures").click().run()
    assert any(c.value.startswith("The bars: 64 melodies per method") for c in at.caption)
    style = at.dataframe[0].value  # pooled over 16 samples per method, Bach validation first
    assert list(style.method) == ["Bach (validation)", *column_titles(at)]
    assert {"pitch classes vs Bach", "pitch classes vs Bach 95%", "ends on tonic", "copied"} <= set(style)
    assert style.melodies.iloc[1] == 1  # greedy's 16 samples are one melody
    assert any(c.value.startswith("Noise floor (Bach validation vs Bach test)") for c in at.caption)
    tokens = at.dataframe[1].value  # the token-level table, in an expander
    assert list(tokens.method) == [*column_titles(at), "Bach (held-out)"]
    # never "None" (the new-user trial): Bach's row counts its held-out melodies, gaps are a dash, said why
    assert tokens.samples.notna().all() and tokens.samples.iloc[-1] > 1
    assert at.dataframe[1].proto.placeholder == "–"
    assert any(c.value.startswith("– in the table: does not apply") for c in at.caption)
    # a figure that is 0 everywhere (often "copied") is a sentence, not an empty chart panel
    from app_pages import charts

    zero = charts.zero_figures(charts.style_frame(at.session_state["sampling"].comparison.style))
    for name in zero:
        assert any(c.value.startswith(f"**{name}** (") and "no chart" in c.value for c in at.caption), name
    # a piano roll per melody with notes + the comparison chart + the next-token explorer, one per method
    gens = at.session_state["sampling"].gens
    rolls = sum(any(not e.is_rest for e in g.full_events) for g in gens)
    assert len(at.get("vega_lite_chart")) == rolls + 1 + 4
    assert len(at.image) == 4 and at.image[0].proto.imgs[0].url.startswith("data:image/svg+xml")
    assert any(b.proto.label.startswith("Download all") for b in at.get("download_button"))
    # audio is made when a column is listened to, not for every click on Generate
    assert not at.get("audio") and [f.name for f in fields(at.session_state["sampling"])] == RESULT_FIELDS
    at.button(key="listen_2").click().run()
    players = at.get("audio")
    assert len(players) == 1 and players[0].proto.autoplay
    assert "/media/" in players[0].proto.url and players[0].proto.url.endswith(".oga")  # audio/ogg
    at.run()  # stays open across reruns of the page, without playing again
    assert len(at.get("audio")) == 1 and not at.get("audio")[0].proto.autoplay
    at.button(key="listen_0").click().run()  # a second column: both players, only the new one plays
    assert [p.proto.autoplay for p in at.get("audio")] == [True, False]
    assert {b.key for b in at.button} >= {"listen_1", "listen_3"}  # the others still wait for a click


@pytest.mark.slow
def test_same_seed_same_music_and_knobs_change_labels():
    at = sampling_page()
    at.slider(key="length").set_value(32)
    at.button(key=GENERATE).click().run()
    first = [g.tokens for g in at.session_state["sampling"].gens]
    at.run()  # a plain rerun keeps the result without generating again
    assert [g.tokens for g in at.session_state["sampling"].gens] == first
    del at.session_state["sampling"]
    at.button(key=GENERATE).click().run()
    assert [g.tokens for g in at.session_state["sampling"].gens] == first  # regenerated: identical
    at.slider(key="k").set_value(3)
    at.slider(key="t").set_value(0.5)
    at.button(key=GENERATE).click().run()
    assert column_titles(at)[1] == "top-k (k=3)" and column_titles(at)[3] == "temperature (T=0.5)"
    at.slider(key="explore_step").set_value(2).run()  # the explorer redraws at another step
    assert not at.exception


@pytest.mark.slow
def test_held_out_primer_opens_every_melody():
    at = sampling_page()
    at.radio(key="primer_source").set_value("opening of a held-out chorale").run()
    at.slider(key="length").set_value(32)
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    res = at.session_state["sampling"]
    assert res.n_primer > 0
    assert all(g.primer_events == res.gens[0].primer_events for g in res.gens)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.mid", b"", "empty"),
        ("notes.mid", b"these are not notes, just text" * 10, "not a MIDI or MusicXML"),
        ("broken.mid", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\xff\xff", "primer cannot be used"),
        ("huge.mid", b"MThd" + b"\x00" * 3_000_000, "too large"),
        # regression: under the library's 2 MB limit, a MIDI this size can take music21 minutes to read
        ("big.mid", b"MThd" + b"\x00" * 600_000, "too large"),
    ],
    ids=["empty", "not-music", "corrupt", "huge", "big"],
)
def test_bad_uploads_show_their_error(name, data, message):
    at = sampling_page()
    at.radio(key="primer_source").set_value("upload MIDI/MusicXML").run()
    at.file_uploader(key="upload").set_value((name, data, "audio/midi"))
    at.button(key=GENERATE).click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and message in errors[0], errors
    assert "sampling" not in at.session_state  # nothing generated from a bad primer


def test_broken_checkpoint_is_listed_and_the_page_still_works(runs):
    broken = runs / "zz-broken.safetensors"
    broken.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    try:
        at = sampling_page()
        assert not at.exception
        assert any("zz-broken" in e.value for e in at.error)
        assert at.selectbox(key="ckpt").options == ["tiny", "tiny-workshop"]
        knobs = [("k", "k"), ("p", "p"), ("t", "t"), ("k_t", "t"), ("min_p", "min_p")]
        for key, tip in knobs + [("rep", "repetition_penalty")]:
            assert at.slider(key=key).help.startswith(KNOB_HELP[tip]), key  # every knob explains itself
        assert at.checkbox(key="constrained").help.startswith(KNOB_HELP["constrained"])
        assert "term=grammar-mask" in at.checkbox(key="constrained").help  # and links to the glossary
    finally:
        broken.unlink()


def test_checkpoint_with_corrupted_weights_is_an_error_not_a_crash(runs):
    """Its header reads fine, but the listing streams the weights: it is reported, never offered."""
    import struct

    data = bytearray((runs / "tiny-workshop.safetensors").read_bytes())
    start = 8 + struct.unpack("<Q", data[:8])[0]
    data[start + 16 : start + 400] = b"\xff" * 384
    bad = runs / "zz-corrupt.safetensors"
    bad.write_bytes(bytes(data))
    try:
        at = sampling_page()
        assert not at.exception
        assert "zz-corrupt" not in at.selectbox(key="ckpt").options
        problems = [e.value for e in at.error if "zz-corrupt" in e.value]
        assert len(problems) == 1 and "damaged" in problems[0], problems  # the library's English: checksum
        assert str(runs) not in problems[0]  # the run's name, not the server's folder
    finally:
        bad.unlink()


def test_no_model_at_all_says_where_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path / "empty"))
    at = sampling_page()
    assert not at.exception
    assert "Training page" in at.info[0].value


@pytest.mark.slow
def test_switching_model_keeps_the_result_and_its_explorer_working():
    at = sampling_page()
    at.slider(key="length").set_value(32)
    at.button(key=GENERATE).click().run()
    at.selectbox(key="ckpt").set_value("tiny-workshop").run()  # another vocabulary
    at.slider(key="explore_step").set_value(3).run()
    assert not at.exception
    assert at.session_state["sampling"].model == "tiny"  # the shown result still says whose it is
    at.button(key=GENERATE).click().run()
    assert not at.exception and at.session_state["sampling"].model == "tiny-workshop"


@pytest.mark.slow
def test_uploaded_midi_primer_opens_every_melody():
    from bachlstm.music.events import Event
    from bachlstm.music.scores import to_midi

    steps = [("C", 60), ("D", 62), ("E", 64), ("F", 65), ("G", 67), ("A", 69), ("B", 71), ("C", 72)]
    scale = [Event("note", 1.0, pitch=p, octave=m // 12 - 1, midi=m) for p, m in steps]
    at = sampling_page()
    at.radio(key="primer_source").set_value("upload MIDI/MusicXML").run()
    at.file_uploader(key="upload").set_value(("scale.mid", to_midi(scale), "audio/midi"))
    at.slider(key="length").set_value(32)
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    primer = at.session_state["sampling"].gens[0].primer_events
    assert [e.midi for e in primer] == [m for _, m in steps]
    assert not at.info  # in the vocabulary as it is: no transposition note


@pytest.mark.slow
def test_uploaded_primer_out_of_range_is_transposed_with_a_note():
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.music.events import Event
    from bachlstm.music.pitches import midi_name
    from bachlstm.music.scores import to_midi

    tok = load_checkpoint("tiny").tokenizer
    known = [e.midi for i in range(4, len(tok.vocab)) for e in tok.decode([i]).events if not e.is_rest]

    def note(midi):
        name = midi_name(midi)
        return Event("note", 2.0, duration_type="half", pitch=name[:-1], octave=int(name[-1]), midi=midi)

    line = [note(max(known) - 2), note(max(known) + 2)]  # the second note is above all the model knows
    at = sampling_page()
    at.radio(key="primer_source").set_value("upload MIDI/MusicXML").run()
    at.file_uploader(key="upload").set_value(("high.mid", to_midi(line), "audio/midi"))
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "transposed by -" in at.info[0].value


def test_minimum_notes_control_explains_itself_and_starts_at_the_library_default():
    from bachlstm.generation.generator import DEFAULT_MIN_LENGTH

    at = sampling_page()
    control = at.number_input(key="min_length")
    assert control.value == DEFAULT_MIN_LENGTH and control.help.startswith(KNOB_HELP["min_length"])
    assert "min_new_tokens" in control.help


SETTINGS = {  # widget key -> a value other than its default
    ("slider", "length"): 48,
    ("number_input", "min_length"): 5,
    ("text_input", "seed"): "7",
    ("slider", "k"): 3,
    ("slider", "k_t"): 0.8,
    ("slider", "p"): 0.5,
    ("slider", "p_t"): 1.2,
    ("slider", "t"): 1.5,
    ("slider", "min_p"): 0.05,
    ("slider", "typical_p"): 0.9,
    ("slider", "rep"): 1.1,
    ("number_input", "ngram"): 2,
    ("checkbox", "constrained"): False,
    ("checkbox", "cadence"): False,
    ("number_input", "samples"): 4,
}


def scale_midi() -> bytes:
    from bachlstm.music.events import Event
    from bachlstm.music.scores import to_midi

    steps = [("C", 60), ("D", 62), ("E", 64), ("F", 65), ("G", 67), ("A", 69), ("B", 71), ("C", 72)]
    return to_midi([Event("note", 1.0, pitch=p, octave=m // 12 - 1, midi=m) for p, m in steps])


def stale_notes(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "were made with" in w.value]


def test_settings_upload_and_result_survive_a_page_switch():
    page = "app_pages/sampling.py"
    with widget_value_warnings() as warned:
        at = sampling_page()
        at.selectbox(key="ckpt").set_value("tiny-workshop").run()
        at.radio(key="primer_source").set_value("upload MIDI/MusicXML").run()
        at.file_uploader(key="upload").set_value(("scale.mid", scale_midi(), "audio/midi"))
        for (kind, key), value in SETTINGS.items():
            getattr(at, kind)(key=key).set_value(value)
        at.button(key=GENERATE).click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        made = [g.tokens for g in at.session_state["sampling"].gens]
        primer = [e.midi for e in at.session_state["sampling"].gens[0].primer_events]
        assert primer == [60, 62, 64, 65, 67, 69, 71, 72] and not stale_notes(at)

        at = leave_and_return(at, page, other="app_pages/corpus.py")
        assert not at.exception
        assert at.selectbox(key="ckpt").value == "tiny-workshop"
        assert at.radio(key="primer_source").value == "upload MIDI/MusicXML"
        shown = {key: getattr(at, kind)(key=key).value for kind, key in SETTINGS}
        assert shown == {key: value for (_, key), value in SETTINGS.items()}
        assert any(c.value.startswith("Primer file: scale.mid (uploaded earlier)") for c in at.caption)
        assert [g.tokens for g in at.session_state["sampling"].gens] == made  # the result is kept ...
        assert not stale_notes(at)  # ... and it is the result of the settings shown

        at.text_input(key="seed").set_value("8")
        at.button(key=GENERATE).click().run()  # the kept file is the primer: no need to upload again
        assert not at.exception and not at.error and not at.info, [e.value for e in at.error]
        res = at.session_state["sampling"]
        assert [e.midi for e in res.gens[0].primer_events] == primer and res.seed == 8

        at.selectbox(key="ckpt").set_value("tiny").run()  # outside the form: counts at once
        assert stale_notes(at) == [
            "These melodies were made with model tiny-workshop; the settings above say model tiny. "
            "Press **Generate** for the new settings."
        ]
        at.button(key=GENERATE).click().run()
        assert not at.exception and not stale_notes(at) and at.session_state["sampling"].model == "tiny"
    assert not warned


@pytest.mark.slow
def test_one_sample_per_method_still_compares_64_with_intervals_and_every_column_explains_itself():
    at = sampling_page()  # the page's default settings: the comparison is made without asking
    at.number_input(key="samples").set_value(1)
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not any(b.key == "method_figures" for b in at.button)  # no "compare" button to press
    frame = at.dataframe[0]
    # the comparison is the model's 64 melodies per method, whatever the columns pool (issue 22)
    assert [c for c in frame.value.columns if c.endswith("95%")] and frame.value.melodies.tolist()[-1] == 64
    config = json.loads(frame.proto.columns)  # the column_config the page passed: a help per column
    comparison = at.session_state["sampling"].comparison
    assert set(comparison.style.meanings()) <= set(frame.value.columns)
    assert all(config[name]["help"] for name in comparison.style.meanings())
    profiles = at.session_state["sampling"].profiles
    assert len(profiles) == 4 and all("ends_on_tonic" in p for p in profiles)
    text = " ".join(m.value for m in at.markdown)
    assert "ends on the tonic" in text and "longest copy (notes)" in text and "estimated key" in text


def test_a_run_that_ended_early_says_so_beside_the_model_box(runs):
    """The option is the bare name, the state a caption read on every run (a browser keeps the label it
    first drew for a chosen option: a state inside it went stale when the run went on)."""
    from bachlstm.model.checkpoints import load_checkpoint, read_meta, save_checkpoint

    path = runs / "zz-halfway.safetensors"
    ck = load_checkpoint(runs / "tiny-workshop.safetensors")
    meta = {**read_meta(ck.path), "complete": False, "stopped": False, "epoch": 1}
    save_checkpoint(path, ck.model, ck.tokenizer, meta)
    try:
        at = sampling_page()
        at.selectbox(key="ckpt").set_value("zz-halfway").run()
        assert not at.exception
        assert "zz-halfway" in at.selectbox(key="ckpt").options
        assert any("**zz-halfway** is interrupted at epoch 1 of 1" in c.value for c in at.caption)
        save_checkpoint(path, ck.model, ck.tokenizer, {**meta, "complete": True})
        at.run()
        assert not any("zz-halfway" in c.value for c in at.caption)  # complete: nothing to say
    finally:
        path.unlink()


def test_the_explorer_frame_is_made_once_per_model_context_and_settings(runs):
    import dataclasses

    import pandas as pd

    from app_pages import charts
    from app_pages.common import next_token_view, render_cache
    from bachlstm.model.checkpoints import load_checkpoint
    from bachlstm.reports.comparison import Knobs, next_token_frame, sampling_configs
    from bachlstm.tokens.tokenizers import BOS

    ck = load_checkpoint(runs / "tiny.safetensors")
    context, configs = (BOS,), tuple(sampling_configs(Knobs()))  # step 1 of a Generate without a primer
    cache = render_cache()
    view = next_token_view(ck, context, configs, True)
    frame = next_token_frame(ck, context, configs, constrained=True)
    pd.testing.assert_frame_equal(view["frame"], frame)
    assert view["data"].to_pylist() == frame.to_dict("records")  # what the chart is sent
    assert view["spec"] == charts.next_token_chart(frame)
    hits = cache.hits
    assert next_token_view(ck, context, configs, True) is view and cache.hits == hits + 1
    assert next_token_view(ck, context, configs, False) is not view  # unconstrained: another question
    unmarked = dataclasses.replace(ck, meta={k: v for k, v in ck.meta.items() if k != "weights_sha256"})
    size = len(cache)
    pd.testing.assert_frame_equal(next_token_view(unmarked, context, configs, True)["frame"], frame)
    assert len(cache) == size  # no fingerprint of the weights: made, not cached


def test_a_columns_staff_and_downloads_take_the_key_its_figures_name():
    """The new-user trial saw "E minor" over a staff without sharps: the name was the continuation's key,
    the staff's signature an estimate over primer + continuation. Now the staff and the files take the
    named key's signature. A C major primer (no sharps) before an E minor continuation (F-sharps)."""
    from types import SimpleNamespace

    from app_pages.charts import melody_view
    from app_pages.sampling_views import column_key_signatures
    from bachlstm.music.pitches import estimate_key_sharps, midi_of
    from bachlstm.music.scores import make_event
    from bachlstm.music.tonality import estimate_key

    def note(name: str, octave: int, ql: float):
        return make_event("note", ql, name, octave, midi_of(name, octave))

    primer = [note(p, 4, 1.0) for p in "CDEFGFEDCEGC"]
    continuation = [note(p, 4 if p != "B" else 3, 1.0) for p in ("E", "F#", "G", "F#", "E", "B", "E", "G")]
    continuation += [note("B", 4, 1.0), note("F#", 4, 1.0), note("E", 4, 4.0)]
    assert estimate_key(continuation).name == "E minor"
    assert estimate_key_sharps(primer + continuation) == 0  # the old staff: no sharp
    empty = SimpleNamespace(events=[])
    assert column_key_signatures([SimpleNamespace(events=continuation), empty]) == [1, None]
    svg = melody_view(tuple(primer + continuation), len(primer), key_sharps=1)["svg"][0]
    systems = svg.count('class="keySig')
    assert systems >= 1 and svg.count('class="keyAccid"') == systems  # one sharp at each system's start
    plain = melody_view(tuple(primer + continuation), len(primer))["svg"][0]
    assert 'class="keyAccid"' not in plain


@pytest.mark.slow
def test_a_refused_generate_keeps_the_melodies_already_made():
    """The new-user trial: a bad seed made the melodies on the page disappear. Now every refusal (bad
    settings, no file chosen, a bad file) says why above the last result, which stays, marked as made
    with other settings."""
    at = sampling_page()
    at.slider(key="length").set_value(32)
    at.button(key=GENERATE).click().run()
    made = [g.tokens for g in at.session_state["sampling"].gens]
    at.text_input(key="seed").set_value("abc")
    at.button(key=GENERATE).click().run()
    assert not at.exception
    assert any(e.value.startswith("Nothing generated") and "Seed" in e.value for e in at.error)
    assert column_titles(at) == ["greedy", "top-k (k=8)", "top-p (p=0.9)", "temperature (T=1)"]
    assert [g.tokens for g in at.session_state["sampling"].gens] == made
    assert at.warning and "seed" in at.warning[0].value.lower()  # the result is from other settings
    at.radio(key="primer_source").set_value("upload MIDI/MusicXML").run()
    at.text_input(key="seed").set_value("0")  # after the radio's rerun: form fields count when submitted
    at.button(key=GENERATE).click().run()  # no file chosen
    assert any("Choose a MIDI or MusicXML file" in i.value for i in at.info) and len(column_titles(at)) == 4
    at.file_uploader(key="upload").set_value(("notes.mid", b"not notes" * 20, "audio/midi"))
    at.button(key=GENERATE).click().run()  # a bad file
    assert any("primer cannot be used" in e.value or "not a MIDI" in e.value for e in at.error)
    assert len(column_titles(at)) == 4 and [g.tokens for g in at.session_state["sampling"].gens] == made


def open_link(query: dict) -> AppTest:
    """A fresh session (a new browser) opening the Sampling page at a link's address."""
    at = new_app(timeout=180)  # the same student, in a new browser
    at.query_params.update(query)
    at.switch_page("app_pages/sampling.py")
    return at.run()


@pytest.mark.slow
def test_a_link_reproduces_the_melodies_in_a_fresh_session():
    at = sampling_page()
    at.radio(key="primer_source").set_value("opening of a held-out chorale").run()
    at.slider(key="length").set_value(48)
    at.text_input(key="seed").set_value("11")
    at.slider(key="k").set_value(5)
    at.slider(key="p_t").set_value(1.3)
    at.number_input(key="ngram").set_value(3)
    at.button(key=GENERATE).click().run()
    made = at.session_state["sampling"]
    query = made.link
    assert query["seed"] == "11" and query["k"] == "5" and query["primer"].endswith(":soprano")
    shown = [c.value for c in at.code]
    assert len(shown) == 1 and shown[0].startswith("/sampling?model=tiny&primer=")
    assert shown[0].endswith("&lang=en")  # the sharer's language: a classmate reads the same page

    clear_caches()  # another browser, and the server's caches emptied as after a restart
    again = open_link(query)
    assert not again.exception and not again.error, [e.value for e in again.error]
    res = again.session_state["sampling"]
    assert [g.full_tokens for g in res.gens] == [g.full_tokens for g in made.gens]
    assert res.settings == made.settings and not stale_notes(again)  # the controls show the link's
    assert again.text_input(key="seed").value == "11" and again.slider(key="p_t").value == 1.3
    again.run()  # a rerun does not generate again
    assert again.session_state["sampling"] is res


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"model": "gone-model", "seed": "x"}, ["names the model **gone-model**", "**x** for Seed"]),
        (
            {"model": "tiny", "length": "1000"},
            ["Length (notes) **1000**, which is outside this page's 8 to 256"],
        ),
        ({"model": "tiny", "primer": "bwv9999:soprano"}, ["the chorale **bwv9999:soprano**"]),
    ],
    ids=["unknown-model", "outside-a-slider", "not-held-out"],
)
def test_a_bad_link_says_why_and_the_page_stays_usable(query, words):
    at = open_link(query)
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("This link cannot be opened: it ")
    assert all(w in at.error[0].value for w in words), at.error[0].value
    assert "sampling" not in at.session_state
    at.button(key=GENERATE).click().run()  # the student's own settings still work
    assert not at.exception and at.session_state["sampling"].settings.model == "tiny"


def _two_line_midi() -> bytes:
    """A strings track above an oboe melody (named "Melody") whose releases come on another channel."""
    import io

    import mido

    def track(name, program, pitches, off_channel):
        msgs = [mido.MetaMessage("track_name", name=name), mido.Message("program_change", program=program)]
        for p in pitches:
            msgs += [
                mido.Message("note_on", note=p, velocity=80),
                mido.Message("note_off", note=p, channel=off_channel, time=480),
            ]
        return mido.MidiTrack([*msgs, mido.MetaMessage("end_of_track")])

    out = io.BytesIO()
    tracks = [track("Strings", 48, [79, 79, 81, 81, 83, 83, 84, 84], 0),
              track("Melody", 68, [67, 69, 71, 72, 74, 72, 71, 69], 1)]  # fmt: skip
    mido.MidiFile(type=1, tracks=tracks).save(file=out)
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("line", [None, 1], ids=["default", "chosen"])
def test_library_cli_and_page_read_an_upload_to_the_same_notes_and_notices(line, tmp_path, capsys):
    from app_pages.sampling_state import file_id
    from app_pages.texts import notice_text
    from bachlstm.cli import main
    from bachlstm.generation.primer import upload_primer
    from bachlstm.model.checkpoints import load_checkpoint

    data = _two_line_midi()
    lib = upload_primer(data, "tune.mid", load_checkpoint("tiny").tokenizer, line=line)
    expected = [(e.pitch, e.octave, e.quarter_length) for e in lib.events]
    assert lib.line == (line or 2) and [w.code for w in lib.warnings][:2] == (
        ["release_other_channel", "line_named"] if line is None else ["release_other_channel", "line_chosen"]
    )

    path = tmp_path / "tune.mid"
    path.write_bytes(data)
    main(["generate", "--checkpoint", "tiny", "--primer", str(path), "--length", "16", "--json",
          *(["--track", str(line)] if line else [])])  # fmt: skip
    out = capsys.readouterr()
    cli = [(e["pitch"], e["octave"], e["quarter_length"]) for e in json.loads(out.out)["primer_events"]]
    assert cli == expected
    said = [x.removeprefix("tune.mid: ") for x in out.err.splitlines() if not x.startswith("tune.mid: lines")]
    assert said == [w.text for w in lib.warnings]

    # The uploader sits in the form, so the file (and its lines) arrive with the first Generate, which
    # takes the default line; the box to choose another is there from then on.
    at = sampling_page()
    at.radio(key="primer_source").set_value("upload MIDI/MusicXML").run()
    at.file_uploader(key="upload").set_value(("tune.mid", data, "audio/midi"))
    at.slider(key="length").set_value(32)
    at.button(key=GENERATE).click().run()
    box = at.selectbox(key=f"primer_line_{file_id('tune.mid', data)}")
    assert box.value == 2 and box.options == [
        "1: Strings (String Ensemble 1, G5 to C6, 8 notes)", "2: Melody (Oboe, G4 to D5, 8 notes)",
    ]  # fmt: skip
    if line:
        box.set_value(line)
        at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    page = at.session_state["sampling"].gens[0].primer_events
    assert [(e.pitch, e.octave, e.quarter_length) for e in page] == expected
    assert at.info[0].value == " ".join(f"tune.mid: {notice_text(w)}." for w in lib.warnings)


@pytest.mark.slow
def test_share_one_column_or_all_four_on_the_class_board(tmp_path, monkeypatch):
    from bachlstm.classroom.records import ClassRecords

    monkeypatch.setenv("BACHLSTM_CLASS_DB", str(tmp_path / "class.sqlite3"))
    at = sampling_page()
    at.slider(key="length").set_value(32)
    at.button(key=GENERATE).click().run()
    share = "FormSubmitter:share_form-Share"
    at.button(key=share).click().run()  # no title yet
    assert at.error[0].value.startswith("Give the melody a short title first")
    at.text_input(key="share_title").set_value("  My   first ")
    at.selectbox(key="share_which").set_value("top-k (k=8)")
    at.button(key=share).click().run()
    assert at.success[0].value == "Shared: see the Class board."
    at.button(key=share).click().run()  # a second click shares nothing more
    assert at.info[-1].value == "Shared already: see the Class board."
    at.selectbox(key="share_which").set_value("all four")
    at.button(key=share).click().run()
    items = ClassRecords(tmp_path / "class.sqlite3").board_items()
    assert [(i.owner, i.title, i.method) for i in items][-1] == ("Tess", "My first", "top-k")
    assert sorted(i.method for i in items[:4]) == ["greedy", "temperature", "top-k", "top-p"]
    res = at.session_state["sampling"]
    topk = res.gens[1]
    assert items[-1].settings == res.link and items[-1].label == "top-k (k=8)"
    assert [e["midi"] for e in items[-1].melody["events"]] == [e.midi for e in topk.full_events]


def test_length_is_in_notes_and_a_melody_cut_by_it_says_so():
    at = sampling_page()
    assert at.slider(key="length").label == "Length (notes)"
    assert at.checkbox(key="cadence").value  # on by default: ends at a cadence after the length
    at.slider(key="length").set_value(8)
    at.checkbox(key="cadence").uncheck()
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    gens = at.session_state["sampling"].gens
    assert all(g.notes <= 8 and g.max_notes == 8 for g in gens)
    cut = [c.value for c in at.caption if c.value.startswith("Cut at the length limit")]
    assert len(cut) == sum(g.cut for g in gens) > 0  # a model trained for 4 steps seldom ends by itself
    assert all(c.startswith("Cut at the length limit (8 notes)") for c in cut if "notes" in c)


def test_the_length_says_what_it_means_with_the_cadence_on_and_a_cut_names_the_rule():
    at = sampling_page()
    help_text = at.slider(key="length").help
    assert "first cadence after this many notes" in help_text and "cut at 3 times" in help_text
    assert "at most 120 notes" in help_text  # the trial's 40 -> 119 notes, no longer a surprise
    at.slider(key="length").set_value(8)
    at.button(key=GENERATE).click().run()  # the cadence on (the default): cut at 24 notes at most
    assert not at.exception and not at.error, [e.value for e in at.error]
    gens = at.session_state["sampling"].gens
    assert all(g.max_notes == 24 for g in gens), [(g.max_notes, g.note_limit, g.notes) for g in gens]
    rule = [c.value for c in at.caption if "no cadence came after 8 notes" in c.value]
    assert len(rule) == sum(g.note_limit for g in gens) > 0  # a model trained for 4 steps seldom closes
    assert rule[0] == (
        "Cut at the length limit (24 notes): no cadence came after 8 notes, so the melody was cut at 3 "
        "times the length."
    )


@pytest.mark.slow
def test_a_primer_is_written_in_its_own_key_in_every_column_and_one_method_can_be_shown_large():
    import base64
    from urllib.parse import unquote

    from app_pages.sampling_views import column_key_signatures
    from bachlstm.music.names import key_label
    from bachlstm.music.tonality import estimate_key

    at = sampling_page()
    at.radio(key="primer_source").set_value("opening of a held-out chorale").run()
    at.slider(key="length").set_value(48)
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    gens = at.session_state["sampling"].gens
    key = estimate_key(gens[0].primer_events)
    assert column_key_signatures(gens) == [key.sharps] * 4
    assert any(f"primer's key, **{key_label(key, 'en')}**" in c.value for c in at.caption)
    for image in at.image:  # the primer's notes grey in every column's score
        url = image.proto.imgs[0].url
        svg = base64.b64decode(url.split(",", 1)[1]).decode() if ";base64," in url else unquote(url)
        assert 'class="note" color="#8c8c8c"' in svg, url[:80]
    rolls = [c.proto.spec for c in at.get("vega_lite_chart")][:4]
    assert len({json.dumps(json.loads(r)["encoding"]["x"]["scale"]) for r in rolls}) == 1  # shared axes
    at.segmented_control(key="sampling_focus").set_value("top-p").run()
    assert not at.exception
    assert column_titles(at) == ["top-p (p=0.9)"]
    assert [b.proto.label for b in at.get("download_button")][:2] == ["MIDI", "MusicXML"]


def test_end_on_a_cadence_ends_each_melody_on_the_tonic_or_says_it_was_cut():
    from bachlstm.music.tonality import closes

    at = sampling_page()
    at.slider(key="length").set_value(8)
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    gens = at.session_state["sampling"].gens
    assert all(g.max_notes == 3 * 8 and g.notes <= 24 for g in gens)
    assert all(closes(g.full_events) for g in gens if g.finished)


def test_the_held_out_reference_is_scored_once_per_model_not_per_generate(monkeypatch):
    """The Bach row and the reference statistics (about a second of CPU) are made once per checkpoint
    file, whatever the reruns and clicks: a decorator that slid onto another function had made every
    Generate of every student score them again."""
    from bachlstm.reports import comparison

    made = []
    real = comparison.checkpoint_reference
    monkeypatch.setattr(
        comparison, "checkpoint_reference", lambda ck, **kw: made.append(ck.path) or real(ck, **kw)
    )
    at = sampling_page()
    for seed in ("3", "4"):
        at.text_input(key="seed").set_value(seed)
        at.button(key=GENERATE).click().run()
        assert not at.exception
    assert len(made) == len(set(made)) == 1


def test_the_comparison_pools_64_melodies_per_method_once_with_the_students_as_dots():
    at = sampling_page()
    at.slider(key="length").set_value(8)
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="method_figures").click().run()  # not the page's default length: asked for once
    style = at.dataframe[0].value  # pooled per method even though the columns show one melody each
    assert style.melodies.tolist()[2:] == [64, 64, 64]  # Bach, greedy (one melody), then 64 per method
    assert any(c.value.startswith("The bars: 64 melodies per method") for c in at.caption)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    style_spec = next(s for s in specs if s.get("facet", {}).get("field") == "figure")
    assert len(style_spec["spec"]["layer"]) == 3  # bars, intervals and the student's dots


def test_the_comparison_reads_a_shipped_models_figures_for_the_defaults_and_computes_the_rest(monkeypatch):
    """The default settings' 64-melody figures come from NAME.figures.json: no server CPU on the first
    Generate. Any other setting (or no file) is computed as before."""
    from app_pages import common
    from bachlstm.reports import stored_figures
    from bachlstm.reports.comparison import Knobs

    computed = []

    def compute(ck, ref, settings):
        computed.append(settings)
        return "computed"

    monkeypatch.setattr(stored_figures, "method_style", compute)
    monkeypatch.setattr(common, "reference", lambda path, mtime: "reference")
    monkeypatch.setattr(common, "checkpoint", lambda path, mtime: "checkpoint")
    path = Path(__file__).resolve().parents[2] / "checkpoints" / "chorale.safetensors"  # the shipped one
    default = stored_figures.default_settings()
    args = (str(path), common.mtime(path), default.knobs, default.constrained, default.lengths)
    shipped = common.method_figures(*args)
    assert not computed and shipped.rows[-1].melodies == 64
    assert shipped.frame().equals(stored_figures.stored_figures(path, default).frame())
    assert common.method_figures(*args[:2], Knobs(k=9), *args[3:]) == "computed"
    assert computed == [stored_figures.FigureSettings(Knobs(k=9), default.constrained, default.lengths)]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_decimal_knobs_on_a_german_page_are_formatted_by_the_browsers_locale(lang):
    # Streamlit's printf formats know no decimal comma ("0.90" on a German page); "localized" writes 0,9
    at = new_app(lang=lang, timeout=180)
    at.run()
    at.switch_page("app_pages/sampling.py").run()
    assert not at.exception, at.exception
    assert (at.slider(key="t").proto.format == "localized") == (lang == "de")
    assert (
        at.slider(key="k").proto.format != "localized" and at.slider(key="length").proto.format != "localized"
    )
    assert isinstance(at.slider(key="t").value, float)  # the value itself is a number as before


def test_the_server_freezes_what_it_holds_once_the_music_tools_are_ready():
    """The libraries, the corpus and the first model stay for the server's life: after the Sampling
    page's warm-up the garbage collector's full collections no longer walk them (gc.freeze)."""
    import gc

    from app_pages.common import music_tools_ready

    gc.unfreeze()
    music_tools_ready.clear()
    try:
        assert music_tools_ready() is True
        assert gc.get_freeze_count() > 10_000  # at least the imported libraries' objects
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(
    ("lang", "primer", "title"),
    [
        ("de", "", "bach: Temperatur, Primer keine"),
        ("de", "bwv66.6 soprano", "bach: Top-p, Primer bwv66.6 soprano"),
        ("en", "", "bach: temperature, primer none"),
    ],
)
def test_a_downloads_title_is_in_the_readers_language(lang, primer, title):
    """The title MuseScore shows above the staff: a German page's download says Temperatur, not
    temperature (the library's English title stays the command line's)."""
    from app_pages.i18n import using
    from app_pages.sampling_views import TITLE_WORDS, title_words
    from bachlstm.music.scores import TITLE, download_title

    assert TITLE_WORDS == TITLE  # one title, worded by the page
    method = "temperature" if not primer else "top-p"
    with using(lang):
        assert title_words("bach", method, primer) == title
    assert download_title("bach", "temperature", "") == "bach: temperature, primer none"
