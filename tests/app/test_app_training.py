"""Training page in AppTest: renders, refuses bad input with a message, trains a tiny run and stops one,
sweeps one field over two values."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.forms import TRAINING_FIELDS
from app_pages.texts import TRAINING_HELP
from bachlstm.model.checkpoints import read_meta
from bachlstm.training.presets import get_preset
from tests.app.helpers import (  # noqa: F401
    ROOT,
    fill,
    fresh_caches,
    leave_and_return,
    open_app,
    submit,
    training_page,
    wait_for,
    widget_value_warnings,
)


def test_training_page_renders_the_form_and_shipped_histories():
    at = training_page()
    assert not at.exception
    assert at.selectbox(key="train_preset").value == "workshop"
    assert at.number_input(key="train_embedding_dim").value == 3  # the original network's defaults
    assert at.text_input(key="train_lstm_sizes").value == "6, 12, 6"
    at.selectbox(key="train_preset").set_value("bach").run()
    bach = get_preset("bach").model
    assert at.text_input(key="train_lstm_sizes").value == ", ".join(map(str, bach.lstm_sizes))
    assert at.number_input(key="train_embedding_dim").value == bach.embedding_dim


def test_every_field_explains_itself_to_a_teacher():
    at = training_page()
    for name in TRAINING_FIELDS:
        field = widget(at, name)  # the text or number field the form draws for it
        assert field.help == TRAINING_HELP[name], name
    assert "never overwritten" in at.text_input(key="train_run_name").help


def test_a_new_session_is_offered_a_free_run_name():
    """Regression: every new session was offered "my-workshop-1" and refused once that run existed;
    each student is offered names of their own, never one already saved."""
    import os
    import shutil

    runs = Path(os.environ["BACHLSTM_RUNS_DIR"])
    shutil.copy(ROOT / "checkpoints" / "workshop.safetensors", runs / "tess-workshop-1.safetensors")
    at = training_page()
    assert at.text_input(key="train_run_name").value == "tess-workshop-2"
    saved = (runs / "tess-workshop-1.safetensors").read_bytes()
    fill(at, max_steps=1, max_melodies=24, epochs=1)
    submit(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "train_job" in at.session_state  # started under the offered name, nothing overwritten
    wait_for(at, lambda a: (runs / "tess-workshop-2.safetensors").exists(), timeout=60)
    assert (runs / "tess-workshop-1.safetensors").read_bytes() == saved


def test_the_started_run_is_said_right_under_start_with_a_link_to_its_progress():
    """At 800x600 the run's progress is a screen or more below Start: a line under the button says
    how the run stands (live) and links down to its heading."""
    at = training_page()
    fill(at, max_steps=1, max_melodies=24, epochs=1)
    submit(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    (form,) = at.main.form
    after_start = [e for e in form if getattr(e, "type", "") in ("caption", "markdown")]
    assert any(e.value.startswith("Training **") for e in after_start), [e.value for e in after_start]
    assert any(e.value.endswith("↓](#run-progress)") for e in after_start), [e.value for e in after_start]
    assert any(h.proto.anchor == "run-progress" for h in at.subheader)
    wait_for(at, lambda a: a.success or a.error)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"run_name": "../evil"}, "not allowed"),
        ({"run_name": "bach"}, "belongs to a shipped model"),
        ({"lstm_sizes": "six, twelve"}, "**LSTM layer sizes** must be a comma-separated list"),
        ({"dropouts": "0.2"}, "**Dropout per LSTM layer** needs one value per LSTM layer"),
        ({"epochs": 0}, "**Epochs** must be a whole number from 1 to 10,000, got 0"),
        ({"run_name": ""}, "empty"),
        ({"run_name": "x" * 200}, "not allowed"),
        ({"run_name": "my run"}, "not allowed"),
        ({"run_name": "naïve-ß"}, "not allowed"),
        ({"lr": "0"}, "**Learning rate** must be above 0 and at most 1"),
        ({"lr": "fast"}, "**Learning rate** must be a number, got 'fast'"),
        ({"embedding_dim": 10**7}, "**Embedding dimension** must be"),
        ({"lstm_sizes": "100000"}, "**LSTM layer sizes** must each be"),
        ({"batch_size": 10**9}, "**Batch size** must be"),
        ({"max_melodies": 1}, "**Use only the first N melodies** must be a whole number from 3"),
    ],
    ids=[
        "path-name",
        "reserved-name",
        "bad-sizes",
        "dropout-count",
        "zero-epochs",
        "empty-name",
        "long-name",
        "space-name",
        "unicode-name",
        "zero-lr",
        "words-lr",
        "huge-embedding",
        "huge-lstm",
        "huge-batch",
        "one-melody",
    ],
)
def test_bad_input_shows_an_error_and_starts_nothing(values, message):
    at = training_page()
    fill(at, **values)
    submit(at)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and message in errors[0], errors
    assert "train_job" not in at.session_state


@pytest.mark.slow
def test_tiny_run_reports_progress_finishes_and_is_listed(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path))
    at = training_page()
    fill(at, epochs=1, max_melodies=12, max_steps=3, run_name="tiny")
    submit(at)
    assert not at.exception and not at.error
    wait_for(at, lambda a: a.success or a.error)
    assert not at.error, [e.value for e in at.error]
    assert "saved as **tiny**" in at.success[0].value
    assert (tmp_path / "tiny.safetensors").is_file()
    assert len(at.get("vega_lite_chart")) >= 1  # the run's loss chart
    assert "tiny" in at.multiselect(key="compare").options
    assert "tiny" in at.multiselect(key="compare").value  # regression: a finished run was not overlaid
    assert at.text_input(key="train_run_name").value == "tiny-2"  # the next free name is offered
    at.text_input(key="train_run_name").set_value("tiny")
    submit(at)  # a saved run is never overwritten: the taken name moves on to the next free one
    assert not at.error and "**tiny** was taken in the meantime: your run is **tiny-2**." in at.info[0].value
    assert read_meta(tmp_path / "tiny.safetensors")["owner"] == "Tess"  # the owner is saved with the run
    wait_for(at, lambda a: a.success)


@pytest.mark.slow
def test_stop_ends_a_run_and_keeps_its_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path))
    at = training_page()
    fill(at, epochs=50, max_melodies=30, run_name="stopme")
    submit(at)
    # the sidebar (drawn before the page pressed Start) names the run in the very page run that started it
    assert any("Training **stopme**" in c.value for c in at.sidebar.caption), [
        c.value for c in at.sidebar.caption
    ]
    wait_for(at, lambda a: a.get("progress") and a.get("progress")[0].proto.value > 0)
    at.switch_page("app_pages/home.py").run()  # the run goes on while the user looks elsewhere
    assert any("Training **stopme**: running" in c.value for c in at.sidebar.caption)
    at.switch_page("app_pages/training.py").run()
    assert at.get("progress"), "still running when the user comes back"
    at.button(key="train_stop").click().run()
    wait_for(at, lambda a: a.warning or a.error)
    assert not at.error, [e.value for e in at.error]
    assert "stop requested" in at.warning[0].value or "stopped" in at.warning[0].value
    assert (tmp_path / "stopme.safetensors").is_file()


@pytest.mark.slow
def test_training_error_is_shown_and_the_page_keeps_working(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path))
    at = training_page()
    fill(at, epochs=1, max_melodies=3, run_name="too-small")  # 3 melodies cannot fill train/val/test
    submit(at)
    wait_for(at, lambda a: a.error)
    assert not at.exception
    # Refused while the cost is estimated, before the run is queued.
    assert at.error[0].value.startswith("Training not started: only 2 hymn-tune groups")
    assert not (tmp_path / "too-small.safetensors").exists()
    fill(at, max_melodies=12, max_steps=2, run_name="after-error")
    submit(at)
    wait_for(at, lambda a: a.success)
    assert (tmp_path / "after-error.safetensors").is_file()


@pytest.mark.slow
def test_second_session_waits_in_the_server_queue(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path))
    # two students' browser sessions, one server-wide manager
    first, second = training_page(), open_app("app_pages/training.py", student="Ben")
    fill(first, epochs=50, max_melodies=30, run_name="first")
    submit(first)
    fill(second, epochs=1, max_melodies=12, max_steps=2, run_name="second")
    submit(second)
    assert "number 1 in the queue" in second.info[0].value
    table = second.dataframe[0].value
    assert table.run.tolist() == ["(another student)", "second"]  # others' run names stay private
    assert table.state.tolist() == ["training", "waiting: number 1 in the queue"]  # words, never "None"
    first.button(key="train_stop").click().run()
    wait_for(second, lambda a: a.success)  # the queued run starts when the slot frees, and finishes
    wait_for(first, lambda a: a.warning)
    assert (tmp_path / "second.safetensors").is_file()


def sweep(at: AppTest, field: str, values: str) -> AppTest:
    at.selectbox(key="sweep_field").set_value(field)
    at.text_input(key="sweep_values").set_value(values)
    return at.button(key="sweep_start").click().run()


@pytest.mark.slow
def test_a_sweep_queues_one_ordinary_run_per_value_and_charts_them(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path))
    at = training_page()
    fill(at, epochs=2, max_melodies=12, max_steps=2)
    sweep(at, "embedding_dim", "2, 5")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["sweep"]["labels"] == ["2", "5"]
    names = ["tess-sweep-embedding_dim-2", "tess-sweep-embedding_dim-5"]  # the student's own prefix
    wait_for(
        at, lambda a: any(c.value.startswith("Best: Embedding dimension") for c in a.caption), timeout=180
    )
    assert not at.exception
    for name in names:  # ordinary saved runs, with the swept value and the form's other settings
        meta = read_meta(tmp_path / f"{name}.safetensors")
        assert meta["model_config"]["embedding_dim"] == int(name[-1])
        assert meta["model_config"]["lstm_sizes"] == [6, 12, 6]
    table = next(d.value for d in at.dataframe if "best_val_loss" in d.value.columns)
    assert table.run.tolist() == names and (table.status == "done").all()
    assert table.best_val_loss.notna().all()
    assert len(at.get("vega_lite_chart")) >= 2  # curves overlaid, best validation loss against the value
    assert set(names) <= set(at.multiselect(key="compare").options)


@pytest.mark.parametrize(
    ("field", "values", "message"),
    [
        ("embedding_dim", "8", "give 2 to 5 values"),
        ("lstm_sizes", "6, 12, 6; 32", "**Dropout per LSTM layer** needs one value per LSTM layer"),
        ("lr", "0.01, 5", "**Learning rate** must be above 0 and at most 1"),
    ],
    ids=["one-value", "layers-without-dropouts", "bad-value"],
)
def test_a_bad_sweep_queues_nothing(field, values, message):
    at = training_page()
    sweep(at, field, values)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Sweep not started") and message in errors[0], errors
    assert "sweep" not in at.session_state
    assert any("Server: 0 of 1 training slot busy, no run waiting." in c.value for c in at.caption)


def test_a_sweep_never_overwrites_a_saved_run():
    import os
    import shutil

    runs = Path(os.environ["BACHLSTM_RUNS_DIR"])
    shutil.copy(
        ROOT / "checkpoints" / "workshop.safetensors", runs / "tess-sweep-embedding_dim-5.safetensors"
    )
    at = training_page()
    sweep(at, "embedding_dim", "2, 5")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "'tess-sweep-embedding_dim-5' already exists" in errors[0], errors
    assert "sweep" not in at.session_state  # the free name 'tess-sweep-embedding_dim-2' was not queued either


def test_the_form_survives_a_page_switch():
    """A student fills the form, asks for its cost, looks at the Corpus page and comes back."""
    with widget_value_warnings() as warned:
        at = training_page()
        at.selectbox(key="train_preset").set_value("bach").run()
        fill(at, epochs=3, lstm_sizes="32, 16", dropouts="0.1, 0.2", seq_len=48, seed="11", max_steps=7)
        at.text_input(key="train_lr").set_value("0.0025")
        at.text_input(key="train_run_name").set_value("kept-name")
        at.selectbox(key="sweep_field").set_value("lr")
        at.text_input(key="sweep_values").set_value("0.001, 0.002")
        at.text_input(key="sweep_prefix").set_value("lr-sweep")
        at.button(key="train_estimate").click().run()  # a form's values count once it is submitted
        assert not at.exception and not at.error and "train_job" not in at.session_state
        shown = {name: widget(at, name).value for name in TRAINING_FIELDS}
        assert shown["epochs"] == 3 and shown["lstm_sizes"] == "32, 16" and shown["lr"] == "0.0025"

        at = leave_and_return(at, "app_pages/training.py", other="app_pages/corpus.py")
        assert not at.exception
        assert at.selectbox(key="train_preset").value == "bach"
        assert {name: widget(at, name).value for name in TRAINING_FIELDS} == shown
        assert at.text_input(key="train_run_name").value == "kept-name"
        assert at.selectbox(key="sweep_field").value == "lr"
        assert at.text_input(key="sweep_values").value == "0.001, 0.002"
        assert at.text_input(key="sweep_prefix").value == "lr-sweep"
        # a new preset still brings its own defaults
        at.selectbox(key="train_preset").set_value("workshop").run()
        assert at.text_input(key="train_lstm_sizes").value == "6, 12, 6"
    assert not warned


def widget(at: AppTest, name: str):
    """The Training form's widget of a TRAINING_FIELDS field."""
    kind = TRAINING_FIELDS[name][1]
    return (
        at.text_input(key=f"train_{name}")
        if kind in ("ints", "floats", "text_int", "float")
        else at.number_input(key=f"train_{name}")
    )


def test_compare_runs_overlays_one_tokenizers_runs_by_default():
    from bachlstm.model.checkpoints import list_checkpoints

    shipped = [i for i in list_checkpoints() if i.shipped and not i.error]
    event = [i.name for i in shipped if i.tokenizer == "event"]
    factored = [i.name for i in shipped if i.tokenizer == "factored"]
    at = training_page()
    assert at.radio(key="compare_tokenizer").value == "event"  # bach's, the first shipped model
    assert at.multiselect(key="compare").options == event
    assert at.multiselect(key="compare").value == event
    at.radio(key="compare_tokenizer").set_value("factored").run()
    assert at.multiselect(key="compare").value == factored == ["workshop"]
    at.radio(key="compare_tokenizer").set_value(at.radio(key="compare_tokenizer").options[-1]).run()
    assert set(at.multiselect(key="compare").options) == {i.name for i in shipped}
    assert not at.exception


def test_a_reload_shows_the_runs_own_settings_and_one_wait_in_every_place(tmp_path, monkeypatch):
    """The form is for the next run (a reload brings its defaults back): the line under Start says the
    followed run's own settings; a queued run's wait is one figure in its line, its box and the table,
    however far apart in time each is drawn (here 1 s between any two looks at the clock)."""
    import time
    import types

    from app_pages import common
    from app_pages.common import job_manager
    from bachlstm.classroom import waits
    from tests.app.helpers import new_app

    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(tmp_path))
    ticks = iter(range(1_000_000))
    start = time.time()
    monkeypatch.setattr(waits, "time", types.SimpleNamespace(time=lambda: start + next(ticks)))
    # the page's snapshot clock within one WAITS_EVERY_S period (a real one could cross a boundary)
    monkeypatch.setattr(common, "time", types.SimpleNamespace(time=lambda: start), raising=False)
    first = training_page()
    fill(first, epochs=200, run_name="first")  # long: the queued run's wait is minutes
    submit(first)
    second = open_app("app_pages/training.py", student="Ben")
    fill(second, epochs=1, max_melodies=12, max_steps=2, run_name="second")
    submit(second)
    try:
        tess = new_app(run="first")  # Tess reloads her tab while her run trains
        tess.run()
        tess.switch_page("app_pages/training.py").run()
        assert not tess.exception
        assert tess.number_input(key="train_epochs").value == get_preset("workshop").train.epochs
        said = [c.value for c in tess.caption if c.value.startswith("**first** trains with its own settings")]
        assert said == [
            "**first** trains with its own settings: Epochs **200**; about "
            + said[0].split("about ")[1].split(" of training")[0]
            + " of training in all on a laptop CPU. The form above and its estimate are for your next run."
        ]
        ben = new_app("Ben", run="second")  # Ben reloads while his run waits
        ben.run()
        ben.switch_page("app_pages/training.py").run()
        table = ben.dataframe[0].value
        wait = table.wait[table.run == "second"].item()
        line = [c.value for c in ben.caption if c.value.startswith("Training **second**")]
        # under Start and in the sidebar
        assert line == 2 * [f"Training **second**: number 1 in the queue, about {wait} to wait"]
        assert any(f"about {wait} to wait" in i.value for i in ben.info)  # the queued run's box
    finally:
        for job in job_manager().jobs():
            job_manager().stop(job.id)
