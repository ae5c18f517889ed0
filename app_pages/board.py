"""The class board: melodies students shared from Sampling, newest first; filter, listen, download,
open their links; a projector view shows one melody large."""

import streamlit as st

from app_pages.board_views import card, projector
from app_pages.common import class_records, records_problem_text, teacher_signed_in
from app_pages.i18n import translator
from app_pages.identity import current_student
from app_pages.messages import method_words
from bachlstm.classroom.records import RecordsError
from bachlstm.generation.sampling import METHODS

SHOWN = 30  # cards drawn at once, newest first (a class shares a few each)


_ = translator(__name__)


st.title(_("Class board"))
student, teacher = current_student(), teacher_signed_in()
if problem := st.session_state.pop("board_problem", None):
    st.warning(problem)
try:
    everything = class_records().board_items()
except RecordsError as exc:
    st.warning(records_problem_text(exc))
    st.stop()
if not everything:
    st.info(_("Nothing shared yet: on the Sampling page, press **Share with the class** under the melodies."))
    st.stop()
every = _("all")
c = st.columns([2, 2, 2])
models = sorted({i.model for i in everything})
model = c[0].selectbox(_("Model"), [every, *models], key="board_model")
method = c[1].selectbox(
    _("Method"),
    [every, *METHODS],
    format_func={m: m if m == every else method_words(m) for m in [every, *METHODS]}.__getitem__,
    key="board_method",
)
view = c[2].segmented_control(
    _("View"), [_("Board"), _("Projector")], default=_("Board"), key="board_view", required=True
)
items = [
    i for i in everything if model in (every, i.model) and method in (every, i.method)
]  # fmt: skip
if not items:
    st.info(_("No shared melody of this model and method."))
    st.stop()
if view == _("Projector"):
    projector(items)
    st.stop()
st.caption(_("{n} shared melodies, newest first.").format(n=len(items)))
for row in range(0, min(len(items), SHOWN), 2):
    for slot, item in zip(st.columns(2), items[row : row + 2]):
        with slot:
            card(item, student, teacher)
if len(items) > SHOWN:
    st.caption(
        _("The {n} older ones: choose a model or method above to see them.").format(n=len(items) - SHOWN)
    )
