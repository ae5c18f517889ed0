"""Bach or model?: two excerpts of the same length, one a held-out Bach opening, one a model's; which
is Bach? Then the answer, both scores, and the class's results.

A round (question, answer, next round) is a fragment: an answer reruns the round only, so the browser
redraws two players or two scores, not the page; the class's table and chart are drawn when asked."""

import streamlit as st

from app_pages.common import teacher_signed_in, usable_checkpoints
from app_pages.i18n import translator
from app_pages.identity import current_student
from app_pages.listening_views import RESULTS_EVERY_S, class_choice, draw_round, draw_teacher, live_results
from app_pages.messages import method_words
from bachlstm.classroom.records import ListeningSettings
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
alone = st.toggle(_("Play on my own (choose the model, method and length yourself)"), key="listen_alone")
own = None
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
    own = ListeningSettings((model,), (method,), bars, 0.0)
draw_round(student, infos, own)

st.subheader(_("The class's results"))
shown = _("Show the class's table and chart (updated every {seconds} s)").format(seconds=RESULTS_EVERY_S)
if st.toggle(shown, key="listen_results"):
    live_results()
if teacher_signed_in():
    with st.expander(_("Teacher: the class's models, methods and length; reset the results")):
        draw_teacher(available, class_choice(available))
