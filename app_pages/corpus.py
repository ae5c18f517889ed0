"""Corpus: filter the Bach chorales, see what the filters keep and why, and browse single pieces."""

import streamlit as st

from app_pages import charts
from app_pages.common import SESSION, corpus, corpus_overview, melody_media, selection, tune_groups
from app_pages.forms import problems_text
from app_pages.i18n import current_language, number, translator
from app_pages.messages import describe
from app_pages.page_links import apply_link_settings, one_of, some_of, whole_number
from app_pages.tables import show_table
from app_pages.terms import glossary_link
from app_pages.texts import (
    MISSING,
    TUNE_GROUPS_HELP,
    embedding_table,
    excluded_table,
    exclusion_summary,
    melody_label,
    shown_headers,
    voice_words,
)
from bachlstm.corpus.selection import VOICES
from bachlstm.music.names import duration_name, key_label, pitch_name
from bachlstm.settings.problems import code_of, problems_of

_ = translator(__name__)

st.title(_("Corpus"))
c = corpus()
signatures = sorted({ts for p in c.pieces for ts in p.time_signatures})
apply_link_settings(  # a link (the lesson path) may choose the filters
    {
        "corpus_ts": some_of(signatures),
        "corpus_voice": one_of(VOICES),
        "corpus_min": whole_number,
        "corpus_max": whole_number,
        "corpus_tokenizer": one_of(("event", "factored")),
    },
    start={"corpus_ts": ["4/4"], "corpus_voice": "soprano", "corpus_min": 0, "corpus_max": 0},
)
# The widgets' starting values are `start` above (in 4/4, the sopranos, no length limits).
with st.form("corpus_form"):
    f = st.columns([3, 2, 2, 2, 2])
    ts = f[0].multiselect(
        _("Time signatures (none = any)"),
        signatures,
        key="corpus_ts",
        persist_state=SESSION,
        help=_("A piece is kept only when every measure of every part is in a chosen time signature."),
    )
    voice = f[1].selectbox(
        _("Voice"),
        VOICES,
        format_func={v: voice_words(v) for v in VOICES}.__getitem__,  # made in the run: AppTest formats later
        key="corpus_voice",
        persist_state=SESSION,
        help=_(
            "Which part becomes the melody: one choir voice, the first part of each score, or all parts "
            "(each part its own melody)."
        ),
    )
    lengths = _("Melodies with fewer (min) or more (max) notes and rests than this are left out.")
    # No bounds in the widgets: a number out of a widget's range turns red and the form silently keeps
    # the old filters; the selection's own checks say what is wrong instead (below the form).
    lo = f[2].number_input(
        _("Min notes+rests (0 = none)"),
        step=1,
        key="corpus_min",
        persist_state=SESSION,
        help=lengths,
    )
    hi = f[3].number_input(
        _("Max notes+rests (0 = none)"),
        step=1,
        key="corpus_max",
        persist_state=SESSION,
        help=lengths,
    )
    tokenizer = f[4].selectbox(
        _("Tokenizer"),
        ("event", "factored"),
        key="corpus_tokenizer",
        persist_state=SESSION,
        help=_(
            "event: one token per note or rest (a big vocabulary). factored: each note split into "
            "several small tokens such as pitch and duration (a small vocabulary, longer sequences)."
        ),
    )
    st.form_submit_button(_("Apply filters"))
filters = (tuple(ts), voice, int(lo) or None, int(hi) or None)
try:
    o = corpus_overview(*filters, tokenizer)
except ValueError as exc:
    labels = {"min_events": _("Min notes+rests"), "max_events": _("Max notes+rests"), "voice": _("Voice")}
    st.error(_("These filters cannot be used: {problems}").format(problems=problems_text(exc, labels)))
    st.stop()

m = st.columns(4)
m[0].metric(_("Melodies selected"), number(o.n_melodies))
m[1].metric(_("From pieces"), number(o.n_pieces))
m[2].metric(_("Left out"), number(o.n_excluded))
m[3].metric(
    _("Tokens ({tokenizer})").format(tokenizer=tokenizer), number(o.n_tokens), help=glossary_link("token")
)
show_table(st, exclusion_summary(o.summary), hide_index=True, width="stretch", placeholder=MISSING)
with st.expander(_("Every exclusion ({n})").format(n=number(o.n_excluded))):
    show_table(st, excluded_table(o.excluded), hide_index=True, width="stretch", placeholder=MISSING)
if not o.n_melodies:
    st.warning(_("No melody passes these filters: widen them to see the charts."))
    st.stop()

lang = current_language()  # pitch names in the reader's convention (B and H in German)
durations = o.durations.assign(duration=[duration_name(q, lang) for q in o.durations.quarter_length])
pictures = [
    (_("Time signatures (every measure of every part; the chosen ones blue)"),
     charts.time_signature_chart(o.time_signatures, ts)),
    (_("Melody lengths, with your cut-offs"), charts.length_chart(o.lengths, filters[2], filters[3])),
    (_("Keys and modes"), charts.key_chart(o.keys)),
    (_("Ambitus per voice"), charts.ambitus_chart(o.melodies)),
    (_("Pitch classes (by duration)"),
     charts.bar_chart(o.pitch_classes.assign(name=[pitch_name(n, lang) for n in o.pitch_classes.name]),
                      "name", "share", x_title=_("pitch class"), y_title=_("share"))),
    (_("Durations"), charts.bar_chart(durations, "duration", "count", sort=list(durations.duration),
                                      x_title=_("note value"), y_title=_("count"))),
    (_("Token frequency by rank (log-log)"), charts.zipf_chart(o.tokens)),
    (_("Vocabulary coverage"), charts.coverage_chart(o.coverage)),
    (_("Training windows vs sequence length"), charts.windows_chart(o.windows)),
]  # fmt: skip
left, right = st.columns(2)
# The glossary entry a chart's title links to (by the chart's place in `pictures`).
PICTURE_TERMS = {2: "tonality", 3: "ambitus", 6: "token", 7: "vocabulary"}
for i, (title, chart) in enumerate(pictures):  # titles as page text: they wrap in a narrow column
    with (left, right)[i % 2]:
        term = PICTURE_TERMS.get(i)
        st.markdown(f"**{title}**", help=glossary_link(term) if term else None)
        st.altair_chart(charts.localized(chart), width="stretch")
with right:
    st.markdown(
        _("**Embedding dimension** for a vocabulary of {n} {tokenizer} tokens").format(
            n=o.vocab_size, tokenizer=tokenizer
        )
    )
    embedding_sizes = o.embedding[o.embedding.tokenizer == tokenizer]
    show_table(st, embedding_table(embedding_sizes), hide_index=True, width="stretch", placeholder=MISSING)
    eq = o.equidistant
    st.caption(
        _(
            "The original's argument, recomputed on this selection: the largest set of tokens with one "
            "exact co-occurrence similarity has {clique} tokens, so at least {dimension} dimensions (a lower "
            "bound, not the best size)."
        ).format(clique=eq["max_clique"], dimension=eq["dimension"])
    )

st.subheader(_("Hymn tunes set more than once"))
groups = tune_groups(*filters)
st.caption(_(TUNE_GROUPS_HELP).format(n=len(groups)))
show_table(
    st,
    shown_headers(groups),
    hide_index=True,
    width="stretch",
    column_config={
        _("closest"): st.column_config.NumberColumn(format="%.2f", help=_("highest melodic similarity"))
    },
    placeholder=MISSING,
)

st.subheader(_("Piece browser"))
melodies = selection(*filters).melodies
by_label = {melody_label(m): m for m in melodies}
# The labels themselves are the options, not positions: with a position, other filters put another
# piece at the same place and the browser went on showing the label it had drawn for the old one.
mel = by_label[st.selectbox(_("Chorale"), list(by_label), key="piece", persist_state=SESSION)]
try:
    media = melody_media(mel.events, mel.key_sharps, mel.meta.get("pickup_quarters"), melody_label(mel))
except (ValueError, RuntimeError) as exc:  # a piece the engraver cannot read must not break the page
    why = describe(exc) if problems_of(exc) or code_of(exc) else _("the sheet music program cannot read it")
    st.error(_("{piece} cannot be shown: {error}").format(piece=mel.piece_id, error=why))
    st.stop()
st.image(media["svg"], width="stretch")
key = (mel.key_sharps, mel.mode)
st.caption(f"{melody_label(mel)} · {key_label(key, current_language())}")  # Es-Dur / E♭ major
file_key = key_label(key, current_language(), ascii=True).replace(" ", "-")  # Es-Dur, Eb-major
if media["audio"] is not None:
    st.audio(media["audio"], format="audio/ogg")
st.download_button(
    _("Download MIDI"),
    media["midi"],
    f"{mel.piece_id}-{mel.voice}-{file_key}.mid",
    "audio/midi",
    on_click="ignore",
    key="piece_midi",
)
