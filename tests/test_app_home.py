"""Home page in AppTest: renders, shows the corpus counts, lists checkpoints and broken ones."""

from app_helpers import fresh_caches, open_app  # noqa: F401 (autouse fixture)
from streamlit.testing.v1 import AppTest


def run_app() -> AppTest:
    return open_app()


def test_home_renders_with_pipeline_links_and_counts():
    at = run_app()
    assert not at.exception
    assert at.title[0].value.startswith("bachlstm")
    assert len(at.get("graphviz_chart")) == 1
    assert [m.label for m in at.metric][:2] == ["Score files", "Pieces in 4/4 throughout"]
    assert at.metric[0].value == "413"
    assert at.metric[1].value == "362"  # measured: 4/4 in every measure of every part
    assert len(at.get("page_link")) == 4  # Corpus, Training, Sampling, Inside the model
    models = at.dataframe[0].value
    assert {"bits per event", "pitch bits per note", "pitch top-1"} <= set(models.columns)
    assert any("pitch bits per note" in c.value for c in at.caption)


def test_broken_checkpoint_is_listed_with_its_error(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "broken.safetensors").write_bytes(b"this is not a checkpoint")
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(runs))
    at = run_app()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("broken" in e and "corrupt" in e for e in errors), errors
