"""Inside the model: what the LSTM does with a melody (surprise, gates and states, units, embedding)."""

import streamlit as st

from app_pages.common import checkpoint, mtime, reference, usable_checkpoints
from app_pages.inside_views import draw_embedding, draw_states, draw_surprise, draw_units, inspection, pooled
from app_pages.texts import INSIDE_HELP, melody_label
from bachlstm.checkpoints import CheckpointError

st.title("Inside the model")
st.caption(INSIDE_HELP["intro"])
usable, _ = usable_checkpoints()
if not usable:
    st.info("No trained model yet: train one on the Training page.")
    st.stop()
names = [info.name for info in usable]
c = st.columns(3)
name = c[0].selectbox(
    "Model", names, index=names.index("workshop") if "workshop" in names else 0, key="inside_ckpt"
)
info = usable[names.index(name)]
try:
    ck = checkpoint(str(info.path), mtime(info.path))
except CheckpointError as exc:
    st.error(f"Checkpoint **{name}** cannot be loaded: {exc}")
    st.stop()
ref = reference(str(info.path), mtime(info.path))
generated = st.session_state.get("sampling")
sources = (["a held-out chorale"] if ref else []) + (["a melody from the Sampling page"] if generated else [])
if not sources:
    st.info("This model records no held-out melodies: generate one on the Sampling page to look at it here.")
    st.stop()
source = c[1].radio("Melody", sources, key="inside_source", help=INSIDE_HELP["source"])
if source == "a held-out chorale":
    i = c[2].selectbox(
        "Chorale",
        range(len(ref.melodies)),
        key="inside_piece",
        format_func=lambda k: melody_label(ref.melodies[k]),
    )
    events, label = tuple(ref.melodies[i].events), ref.melodies[i].piece_id
else:
    gens = generated["gens"]
    j = c[2].selectbox(
        "Generated melody", range(len(gens)), key="inside_gen", format_func=lambda k: gens[k].label
    )
    events, label = tuple(gens[j].full_events), f"{gens[j].label} ({generated['model']})"
if not events:
    st.info("That melody has no notes: choose another.")
    st.stop()
try:
    ins = inspection(str(info.path), mtime(info.path), events, label)
except ValueError as exc:
    st.error(f"The model cannot read this melody: {exc}")
    st.stop()

surprise, states, units, embedding = st.tabs(
    ["Surprise", "Gates and states", "What units track", "Embedding"]
)
with surprise:
    st.markdown(INSIDE_HELP["surprise"])
    others = ["none", *(n for n in names if n != name)]
    other_name = st.selectbox("Compare with", others, key="inside_other")
    other = None
    if other_name != "none":
        other_info = usable[names.index(other_name)]
        try:
            other = (other_name, inspection(str(other_info.path), mtime(other_info.path), events, label))
        except (ValueError, CheckpointError) as exc:
            st.error(f"{other_name} cannot read this melody: {exc}")
    draw_surprise(ins, name, other)
with states:
    st.markdown(INSIDE_HELP["states"])
    draw_states(ins)
with units:
    st.markdown(INSIDE_HELP["units"])
    pool = bool(ref) and st.toggle("Pool all held-out melodies", key="inside_pool", help=INSIDE_HELP["pool"])
    table = pooled(str(info.path), mtime(info.path), tuple(ref.melodies)) if pool else ins.units
    draw_units(ins, table)
with embedding:
    st.markdown(INSIDE_HELP["embedding"])
    draw_embedding(ck, str(info.path), mtime(info.path))
