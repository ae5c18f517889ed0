"""Bach or model?: two excerpts of the same length, one a held-out Bach opening, one a model's; which
is Bach? Then the answer, both scores, and the class's results."""

import streamlit as st

from app_pages.common import class_records, records_problem_text, teacher_signed_in, usable_checkpoints
from app_pages.i18n import translator
from app_pages.identity import current_student
from app_pages.listening_views import (
    PROBLEM,
    REVEALED,
    class_choice,
    draw_answer,
    draw_question,
    draw_results,
    draw_teacher,
    playable_round,
    round_excerpts,
)
from app_pages.messages import method_words
from bachlstm.classroom.records import ListeningSettings, RecordsError
from bachlstm.generation.sampling import METHODS
from bachlstm.reports.excerpts import BARS, DEFAULT_BARS

_ = translator(__name__)


st.title(_("Bach or model?"))
usable, _broken = usable_checkpoints()
infos = {info.name: info for info in usable if info.status == "complete"}
if not infos:
    st.info(_("No trained model yet: train one on the Training page."))
    st.stop()
student = current_student()
available = list(infos)
choice = class_choice(available)
alone = st.toggle(_("Play on my own (choose the model, method and length yourself)"), key="listen_alone")
if alone:
    c = st.columns(3)
    model = c[0].selectbox(_("Model"), available, key="alone_model")
    method = c[1].selectbox(
        _("Method"),
        METHODS,
        index=METHODS.index("top-p"),
        format_func={m: method_words(m) for m in METHODS}.__getitem__,
        key="alone_method",
    )
    bars = c[2].selectbox(_("Excerpt length (bars)"), BARS, index=BARS.index(DEFAULT_BARS), key="alone_bars")
    choice = ListeningSettings((model,), (method,), bars, 0.0)
else:
    st.caption(
        _(
            "The class's test: models {models}; methods {methods}; {bars} bars. Your teacher chooses these."
        ).format(
            models=", ".join(choice.models),
            methods=", ".join(map(method_words, choice.methods)),
            bars=choice.bars,
        )
    )

if problem := st.session_state.pop(PROBLEM, None):
    st.error(problem)
revealed = st.session_state.get(REVEALED)
shown = None
if revealed:
    try:
        shown = next((r for r in class_records().answered_rounds(student) if r.id == revealed), None)
    except RecordsError as exc:
        st.warning(records_problem_text(exc))
if shown is not None and shown.model in infos:
    excerpts = round_excerpts(shown, infos[shown.model])
    if excerpts is not None:
        draw_answer(shown, excerpts)
    st.button(
        _("Next round"), key="next_round", type="primary", on_click=st.session_state.pop, args=(REVEALED,)
    )
else:
    st.session_state.pop(REVEALED, None)
    if (playable := playable_round(student, choice, infos)) is not None:
        draw_question(*playable)

st.subheader(_("The class's results"))
draw_results(student)
if teacher_signed_in():
    with st.expander(_("Teacher: the class's models, methods and length; reset the results")):
        draw_teacher(available, choice)
