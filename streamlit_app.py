"""bachlstm dashboard entry point: `streamlit run streamlit_app.py` (navigation over pages/)."""

import streamlit as st

st.set_page_config(page_title="bachlstm: LSTM Bach chorales", page_icon=":musical_score:", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/corpus.py", title="Corpus", icon=":material/library_music:"),
    st.Page("pages/training.py", title="Training", icon=":material/model_training:"),
    st.Page("pages/sampling.py", title="Sampling", icon=":material/queue_music:"),
]
st.navigation(pages).run()
