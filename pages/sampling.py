"""Sampling page (being written)."""

import streamlit as st

st.title("Sampling")
st.info("This page is being built.")
