"""Home page in AppTest: renders, shows the corpus counts, lists checkpoints and broken ones."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import fresh_caches, new_app, open_app  # noqa: F401 (autouse fixture)


def run_app() -> AppTest:
    return open_app()


def test_home_renders_with_pipeline_links_and_counts():
    at = run_app()
    assert not at.exception
    assert at.title[0].value.startswith("bachlstm")
    assert len(at.get("graphviz_chart")) == 1
    assert [m.label for m in at.metric][:2] == ["Score files", "Pieces in 4/4 throughout"]
    assert at.metric[0].value == "413"
    # measured: 362 files are 4/4 in every measure of every part, 2 of them Humdrum copies of a MusicXML
    # chorale; the Corpus page then selects 359 sopranos from them (one piece has no soprano)
    assert at.metric[1].value == "360"
    assert len(at.get("page_link")) == 4  # Corpus, Training, Sampling, Inside the model
    models = at.dataframe[0].value
    assert {"bits per event", "pitch bits per note", "pitch top-1"} <= set(models.columns)
    assert any("pitch bits per note" in c.value for c in at.caption)
    literature = at.dataframe[1].value
    assert 1.911 in literature["pitch bits given duration"].tolist()
    assert "Pearce 2005, Table 9.8" in literature.source.tolist()


@pytest.mark.parametrize("lang, table", [("de", "Tabelle"), ("en", "Table")])
def test_the_literature_tables_sources_name_their_table_in_the_pages_language(lang, table):
    at = new_app(lang=lang)
    at.run()
    sources = at.dataframe[1].value.iloc[:, 0].tolist()  # "source", "Quelle"
    assert sources[:4] == ["Conklin & Witten 1995"] * 2 + [f"Pearce 2005, {table} 9.1"] * 2
    assert sources[4:6] == [f"Pearce 2005, {table} 9.8"] * 2


def test_broken_checkpoint_is_listed_with_its_error(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "broken.safetensors").write_bytes(b"this is not a checkpoint")
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(runs))
    at = run_app()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("broken" in e and "damaged or is not a bachlstm model" in e for e in errors), errors


def test_a_stopped_run_without_test_figures_shows_a_dash_and_says_why(tmp_path, monkeypatch):
    """Never the word "None" (the new-user trial): the table's empty cells show MISSING, explained."""
    from app_pages.texts import MISSING
    from bachlstm.model.checkpoints import load_checkpoint, read_meta, save_checkpoint

    runs = tmp_path / "runs"
    runs.mkdir()
    ck, meta = load_checkpoint("workshop"), read_meta("workshop")
    unscored = {k: v for k, v in meta["metrics"].items() if not k.startswith("test_")}
    stopped = {**meta, "metrics": unscored, "complete": True, "stopped": True, "epoch": 4}
    save_checkpoint(runs / "stopped-early.safetensors", ck.model, ck.tokenizer, stopped)
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(runs))
    at = run_app()
    assert not at.exception
    table = at.dataframe[0]
    row = table.value.set_index("name").loc["stopped-early"]
    assert row["test perplexity"] != row["test perplexity"]  # missing (NaN): drawn as the placeholder
    assert table.proto.placeholder == MISSING
    assert any(c.value.startswith(f"{MISSING} in the table: not measured") for c in at.caption)


def test_every_table_in_the_app_has_a_mark_for_missing_values():
    """Every st.dataframe call in the pages passes `placeholder=` (Streamlit's default is "None")."""
    import ast

    from tests.builders import ROOT as root

    calls = []
    for path in [root / "streamlit_app.py", *sorted((root / "app_pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            func = getattr(node, "func", None)
            table_call = getattr(func, "attr", None) in ("dataframe", "table")
            if isinstance(node, ast.Call) and (table_call or getattr(func, "id", None) == "show_table"):
                keywords = {k.arg for k in node.keywords}
                calls.append((f"{path.name}:{node.lineno}", "placeholder" in keywords))
    assert len(calls) >= 10, calls  # the scan finds the tables
    assert [where for where, ok in calls if not ok] == []


def test_the_models_figures_are_shown_with_sensible_precision():
    import json

    from app_pages.texts import FIGURE_FORMATS

    at = open_app()
    assert not at.exception, at.exception
    table = at.dataframe[0]
    config = json.loads(table.proto.columns)
    formats = {name: c.get("type_config", {}).get("format") for name, c in config.items()}
    assert formats["test perplexity"] == "%.2f" and formats["test top-1"] == "percent"
    assert set(FIGURE_FORMATS) <= set(table.value.columns)
