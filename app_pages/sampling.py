"""Sampling: one model, one primer, one seed; greedy | top-k | top-p | temperature side by side."""

import streamlit as st

from app_pages.board_views import draw_share
from app_pages.common import (
    SESSION,
    checkpoint,
    held_out_primers,
    model_ready,
    mtime,
    music_tools_ready,
    reference,
    show_problem,
    usable_checkpoints,
)
from app_pages.forms import parse_whole_number, problems_text
from app_pages.i18n import N_, translator
from app_pages.identity import current_student
from app_pages.messages import LENGTH_LABEL, MIN_LENGTH_LABEL, PRIMER_LABEL, PRIMER_NONE, describe
from app_pages.sampling_state import SLIDERS, SamplingSettings, default_model_index, request_of
from app_pages.sampling_views import (
    MAX_TABLE_SAMPLES,
    SAMPLING_LABELS,
    draw_below,
    draw_columns,
    draw_link,
    draw_stale,
    generate_once,
    held_out_primer,
    kept_primer_file,
    knob,
    line_choice,
    link_opened,
    read_link,
    read_upload,
    settings_problems,
)
from app_pages.terms import with_glossary
from app_pages.texts import (
    KNOB_HELP,
    KNOB_LABELS,
    left_out_primers_text,
    primer_choice_label,
    run_state_words,
)
from bachlstm.generation.primer import primer_from_melody
from bachlstm.model.checkpoints import CheckpointError
from bachlstm.reports.comparison import Knobs
from bachlstm.reports.links import CADENCE_CAP, SamplingRequest, to_query
from bachlstm.settings.problems import SettingsError
from bachlstm.settings.seeds import check_seed
from bachlstm.training.splits import melody_key

_ = translator(__name__)

st.title(_("Sampling"))


usable, broken = usable_checkpoints()
for info in broken:
    show_problem(info)
if not usable:
    st.info(_("No trained model yet: train one on the Training page."))
    st.stop()
names = [info.name for info in usable]
link = read_link(names)  # a shared link's settings become the controls' starting values, once
start = link or SamplingRequest("")  # the page's defaults: a request without a link
name = st.selectbox(
    _("Model"),
    names,
    index=names.index(link.model) if link else default_model_index(names),
    key="ckpt",
    persist_state=SESSION,
)
info = usable[names.index(name)]
if info.status != "complete":
    # A run that ended early is usable, but says so, beside the box: a browser keeps the label it first
    # showed for a chosen option, so a state inside the label went stale when the run went on.
    st.caption(_("**{name}** is {state}").format(name=name, state=run_state_words(info)))
try:
    ck = checkpoint(str(info.path), mtime(info.path))
except CheckpointError as exc:
    st.error(_("Checkpoint **{name}** cannot be loaded: {error}").format(name=name, error=describe(exc)))
    st.stop()
ref = reference(str(info.path), mtime(info.path))
music_tools_ready()
model_ready(str(info.path), mtime(info.path))
offered, left_out = held_out_primers(str(info.path), mtime(info.path))
link = held_out_primer(link, [melody_key(c.melody) for c in offered])
sources = [PRIMER_NONE, N_("opening of a held-out chorale"), N_("upload MIDI/MusicXML")]
source_labels = [_(s) for s in sources]  # the labels are the options (AppTest keeps a radio's raw value)
source = st.radio(
    _(PRIMER_LABEL),
    source_labels if ref else source_labels[::2],
    index=1 if link and link.primer else 0,
    horizontal=True,
    key="primer_source",
    persist_state=SESSION,
    help=_(
        "The notes the model continues: none, the first two bars of a chorale it never trained on, "
        "or your own MIDI/MusicXML file."
    ),
)
source = sources[source_labels.index(source)] if source in source_labels else sources[0]

with st.form("sample_form"):
    top = st.columns([3, 3, 2, 2, 2])
    primer, primer_words, primer_id, file, line = None, _("none"), "none", None, None
    primer_key = ""  # what a link names the primer by ("" none, a chorale's key, None a file)
    if source == sources[1]:
        # Labels as options (not positions): another model holds out other chorales (see corpus.py).
        by_label = {primer_choice_label(c): c.melody for c in offered}
        keys = [melody_key(m) for m in by_label.values()]
        primer_words = top[0].selectbox(
            _("Held-out chorale"),
            list(by_label),
            index=keys.index(link.primer) if link and link.primer else 0,
            key="primer_piece",
            persist_state=SESSION,
        )
        if left_out:
            top[0].caption(left_out_primers_text(left_out))
        melody = by_label[primer_words]
        primer = primer_from_melody(melody, bars=2)
        primer_id = f"{melody.piece_id} {melody.voice}"
        primer_key = melody_key(melody)
    elif source == sources[2]:
        upload = top[0].file_uploader(
            _("Primer file"), type=["mid", "midi", "xml", "musicxml", "mxl"], key="upload"
        )
        file = kept_primer_file(top[0], upload)  # st.file_uploader forgets its file on a page switch
        line = line_choice(top[0], file) if file else None
        primer_words, primer_id = (
            (_("file {name}").format(name=file.name), file.id) if file else (_("file (none chosen)"), "none")
        )
        if line is not None:
            primer_words = _("{primer}, line {line}").format(primer=primer_words, line=line)
            primer_id = f"{primer_id} line {line}"
        primer_key = None
    length = top[1].slider(
        _(LENGTH_LABEL),
        *SLIDERS["length"][:2],
        start.length,
        SLIDERS["length"][2],
        key="length",
        persist_state=SESSION,
        help=_(
            "With 'end on a cadence' on (the default): the melody ends at its first cadence after this "
            "many notes, so it is usually longer; if no cadence comes it is cut at {cap} times this "
            "length (40: at most {example} notes). Off: the most notes the model writes after the "
            "primer; a melody the model does not end before is cut here. A cut column says so."
        ).format(cap=CADENCE_CAP, example=40 * CADENCE_CAP),
    )
    cadence = top[1].checkbox(
        _("end on a cadence"),
        start.cadence,
        key="cadence",
        persist_state=SESSION,
        help=_(
            "On: a melody may end only where it closes as a chorale does, on the tonic of its key, begun "
            "on beat 1 or 3, reached by a step; once it has the length above, it ends at its next such "
            "cadence (cut at {cap} times the length if none comes). Off: the model ends it wherever it "
            "writes the end, and the length above cuts it."
        ).format(cap=CADENCE_CAP),
    )
    # No bounds in the widget: a number out of a field's range turns red and Generate silently does
    # nothing; generate() refuses it with a message instead. The seed is text: it may exceed what a
    # browser's number field holds.
    min_length = top[2].number_input(
        _(MIN_LENGTH_LABEL),
        value=start.min_length,
        step=1,
        key="min_length",
        persist_state=SESSION,
        help=with_glossary(_(KNOB_HELP["min_length"]), "bos-eos"),
    )
    seed_text = top[3].text_input(
        _("Seed"),
        str(start.seed),
        key="seed",
        persist_state=SESSION,
        help=_(
            "A whole number from 0 to 4294967295. Same seed and settings, same music; change it for "
            "another draw."
        ),
    )
    samples = top[4].number_input(
        _("Samples per method (table)"),
        value=start.samples,
        step=1,
        key="samples",
        persist_state=SESSION,
        help=_(
            "The columns show one melody per method; the comparison table pools this many per method "
            "(1-{most}). 1 keeps Generate quick for a whole class; 16 or more gives steadier figures and "
            "95% intervals, at about 0.1 s of server time per melody."
        ).format(most=MAX_TABLE_SAMPLES),
    )
    c = st.columns(4)
    c[0].markdown(_("**greedy**: always the most likely token (no knobs)"))
    knobs = {
        "k": knob(c[1], "k", start.knobs.k),
        "k_temperature": knob(c[1], "k_temperature", start.knobs.k_temperature, key="k_t", tip="t"),
        "p": knob(c[2], "p", start.knobs.p),
        "p_temperature": knob(c[2], "p_temperature", start.knobs.p_temperature, key="p_t", tip="t"),
        "temperature": knob(c[3], "temperature", start.knobs.temperature, key="t", tip="t"),
    }
    with st.expander(_("More samplers (added to every column)")):
        e = st.columns(5)
        extras = {
            "min_p": knob(e[0], "min_p", start.knobs.min_p),
            "typical_p": knob(e[1], "typical_p", start.knobs.typical_p),
            "repetition_penalty": knob(e[2], "repetition_penalty", start.knobs.repetition_penalty, key="rep"),
            "no_repeat_ngram": e[3].number_input(
                _("{knob} (0 = off)").format(knob=_(KNOB_LABELS["no_repeat_ngram"])),
                value=start.knobs.no_repeat_ngram,
                step=1,
                key="ngram",
                persist_state=SESSION,
                help=_(KNOB_HELP["no_repeat_ngram"]),
            ),
        }
        constrained = e[4].checkbox(
            _("grammar mask (valid notes only)"),
            start.constrained,
            key="constrained",
            persist_state=SESSION,
            help=with_glossary(_(KNOB_HELP["constrained"]), "grammar-mask"),
        )
    go = st.form_submit_button(_("Generate"), type="primary", key="generate")


knobs = Knobs(**knobs, **extras)
try:
    seed, seed_problem = check_seed(parse_whole_number(seed_text, "seed")), None
except ValueError as exc:
    seed, seed_problem = seed_text, exc  # shown as typed until Generate says what is wrong
shown = SamplingSettings(
    name,
    str(info.path),
    primer_words,
    primer_id,
    length,
    min_length,
    seed,
    knobs,
    constrained,
    int(samples),
    cadence,
)
request = request_of(shown, primer_key)
if link is not None and request == link:  # a link opened: its melodies at once, as if Generate was pressed
    go = True
    link_opened()
if go:
    # A refusal says why and leaves the melodies already made on the page (marked as from other settings).
    problems = settings_problems(seed_problem, shown)
    read = (primer, "")
    if problems:  # every bad field at once, by the labels above
        st.error(
            _("Nothing generated: {problems}").format(
                problems=problems_text(SettingsError(problems), SAMPLING_LABELS)
            )
        )
    elif source == sources[2] and file is None:
        st.info(_("Choose a MIDI or MusicXML file for the primer first (or another primer source)."))
    elif source == sources[2] and (read := read_upload(file, ck.tokenizer, line)) is None:
        pass  # read_upload said what is wrong with the file
    else:
        generate_once(ck, ref, shown, *read, link=to_query(request) if request else None)
result = st.session_state.get("sampling")
if result is None:
    st.info(_("Choose the settings and press **Generate**."))
    st.stop()
draw_stale(result, shown)
draw_columns(result)
draw_link(result)
draw_share(result, current_student())
draw_below(result)
