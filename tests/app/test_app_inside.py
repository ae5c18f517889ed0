"""Inside-the-model page in AppTest: the shipped models on a held-out chorale, two models side by side, every
view's choices, a melody generated on the Sampling page, and a model without a recorded split."""

import pytest
from streamlit.testing.v1 import AppTest

from bachlstm.model.checkpoints import load_checkpoint
from bachlstm.reports.inspection import inspect_melody
from bachlstm.training.splits import inspection_order, split_melodies, trained_pieces
from tests.app.helpers import fresh_caches, new_app, open_app  # noqa: F401 (autouse fixture)

GENERATE = "generate"


def inside_page() -> AppTest:
    return open_app("app_pages/inside.py", timeout=180)


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["inside_tab"] = label  # what a click on the tab does: only the open tab is drawn
    return at.run()


def test_the_page_shows_the_workshop_models_surprise_on_a_held_out_chorale():
    at = inside_page()
    assert not at.exception, at.exception
    assert at.selectbox(key="inside_ckpt").value == "workshop"
    assert [t.label for t in at.tabs] == ["Surprise", "Gates and states", "What units track", "Embedding"]
    # The number shown is the library's: the mean bits per note of the first held-out sung melody line
    # that no other shipped model trained on (the workshop's first, bwv139.6, is a `bach` training
    # melody; bwv149.7's first part is a trumpet's, 25 bars of whole-bar rests at ~23 bits each).
    ckpt = load_checkpoint("workshop")
    others = trained_pieces(load_checkpoint("bach").meta) | trained_pieces(load_checkpoint("chorale").meta)
    first = inspection_order(split_melodies(ckpt.meta)["test"], others)[0]
    assert first.piece_id not in others and (first.piece_id, first.voice) == ("bwv159.5", "soprano")
    assert at.selectbox(key="inside_piece").value.startswith("bwv159.5 soprano")
    expected = inspect_melody(ckpt, first.events).surprise.mean_bits
    assert at.metric[0].label == "workshop: mean surprise"
    assert at.metric[0].value == f"{expected:.2f} bits per note"
    assert len(at.get("vega_lite_chart")) == 1  # only the open tab is drawn: the surprise roll
    open_tab(at, "Gates and states")
    assert len(at.get("vega_lite_chart")) == 3  # piano roll, heatmap, one unit's trace
    open_tab(at, "Embedding")
    assert len(at.get("vega_lite_chart")) == 4  # the three 2-D views of the 3-D embedding, one legend
    assert "3 numbers per token" in " ".join(m.value for m in at.markdown)
    at.selectbox(key="inside_token").set_value(" ").run()  # the workshop's separator token is a space
    nearest = at.dataframe[-1].value
    assert nearest.token.str.strip().all(), nearest  # no cell that looks empty
    assert "(separator)" in at.selectbox(key="inside_token").options


def test_every_choice_redraws_without_errors():
    at = inside_page()
    for tab, key, value in [
        ("Gates and states", "inside_layer", "2 (12 units)"),
        ("Gates and states", "inside_signal", "forget_gate"),
        ("Gates and states", "inside_signal", "cell"),
        ("Gates and states", "inside_unit", 5),
        ("What units track", "inside_feature", "beat_strength"),
        ("Embedding", "inside_colour", "octave"),
        ("Embedding", "inside_token", "o4"),
        ("Embedding", "inside_piece", "bwv159.5 soprano: Jesu Leiden, Pein und Tod"),
    ]:
        open_tab(at, tab).selectbox(key=key).set_value(value).run()
        assert not at.exception, (key, value, at.exception)
    assert at.dataframe, "the neighbours are shown"
    assert "inside_signal" not in [w.key for w in at.selectbox], "a closed tab is not drawn"


def test_two_models_side_by_side_on_the_bach_model():
    at = inside_page()
    at.selectbox(key="inside_ckpt").set_value("bach").run()
    at.selectbox(key="inside_other").set_value("workshop").run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["bach: mean surprise", "workshop: mean surprise"]
    # bach's 256-unit layer shows its 32 most active units, and says so.
    open_tab(at, "Gates and states")
    assert any("32 of 256 units" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_melody_generated_on_the_sampling_page_and_pooled_units():
    at = open_app("app_pages/sampling.py", timeout=180)
    at.selectbox(key="ckpt").set_value("workshop").run()
    at.slider(key="length").set_value(16)  # the comparison's 64 melodies per method stay quick
    at.button(key=GENERATE).click().run()
    assert not at.exception, at.exception
    at.switch_page("app_pages/inside.py").run()
    at.radio(key="inside_source").set_value("a melody from the Sampling page").run()
    assert not at.exception, at.exception
    gen = at.selectbox(key="inside_gen")
    assert gen.value == gen.options[0] and gen.value.startswith("greedy")
    open_tab(at, "What units track").toggle(key="inside_pool").set_value(True).run()
    assert not at.exception, at.exception
    units = next(d.value for d in at.dataframe if "LSTM state" in d.value.columns)
    assert (units["notes"] > 200).all()  # the notes of all 29 held-out melodies, not one melody's


def test_a_model_without_held_out_melodies_asks_for_a_generated_one(tmp_path, monkeypatch):
    from bachlstm.model.checkpoints import read_meta, save_checkpoint

    ckpt = load_checkpoint("workshop")
    meta = {k: v for k, v in read_meta("workshop").items() if k != "split"}
    runs = tmp_path / "runs"
    runs.mkdir()
    save_checkpoint(runs / "nosplit.safetensors", ckpt.model, ckpt.tokenizer, meta)
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(runs))
    at = inside_page()
    at.selectbox(key="inside_ckpt").set_value("nosplit").run()
    assert not at.exception, at.exception
    assert any("records no held-out melodies" in i.value for i in at.info)


def test_model_melody_and_tab_are_kept_across_page_switches():
    from tests.app.helpers import leave_and_return

    at = inside_page()
    at.selectbox(key="inside_ckpt").set_value("bach").run()
    piece = at.selectbox(key="inside_piece").options[2]
    at.selectbox(key="inside_piece").set_value(piece).run()
    open_tab(at, "Embedding")
    leave_and_return(at, "app_pages/inside.py")
    assert not at.exception, at.exception
    assert at.selectbox(key="inside_ckpt").value == "bach"
    assert at.selectbox(key="inside_piece").value == piece
    assert at.selectbox(key="inside_colour"), "the Embedding tab is open again"


def test_the_traced_unit_is_the_heatmaps_most_varying_row():
    import numpy as np

    at = inside_page()
    at.selectbox(key="inside_ckpt").set_value("bach").run()
    open_tab(at, "Gates and states")
    unit = at.selectbox(key="inside_unit")
    assert len(unit.options) == 32  # the heatmap's rows, not all 256 units
    ckpt = load_checkpoint("bach")
    piece = at.selectbox(key="inside_piece").value.split()[0]  # kept from the workshop model's list
    first = next(m for m in split_melodies(ckpt.meta)["test"] if m.piece_id == piece)
    values = inspect_melody(ckpt, first.events).activations.layers[0].signal("input_gate")
    assert unit.value == int(np.argmax(values.std(axis=0)))  # the widest spread of the whole layer


def test_what_units_track_speaks_words_and_opens_on_the_best_tracked_feature():
    at = open_tab(inside_page(), "What units track")
    table = at.dataframe[0].value
    assert list(table.columns) == ["feature", "layer", "unit", "LSTM state", "r", "notes"]
    assert not set(table.feature) & {"position_in_bar", "beat_strength", "pitch_height", "distance_to_end"}
    assert set(table["LSTM state"]) <= {"hidden state h", "cell state c"}
    best = table.loc[table.r.abs().idxmax(), "feature"]
    feature = at.selectbox(key="inside_feature")
    assert feature.format_func(feature.value) == best


def test_note_names_of_the_surprise_tables_follow_the_page_language():
    from bachlstm.music.names import pitch_name
    from tests.app.helpers import new_app

    at = new_app(lang="de")
    at.run()
    at.switch_page("app_pages/inside.py").run()
    assert not at.exception, at.exception
    # The page opens on a chorale no other model trained on: read which, then its notes' German names.
    piece = at.selectbox(key="inside_piece").value.split()[0]
    ckpt = load_checkpoint("workshop")
    melody = next(m for part in split_melodies(ckpt.meta).values() for m in part
                  if m.piece_id == piece)  # fmt: skip
    notes = inspect_melody(ckpt, melody.events).surprise.notes
    expected = {"Pause" if n == "rest" else pitch_name(n, "de") for n in notes.name}
    shown = {n for d in at.dataframe if "Note" in d.value.columns for n in d.value["Note"]}
    assert shown and shown <= expected
    assert not any("-" in n or "#" in n for n in shown)  # never music21's "B-4" or "F#4"


def test_a_comparison_on_a_chorale_the_other_model_trained_on_says_so():
    at = inside_page()
    at.selectbox(key="inside_other").set_value("bach").run()
    assert not at.exception and not at.warning  # the default chorale: neither model trained on it
    bach_trained = next(
        label for label in at.selectbox(key="inside_piece").options if label.startswith("bwv139.6")
    )
    at.selectbox(key="inside_piece").set_value(bach_trained).run()
    assert not at.exception
    assert any("bach was trained on bwv139.6" in w.value for w in at.warning)


def test_a_generated_melodys_method_is_worded_in_german():
    at = new_app(lang="de", timeout=180)
    at.run()
    at.switch_page("app_pages/sampling.py").run()
    at.selectbox(key="ckpt").set_value("workshop").run()
    at.slider(key="length").set_value(16)
    at.button(key=GENERATE).click().run()
    at.switch_page("app_pages/inside.py").run()
    source = at.radio(key="inside_source")
    source.set_value(source.options[1]).run()  # a melody from the Sampling page
    assert not at.exception, at.exception
    options = at.selectbox(key="inside_gen").options
    assert options[0].startswith("Greedy") and any(o.startswith("Temperatur (T=") for o in options)
    assert not any(o.startswith(("greedy", "temperature", "top-")) for o in options)
