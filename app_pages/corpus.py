"""Corpus: filter the Bach chorales, see what the filters keep and why, and browse single pieces."""

import streamlit as st

from app_pages import charts
from app_pages.common import SESSION, corpus, corpus_overview, melody_media, selection, tune_groups
from app_pages.forms import problems_text
from app_pages.page_links import apply_link_settings, one_of, some_of, whole_number
from app_pages.texts import MISSING, TUNE_GROUPS_HELP, exclusion_summary, melody_label
from bachlstm.corpus.selection import VOICES

st.title("Corpus")
c = corpus()
signatures = sorted({ts for p in c.pieces for ts in p.time_signatures})
apply_link_settings(  # a link (the lesson path) may choose the filters
    {
        "corpus_ts": some_of(signatures),
        "corpus_voice": one_of(VOICES),
        "corpus_min": whole_number,
        "corpus_max": whole_number,
        "corpus_tokenizer": one_of(("event", "factored")),
    }
)
with st.form("corpus_form"):
    f = st.columns([3, 2, 2, 2, 2])
    ts = f[0].multiselect(
        "Time signatures (none = any)",
        signatures,
        default=["4/4"],
        key="corpus_ts",
        persist_state=SESSION,
        help="A piece is kept only when every measure of every part is in a chosen time signature.",
    )
    voice = f[1].selectbox(
        "Voice",
        VOICES,
        index=VOICES.index("soprano"),
        key="corpus_voice",
        persist_state=SESSION,
        help="Which part becomes the melody: one choir voice, the first part of each score, or all parts "
        "(each part its own melody).",
    )
    lengths = "Melodies with fewer (min) or more (max) notes and rests than this are left out."
    # No bounds in the widgets: a number out of a widget's range turns red and the form silently keeps
    # the old filters; the selection's own checks say what is wrong instead (below the form).
    lo = f[2].number_input(
        "Min notes+rests (0 = none)", value=0, step=1, key="corpus_min", persist_state=SESSION, help=lengths
    )
    hi = f[3].number_input(
        "Max notes+rests (0 = none)", value=0, step=1, key="corpus_max", persist_state=SESSION, help=lengths
    )
    tokenizer = f[4].selectbox(
        "Tokenizer",
        ("event", "factored"),
        key="corpus_tokenizer",
        persist_state=SESSION,
        help="event: one token per note or rest (a big vocabulary). factored: each note split into "
        "several small tokens such as pitch and duration (a small vocabulary, longer sequences).",
    )
    st.form_submit_button("Apply filters")
filters = (tuple(ts), voice, int(lo) or None, int(hi) or None)
try:
    o = corpus_overview(*filters, tokenizer)
except ValueError as exc:
    labels = {"min_events": "Min notes+rests", "max_events": "Max notes+rests", "voice": "Voice"}
    st.error(f"These filters cannot be used: {problems_text(exc, labels)}")
    st.stop()

m = st.columns(4)
m[0].metric("Melodies selected", o.n_melodies)
m[1].metric("From pieces", o.n_pieces)
m[2].metric("Left out", o.n_excluded)
m[3].metric(f"Tokens ({tokenizer})", f"{o.n_tokens:,}")
st.dataframe(exclusion_summary(o.summary), hide_index=True, width="stretch", placeholder=MISSING)
with st.expander(f"Every exclusion ({o.n_excluded})"):
    st.dataframe(o.excluded, hide_index=True, width="stretch", placeholder=MISSING)
if not o.n_melodies:
    st.warning("No melody passes these filters: widen them to see the charts.")
    st.stop()

pictures = [
    ("Time signatures (every measure of every part; the chosen ones blue)",
     charts.time_signature_chart(o.time_signatures, ts)),
    ("Melody lengths, with your cut-offs", charts.length_chart(o.lengths, filters[2], filters[3])),
    ("Keys and modes", charts.key_chart(o.keys)),
    ("Ambitus per voice", charts.ambitus_chart(o.melodies)),
    ("Pitch classes (by duration)",
     charts.bar_chart(o.pitch_classes, "name", "share", sort=None, x_title="pitch class")),
    ("Durations", charts.bar_chart(o.durations, "duration", "count", sort=list(o.durations.duration))),
    ("Token frequency by rank (log-log)", charts.zipf_chart(o.tokens)),
    ("Vocabulary coverage", charts.coverage_chart(o.coverage)),
    ("Training windows vs sequence length", charts.windows_chart(o.windows)),
]  # fmt: skip
left, right = st.columns(2)
for i, (title, chart) in enumerate(pictures):  # titles as page text: they wrap in a narrow column
    with (left, right)[i % 2]:
        st.markdown(f"**{title}**")
        st.altair_chart(chart, width="stretch")
with right:
    st.markdown(f"**Embedding dimension** for a vocabulary of {o.vocab_size} {tokenizer} tokens")
    embedding_sizes = o.embedding[o.embedding.tokenizer == tokenizer]
    st.dataframe(embedding_sizes, hide_index=True, width="stretch", placeholder=MISSING)
    eq = o.equidistant
    st.caption(
        f"The original's argument, recomputed on this selection: the largest set of tokens with one exact "
        f"co-occurrence similarity has {eq['max_clique']} tokens, so at least {eq['dimension']} dimensions "
        "(a lower bound, not the best size)."
    )

st.subheader("Hymn tunes set more than once")
groups = tune_groups(*filters)
st.caption(TUNE_GROUPS_HELP.format(n=len(groups)))
st.dataframe(
    groups,
    hide_index=True,
    width="stretch",
    column_config={
        "closest": st.column_config.NumberColumn(format="%.2f", help="highest melodic similarity")
    },
    placeholder=MISSING,
)

st.subheader("Piece browser")
melodies = selection(*filters).melodies
by_label = {melody_label(m): m for m in melodies}
# The labels themselves are the options, not positions: with a position, other filters put another
# piece at the same place and the browser went on showing the label it had drawn for the old one.
mel = by_label[st.selectbox("Chorale", list(by_label), key="piece", persist_state=SESSION)]
try:
    media = melody_media(mel.events, mel.key_sharps, mel.meta.get("pickup_quarters"), melody_label(mel))
except (ValueError, RuntimeError) as exc:  # a piece the engraver cannot read must not break the page
    st.error(f"{mel.piece_id} cannot be shown: {exc}")
    st.stop()
st.image(media["svg"], width="stretch")
if media["audio"] is not None:
    st.audio(media["audio"], format="audio/ogg")
st.download_button(
    "Download MIDI",
    media["midi"],
    f"{mel.piece_id}-{mel.voice}.mid",
    "audio/midi",
    on_click="ignore",
    key="piece_midi",
)
