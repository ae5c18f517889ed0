"""Home: what the tool does, the pipeline as a picture, links to the pages, and what is available."""

import streamlit as st

from app_pages.common import corpus, show_problem, visible_checkpoints
from app_pages.i18n import number, translator
from app_pages.messages import describe
from app_pages.tables import show_table
from app_pages.texts import (
    MISSING,
    NOT_MEASURED,
    NOTE_FIGURES_HELP,
    checkpoint_table,
    figure_formats,
    literature_table,
    pipeline_dot,
    shown_headers,
)
from bachlstm.corpus.cache import CorpusCacheError
from bachlstm.corpus.selection import is_duplicate_file

_ = translator(__name__)

st.title(_("bachlstm: an LSTM writes Bach-like melodies"))
st.markdown(
    _(
        "Explore the Bach chorales that ship with music21, train a small LSTM on their melodies while you "
        "watch, and compare how **greedy**, **top-k**, **top-p** and **temperature** sampling change what "
        "the model writes. Every melody can be seen as sheet music, played and downloaded as MIDI."
    )
)
# Top to bottom at its own size: left to right and stretched to an 800 px laptop's column, text 4 px high.
st.graphviz_chart(pipeline_dot(), width="content")

# Two by two: four in a row cut the labels off at 1400 px (the new-user trial).
cols = [c for _row in range(2) for c in st.columns(2)]
cols[0].page_link(
    "app_pages/corpus.py", label=_("**Corpus**: the chorales in charts"), icon=":material/library_music:"
)
cols[1].page_link(
    "app_pages/training.py", label=_("**Training**: train a model live"), icon=":material/model_training:"
)
cols[2].page_link(
    "app_pages/sampling.py", label=_("**Sampling**: four methods side by side"), icon=":material/queue_music:"
)
cols[3].page_link(
    "app_pages/inside.py", label=_("**Inside the model**: what the LSTM learned"), icon=":material/neurology:"
)

st.subheader(_("What is available"))
try:
    c = corpus()
except (CorpusCacheError, OSError) as exc:
    st.error(_("The corpus could not be loaded: {error}").format(error=describe(exc)))
else:
    # as the Corpus page counts them: a Humdrum copy of a MusicXML chorale is the same piece
    four_four = sum(1 for p in c.pieces if p.time_signatures == ("4/4",) and not is_duplicate_file(p))
    m1, m2, m3 = st.columns(3)
    m1.metric(_("Score files"), number(c.n_score_files))
    m2.metric(
        _("Pieces in 4/4 throughout"),
        number(four_four),
        help=_(
            "Every measure of every part in 4/4; a Humdrum file that repeats a MusicXML chorale is not "
            "counted again (as on the Corpus page, which then takes one voice of each)."
        ),
    )
    m3.metric(_("Parts (voices and instruments)"), number(sum(p.n_parts for p in c.pieces)))
    if c.failed:
        st.warning(
            _("music21 could not read {n} files: {files}").format(n=len(c.failed), files=", ".join(c.failed))
        )

infos = visible_checkpoints()  # the shipped models, this student's runs, the runs shared with the class
if not infos:
    st.info(_("No trained model found yet: train one on the Training page."))
else:
    table = checkpoint_table(infos)
    formats = {name: st.column_config.NumberColumn(format=f) for name, f in figure_formats(table).items()}
    show_table(
        st, shown_headers(table), hide_index=True, width="stretch", placeholder=MISSING, column_config=formats
    )
    st.caption(_(NOTE_FIGURES_HELP))
    if table.drop(columns=["name", "kind", "status"]).isna().any(axis=None):
        st.caption(f"{MISSING} {_(NOT_MEASURED)}")
    for info in infos:
        show_problem(info)
    st.subheader(_("Pitch prediction against the literature"))
    show_table(
        st, shown_headers(literature_table(infos)), hide_index=True, width="stretch", placeholder=MISSING
    )
    st.caption(
        _(
            "Bits per note for the pitch of each note of a chorale melody, with the note's duration known "
            "(the condition of the published models; lower is better). A model trained here shows its "
            "figure once it has been measured at the end of its training; `python -m bachlstm evaluate "
            "--checkpoint NAME` measures any model."
        )
    )
    st.caption(
        _(
            "Chorale melodies repeat themselves: the default model adds a short-term model to its LSTM. "
            "Where the few notes just written came earlier in the same melody, what followed them then "
            "gets extra probability. The published systems work the same way (their best combine a "
            "long-term and a short-term model). The row 'the LSTM alone' shows what the network does by "
            "itself."
        )
    )
