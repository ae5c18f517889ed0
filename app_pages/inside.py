"""Inside the model: what the LSTM does with a melody (surprise, gates and states, units, embedding)."""

import streamlit as st

from app_pages import inside_views as views
from app_pages.common import SESSION, checkpoint, mtime, usable_checkpoints
from app_pages.i18n import N_, translator
from app_pages.messages import describe
from app_pages.page_links import apply_link_settings, one_of
from app_pages.texts import INSIDE_HELP
from bachlstm.model.checkpoints import CheckpointError
from bachlstm.training.splits import inspection_order

_ = translator(__name__)

st.title(_("Inside the model"))
st.caption(_(INSIDE_HELP["intro"]))
usable, _broken = usable_checkpoints()
if not usable:
    st.info(_("No trained model yet: train one on the Training page."))
    st.stop()
names = [info.name for info in usable]
# A link (the lesson path) may choose the model and the tab (by its id: tab labels are translated).
# The model list's default is the session's value (`start`): a selectbox given a default index and a
# link's value makes Streamlit warn. A kept name of a model deleted since falls back to the default.
if st.session_state.get("inside_ckpt", names[0]) not in names:
    del st.session_state["inside_ckpt"]
default = "workshop" if "workshop" in names else names[0]  # small enough to show every unit
linked = apply_link_settings(
    {"inside_ckpt": one_of(names), "inside_tab": one_of(views.TAB_IDS)}, start={"inside_ckpt": default}
)
top = st.columns(3)
name = top[0].selectbox(_("Model"), names, key="inside_ckpt", persist_state=SESSION)
info = usable[names.index(name)]
path, stamp = str(info.path), mtime(info.path)
try:
    ck = checkpoint(path, stamp)
except CheckpointError as exc:
    st.error(_("Checkpoint **{name}** cannot be loaded: {error}").format(name=name, error=describe(exc)))
    st.stop()
melodies = views.held_out(path, stamp)
if melodies:  # sung melody lines of chorales no other model trained on first: the default compares fairly
    melodies = tuple(inspection_order(melodies, views.others_trained(usable, name)))
events, label = views.choose_melody(melodies, st.session_state.get("sampling"), top[1], top[2])
piece = label if melodies and label in {m.piece_id for m in melodies} else None
try:
    ins = views.inspection(path, stamp, events, label)
except ValueError as exc:
    st.error(_("The model cannot read this melody: {error}").format(error=describe(exc)))
    st.stop()

# Only the open tab is drawn (switching tabs reruns the page): drawing all four took seconds per change.
# Tabs have no persist_state: the open one is kept under a key of its own and reopened on return.
names_of_tabs = [
    _(t) for t in (N_("Surprise"), N_("Gates and states"), N_("What units track"), N_("Embedding"))
]
if "inside_tab" in linked:  # a link's tab id, as the tab's label
    st.session_state.inside_tab = names_of_tabs[views.TAB_IDS.index(st.session_state.inside_tab)]
elif "inside_tab" not in st.session_state:  # back on the page: the tab open when the student left
    st.session_state.inside_tab = views.kept_tab(names_of_tabs)
surprise, states, units, embedding = st.tabs(names_of_tabs, key="inside_tab", on_change="rerun")
views.keep_tab(names_of_tabs, (surprise, states, units, embedding))
if surprise.open:
    with surprise:
        st.markdown(_(INSIDE_HELP["surprise"]))
        views.draw_surprise(ins, name, views.second_model(usable, name, events, label, piece))
if states.open:
    with states:
        st.markdown(_(INSIDE_HELP["states"]))
        views.draw_states(ins)
if units.open:
    with units:
        st.markdown(_(INSIDE_HELP["units"]))
        pool = bool(melodies) and st.toggle(
            _("Pool all held-out melodies"),
            key="inside_pool",
            help=_(INSIDE_HELP["pool"]),
            persist_state=SESSION,
        )
        views.draw_units(ins, views.pooled(path, stamp, melodies) if pool else ins.units)
if embedding.open:
    with embedding:
        st.markdown(_(INSIDE_HELP["embedding"]))
        views.draw_embedding(ck, path, stamp)
