"""The Sampling page's settings kept with a result: which differences the page names, in what words."""

from dataclasses import replace

from streamlit.testing.v1 import AppTest

from app_pages.sampling_state import SamplingSettings, file_id, stale_note
from bachlstm.reports.comparison import Knobs
from tests.app.helpers import widget_value_warnings

MADE = SamplingSettings(
    model="bach",
    checkpoint="checkpoints/bach.safetensors",
    primer="file scale.mid",
    primer_id=file_id("scale.mid", b"one"),
    length=32,
    min_length=8,
    seed=7,
    knobs=Knobs(),
    constrained=True,
)


def test_the_same_settings_need_no_note():
    assert stale_note(MADE, replace(MADE)) is None


def test_each_difference_is_named_with_both_values():
    shown = replace(MADE, seed=3, length=64, knobs=Knobs(k=3, repetition_penalty=1.2), constrained=False)
    assert stale_note(MADE, shown) == (
        "These melodies were made with length 32 notes, seed 7, top-k: k 8, repetition penalty 1, "
        "grammar mask on; the settings above say length 64 notes, seed 3, top-k: k 3, repetition "
        "penalty 1.2, grammar mask off. Press **Generate** for the new settings."
    )


def test_another_model_is_one_difference_and_a_resaved_run_is_one_too():
    other = replace(MADE, model="workshop", checkpoint="checkpoints/workshop.safetensors")
    assert stale_note(MADE, other).startswith(
        "These melodies were made with model bach; the settings above say model workshop."
    )
    resaved = replace(MADE, checkpoint="runs/bach.safetensors")
    assert (
        "model file checkpoints/bach.safetensors; the settings above say model file runs/bach"
        in stale_note(MADE, resaved)
    )


def test_a_new_file_of_the_same_name_is_a_new_primer():
    shown = replace(MADE, primer_id=file_id("scale.mid", b"two"))
    assert stale_note(MADE, shown) == (
        "These melodies were made with primer file scale.mid; the settings above say primer file scale.mid "
        "(another file of that name). Press **Generate** for the new settings."
    )
    assert file_id("scale.mid", b"one") == file_id("scale.mid", b"one") != file_id("scale.mid", b"two")


def test_the_duplicate_value_check_sees_streamlits_warning():
    """The pages' page-switch tests rely on this check: it must see the warning where there is one."""

    def page():
        import streamlit as st

        st.session_state.level = 3
        st.slider("level", 0, 10, 5, key="level")

    with widget_value_warnings() as warned:
        AppTest.from_function(page).run()
    assert warned == [
        'The widget with key "level" was created with a default value but also had its value set via '
        "the Session State API."
    ]


def test_the_model_list_starts_at_the_default_model_then_bach():
    from app_pages.sampling_state import default_model_index

    assert default_model_index(["workshop", "bach", "chorale", "anna-1"]) == 2
    assert default_model_index(["workshop", "bach", "anna-1"]) == 1
    assert default_model_index(["anna-1", "anna-2"]) == 0
