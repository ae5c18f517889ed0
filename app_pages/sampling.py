"""Sampling: one model, one primer, one seed; greedy | top-k | top-p | temperature side by side."""

import streamlit as st

from app_pages.common import (
    checkpoint,
    model_ready,
    mtime,
    music_tools_ready,
    reference,
    show_problem,
    usable_checkpoints,
)
from app_pages.forms import parse_whole_number
from app_pages.sampling_views import draw_below, draw_columns, generate_once, read_upload
from app_pages.texts import KNOB_HELP, melody_label
from bachlstm.checkpoints import CheckpointError
from bachlstm.compare import Knobs
from bachlstm.generation import DEFAULT_MIN_LENGTH
from bachlstm.primer import primer_from_melody
from bachlstm.seeds import check_seed

st.title("Sampling")


def model_label(info) -> str:
    return info.name if info.status == "complete" else f"{info.name} ({info.state})"


usable, broken = usable_checkpoints()
for info in broken:
    show_problem(info)
if not usable:
    st.info("No trained model yet: train one on the Training page.")
    st.stop()
names = [info.name for info in usable]
name = st.selectbox(
    "Model",
    names,
    index=names.index("bach") if "bach" in names else 0,
    key="ckpt",
    # A run that ended early is usable, but says so: "my-run (stopped at epoch 5 of 45)".
    format_func=lambda n: model_label(usable[names.index(n)]),
)
info = usable[names.index(name)]
try:
    ck = checkpoint(str(info.path), mtime(info.path))
except CheckpointError as exc:
    st.error(f"Checkpoint **{name}** cannot be loaded: {exc}")
    st.stop()
ref = reference(str(info.path), mtime(info.path))
music_tools_ready()
model_ready(str(info.path), mtime(info.path))
sources = ["none", "opening of a held-out chorale", "upload MIDI/MusicXML"]
source = st.radio(
    "Primer",
    sources if ref else sources[::2],
    horizontal=True,
    key="primer_source",
    help="The notes the model continues: none, the first two bars of a chorale it never trained on, "
    "or your own MIDI/MusicXML file.",
)

with st.form("sample_form"):
    top = st.columns([3, 3, 2, 2])
    primer, upload = None, None
    if source == sources[1]:
        i = top[0].selectbox(
            "Held-out chorale",
            range(len(ref.melodies)),
            key="primer_piece",
            format_func=lambda k: melody_label(ref.melodies[k]),
        )
        primer = primer_from_melody(ref.melodies[i], bars=2)
    elif source == sources[2]:
        upload = top[0].file_uploader(
            "Primer file", type=["mid", "midi", "xml", "musicxml", "mxl"], key="upload"
        )
    length = top[1].slider(
        "Length (tokens)",
        16,
        512,
        128,
        16,
        key="length",
        help="How many tokens the model writes after the primer (a factored note takes several tokens).",
    )
    # No bounds in the widget: a number out of a field's range turns red and Generate silently does
    # nothing; generate() refuses it with a message instead. The seed is text: it may exceed what a
    # browser's number field holds.
    min_length = top[2].number_input(
        "Minimum notes", value=DEFAULT_MIN_LENGTH, step=1, key="min_length", help=KNOB_HELP["min_length"]
    )
    seed_text = top[3].text_input(
        "Seed",
        "0",
        key="seed",
        help="A whole number from 0 to 4294967295. Same seed and settings, same music; change it for "
        "another draw.",
    )
    c = st.columns(4)
    c[0].markdown("**greedy**: always the most likely token (no knobs)")
    knobs = {
        "k": c[1].slider("top-k: k", 1, 64, 8, key="k", help=KNOB_HELP["k"]),
        "k_temperature": c[1].slider(
            "top-k: temperature", 0.1, 2.0, 1.0, 0.05, key="k_t", help=KNOB_HELP["t"]
        ),
        "p": c[2].slider("top-p: p", 0.05, 1.0, 0.9, 0.01, key="p", help=KNOB_HELP["p"]),
        "p_temperature": c[2].slider(
            "top-p: temperature", 0.1, 2.0, 1.0, 0.05, key="p_t", help=KNOB_HELP["t"]
        ),
        "temperature": c[3].slider("temperature: T", 0.1, 3.0, 1.0, 0.05, key="t", help=KNOB_HELP["t"]),
    }
    with st.expander("More samplers (added to every column)"):
        e = st.columns(5)
        extras = {
            "min_p": e[0].slider("min-p", 0.0, 0.5, 0.0, 0.01, key="min_p", help=KNOB_HELP["min_p"]),
            "typical_p": e[1].slider(
                "typical p", 0.05, 1.0, 1.0, 0.05, key="typical_p", help=KNOB_HELP["typical_p"]
            ),
            "repetition_penalty": e[2].slider(
                "repetition penalty", 1.0, 2.0, 1.0, 0.05, key="rep", help=KNOB_HELP["repetition_penalty"]
            ),
            "no_repeat_ngram": e[3].number_input(
                "no repeated n-gram (0 = off)",
                value=0,
                step=1,
                key="ngram",
                help=KNOB_HELP["no_repeat_ngram"],
            ),
        }
        constrained = e[4].checkbox(
            "grammar mask (valid notes only)", True, key="constrained", help=KNOB_HELP["constrained"]
        )
    go = st.form_submit_button("Generate", type="primary", key="generate")

if go:
    try:
        seed = check_seed(parse_whole_number(seed_text, "Seed"), "Seed")
    except ValueError as exc:
        st.error(f"Nothing generated: {exc}")
        st.stop()
    note = ""
    if upload is not None:
        primer, note = read_upload(upload, ck.tokenizer)  # shows the error and stops for a bad file
    lengths = (length, min_length)
    generate_once(ck, name, ref, Knobs(**knobs, **extras), primer, lengths, seed, constrained, note)
result = st.session_state.get("sampling")
if result is None:
    st.info("Choose the settings and press **Generate**.")
    st.stop()
draw_columns(result)
draw_below(result)
