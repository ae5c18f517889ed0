"""Tests of the pages (`app_pages/`, Streamlit AppTest) and their presentation helpers."""
