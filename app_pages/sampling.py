"""Sampling: one model, one primer, one seed; greedy | top-k | top-p | temperature side by side."""

import streamlit as st

from app_pages.common import (
    SESSION,
    checkpoint,
    model_ready,
    mtime,
    music_tools_ready,
    reference,
    show_problem,
    usable_checkpoints,
)
from app_pages.forms import parse_whole_number, problems_text
from app_pages.sampling_state import SamplingSettings
from app_pages.sampling_views import (
    MAX_TABLE_SAMPLES,
    SAMPLING_LABELS,
    draw_below,
    draw_columns,
    draw_stale,
    generate_once,
    kept_primer_file,
    knob,
    read_upload,
    settings_problems,
)
from app_pages.texts import KNOB_HELP, KNOB_LABELS, melody_label, run_state_words
from bachlstm.generation.generator import DEFAULT_MIN_LENGTH
from bachlstm.generation.primer import primer_from_melody
from bachlstm.model.checkpoints import CheckpointError
from bachlstm.reports.comparison import Knobs
from bachlstm.settings.problems import SettingsError
from bachlstm.settings.seeds import check_seed

st.title("Sampling")


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
    persist_state=SESSION,
)
info = usable[names.index(name)]
if info.status != "complete":
    # A run that ended early is usable, but says so, beside the box: a browser keeps the label it first
    # showed for a chosen option, so a state inside the label went stale when the run went on.
    st.caption(f"**{name}** is {run_state_words(info)}")
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
    persist_state=SESSION,
    help="The notes the model continues: none, the first two bars of a chorale it never trained on, "
    "or your own MIDI/MusicXML file.",
)

with st.form("sample_form"):
    top = st.columns([3, 3, 2, 2, 2])
    primer, primer_words, primer_id, file = None, "none", "none", None
    if source == sources[1]:
        # Labels as options (not positions): another model holds out other chorales (see corpus.py).
        by_label = {melody_label(m): m for m in ref.melodies}
        primer_words = top[0].selectbox(
            "Held-out chorale", list(by_label), key="primer_piece", persist_state=SESSION
        )
        melody = by_label[primer_words]
        primer = primer_from_melody(melody, bars=2)
        primer_id = f"{melody.piece_id} {melody.voice}"
    elif source == sources[2]:
        upload = top[0].file_uploader(
            "Primer file", type=["mid", "midi", "xml", "musicxml", "mxl"], key="upload"
        )
        file = kept_primer_file(top[0], upload)  # st.file_uploader forgets its file on a page switch
        primer_words, primer_id = (f"file {file.name}", file.id) if file else ("file (none chosen)", "none")
    length = top[1].slider(
        "Length (tokens)",
        16,
        512,
        128,
        16,
        key="length",
        persist_state=SESSION,
        help="How many tokens the model writes after the primer (a factored note takes several tokens).",
    )
    # No bounds in the widget: a number out of a field's range turns red and Generate silently does
    # nothing; generate() refuses it with a message instead. The seed is text: it may exceed what a
    # browser's number field holds.
    min_length = top[2].number_input(
        "Minimum notes",
        value=DEFAULT_MIN_LENGTH,
        step=1,
        key="min_length",
        persist_state=SESSION,
        help=KNOB_HELP["min_length"],
    )
    seed_text = top[3].text_input(
        "Seed",
        "0",
        key="seed",
        persist_state=SESSION,
        help="A whole number from 0 to 4294967295. Same seed and settings, same music; change it for "
        "another draw.",
    )
    samples = top[4].number_input(
        "Samples per method (table)",
        value=1,
        step=1,
        key="samples",
        persist_state=SESSION,
        help=f"The columns show one melody per method; the comparison table pools this many per method "
        f"(1-{MAX_TABLE_SAMPLES}). 1 keeps Generate quick for a whole class; 16 or more gives steadier "
        "figures and 95% intervals, at about 0.1 s of server time per melody.",
    )
    c = st.columns(4)
    c[0].markdown("**greedy**: always the most likely token (no knobs)")
    knobs = {
        "k": knob(c[1], "k", 1, 64, 8),
        "k_temperature": knob(c[1], "k_temperature", 0.1, 2.0, 1.0, 0.05, key="k_t", tip="t"),
        "p": knob(c[2], "p", 0.05, 1.0, 0.9, 0.01),
        "p_temperature": knob(c[2], "p_temperature", 0.1, 2.0, 1.0, 0.05, key="p_t", tip="t"),
        "temperature": knob(c[3], "temperature", 0.1, 3.0, 1.0, 0.05, key="t", tip="t"),
    }
    with st.expander("More samplers (added to every column)"):
        e = st.columns(5)
        extras = {
            "min_p": knob(e[0], "min_p", 0.0, 0.5, 0.0, 0.01),
            "typical_p": knob(e[1], "typical_p", 0.05, 1.0, 1.0, 0.05),
            "repetition_penalty": knob(e[2], "repetition_penalty", 1.0, 2.0, 1.0, 0.05, key="rep"),
            "no_repeat_ngram": e[3].number_input(
                f"{KNOB_LABELS['no_repeat_ngram']} (0 = off)",
                value=0,
                step=1,
                key="ngram",
                persist_state=SESSION,
                help=KNOB_HELP["no_repeat_ngram"],
            ),
        }
        constrained = e[4].checkbox(
            "grammar mask (valid notes only)",
            True,
            key="constrained",
            persist_state=SESSION,
            help=KNOB_HELP["constrained"],
        )
    go = st.form_submit_button("Generate", type="primary", key="generate")


knobs = Knobs(**knobs, **extras)
try:
    seed, seed_problem = check_seed(parse_whole_number(seed_text, "seed")), None
except ValueError as exc:
    seed, seed_problem = seed_text, exc  # shown as typed until Generate says what is wrong
shown = SamplingSettings(
    name, str(info.path), primer_words, primer_id, length, min_length, seed, knobs, constrained, int(samples)
)
if go:
    # A refusal says why and leaves the melodies already made on the page (marked as from other settings).
    problems = settings_problems(seed_problem, shown)
    read = (primer, "")
    if problems:  # every bad field at once, by the labels above
        st.error(f"Nothing generated: {problems_text(SettingsError(problems), SAMPLING_LABELS)}")
    elif source == sources[2] and file is None:
        st.info("Choose a MIDI or MusicXML file for the primer first (or another primer source).")
    elif source == sources[2] and (read := read_upload(file, ck.tokenizer)) is None:
        pass  # read_upload said what is wrong with the file
    else:
        generate_once(ck, ref, shown, *read)
result = st.session_state.get("sampling")
if result is None:
    st.info("Choose the settings and press **Generate**.")
    st.stop()
draw_stale(result, shown)
draw_columns(result)
draw_below(result)
