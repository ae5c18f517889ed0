"""Home page in AppTest: renders, shows the corpus counts, lists checkpoints and broken ones."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def run_app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    return at.run()


def test_home_renders_with_pipeline_links_and_counts():
    at = run_app()
    assert not at.exception
    assert at.title[0].value.startswith("bachlstm")
    assert len(at.get("graphviz_chart")) == 1
    assert [m.label for m in at.metric][:2] == ["Score files", "Pieces in 4/4 throughout"]
    assert at.metric[0].value == "413"
    assert at.metric[1].value == "362"  # measured: 4/4 in every measure of every part
    assert len(at.get("page_link")) == 3


def test_broken_checkpoint_is_listed_with_its_error(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "broken.safetensors").write_bytes(b"this is not a checkpoint")
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(runs))
    at = run_app()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("broken" in e and "corrupt" in e for e in errors), errors
