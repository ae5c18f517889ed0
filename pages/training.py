"""Training page (being written)."""

import streamlit as st

st.title("Training")
st.info("This page is being built.")
