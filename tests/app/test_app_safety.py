"""Pages in AppTest: the cost before Start, numbers out of range get a message, honest run states."""

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bachlstm.model.checkpoints import load_checkpoint, read_meta, save_checkpoint
from tests.app.helpers import ROOT, fresh_caches, new_app, open_app, training_page  # noqa: F401 (autouse fixture)

SHIPPED = ROOT / "checkpoints"


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("BACHLSTM_RUNS_DIR", str(folder))
    return folder


def start(at: AppTest, **values) -> list[str]:
    for name, value in values.items():
        kind = "text_input" if isinstance(value, str) else "number_input"
        getattr(at, kind)(key=f"train_{name}").set_value(value)
    at.button(key="train_start").click().run()
    assert not at.exception
    return [e.value for e in at.error]


def test_the_cost_is_shown_before_start(runs):
    at = training_page()
    assert not at.exception
    captions = [c.value for c in at.caption if c.value.startswith("Estimate:")]
    assert captions and "23,864 parameters" in captions[0] and "per epoch" in captions[0]


@pytest.mark.parametrize(
    ("values", "label"),
    [
        ({"seq_len": 10**6}, "Sequence length"),
        (
            {"lstm_sizes": ", ".join(["4096"] * 8), "dropouts": ", ".join(["0"] * 8), "hidden_linear": 4096},
            "LSTM layer sizes",
        ),
    ],
    ids=["sequence-1e6", "eight-wide-layers"],
)
def test_absurd_settings_are_refused_before_start_with_the_largest_value_that_fits(runs, values, label):
    errors = start(training_page(), run_name="absurd", **values)
    assert len(errors) == 1 and f"Lower **{label}** to at most" in errors[0], errors
    assert "train_job" not in training_page().session_state  # nothing queued
    assert not list(runs.glob("*.safetensors*"))  # no run saved (the class records note the student)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lr": "1e9"}, "**Learning rate** must be above 0 and at most 1"),
        ({"epochs": -3}, "**Epochs** must be a whole number"),
        ({"seed": str(2**63)}, "**Seed** must be a whole number from 0 to 4,294,967,295"),
        ({"seed": "-1"}, "**Seed** must be a whole number from 0"),
        ({"seed": "one"}, "**Seed** must be a whole number, got 'one'"),
    ],
    ids=["lr-1e9", "epochs-minus-3", "seed-2**63", "seed-minus-1", "seed-word"],
)
def test_numbers_out_of_range_get_a_message(runs, values, message):
    errors = start(training_page(), run_name="x", **values)
    assert len(errors) == 1 and message in errors[0], errors


def test_every_bad_field_is_listed_at_once_by_its_label(runs):
    """The new-user trial: two bad fields gave one message naming a code identifier ("batch_size")."""
    errors = start(training_page(), run_name="x", epochs=0, batch_size=0, seed="-1")
    assert len(errors) == 1, errors
    assert errors[0].startswith("Training not started: 3 settings need a change:")
    assert "- **Epochs** must be" in errors[0] and "- **Batch size** must be" in errors[0]
    assert "- **Seed** must be" in errors[0] and "batch_size" not in errors[0]


@pytest.mark.slow
def test_sampling_lists_every_bad_field_by_its_label(runs):
    at = open_app("app_pages/sampling.py", timeout=180)
    at.number_input(key="min_length").set_value(-5)
    at.number_input(key="samples").set_value(0)
    at.text_input(key="seed").set_value("abc")
    at.button(key="generate").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Nothing generated: 3 settings need a change:"), errors
    for line in ("**Seed** must be a whole number, got 'abc'", "**Samples per method** must be",
                 "**Minimum notes** must be a whole number of at least 0, got -5"):  # fmt: skip
        assert line in errors[0], errors
    assert "min_length" not in errors[0] and "sampling" not in at.session_state


def test_windows_device_names_are_refused(runs):
    errors = start(training_page(), run_name="con")
    assert len(errors) == 1 and "Windows reserves CON" in errors[0], errors


def training_at(student: str, **query: str) -> AppTest:
    at = new_app(student, **query)
    at.run()
    return at.switch_page("app_pages/training.py").run()


def test_a_tab_whose_run_died_says_so(runs):
    from bachlstm.classroom.records import ClassRecords

    ClassRecords().record_run("gone", "Tess", "training")  # Start recorded it; the server then died
    at = training_at("Tess", run="gone")
    warnings = [w.value for w in at.warning]
    assert any("Run **gone** is no longer running" in w and "Nothing was kept" in w for w in warnings)


NOT_HERS = (
    "Run **{name}** is not one of your runs: this page shows, stops and continues only your own runs. "
    "Check the address, or start a run of your own below."
)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_another_students_run_or_no_run_in_the_address_is_not_an_alarm(runs, lang):
    """Anna opens Ben's run while it trains, and a name that is no run at all: the same plain sentence
    (nothing about Ben's run the queue table does not show), no alarm, nothing that acts on the run."""
    from app_pages.common import job_manager
    from tests.app.helpers import fill, submit

    ben = training_at("Ben")
    fill(ben, epochs=50, max_melodies=30, run_name="ben-workshop-3")
    submit(ben)
    job = job_manager().find(ben.session_state["train_job"])
    try:
        for name in ("ben-workshop-3", "nobody-ever-9"):
            anna = training_at("Anna", run=name, lang=lang)
            assert not anna.exception and not anna.warning and not anna.error
            said = [i.value for i in anna.info if name in i.value]
            if lang == "en":
                assert said == [NOT_HERS.format(name=name)]
            else:
                assert len(said) == 1 and said[0].startswith(f"Der Lauf **{name}** ist keiner deiner Läufe")
            assert "train_stop" not in [b.key for b in anna.button]  # nothing acts on Ben's run
            assert not [s for s in anna.selectbox if s.key == "resume_name"]
    finally:
        job_manager().stop(job.id)


def interrupted_copy(runs: Path, name: str) -> Path:
    """The shipped workshop model saved as a run interrupted at epoch 5 of 45."""
    ck = load_checkpoint("workshop")
    meta = {**read_meta("workshop"), "complete": False, "stopped": False, "epoch": 5}
    return save_checkpoint(runs / f"{name}.safetensors", ck.model, ck.tokenizer, meta)


def stopped_copy(runs: Path, name: str, epoch: int) -> Path:
    """The shipped workshop model saved as a run stopped at `epoch` of 45 (what Stop saves at the end)."""
    ck = load_checkpoint("workshop")
    meta = {**read_meta("workshop"), "complete": True, "stopped": True, "epoch": epoch}
    return save_checkpoint(runs / f"{name}.safetensors", ck.model, ck.tokenizer, meta)


@pytest.mark.slow
def test_a_run_being_continued_is_not_offered_again(runs):
    """While it trains, a run's file says "interrupted" (it is not finished): not a run to continue."""
    from app_pages.common import job_manager

    interrupted_copy(runs, "busy")
    at = training_page()
    at.button(key="resume_start").click().run()
    assert not at.exception and not at.error
    job = job_manager().find(at.session_state["train_job"])
    try:
        assert job is not None and job.is_active
        assert not [s for s in at.selectbox if s.key == "resume_name"]
    finally:
        job_manager().stop(job.id)
        job_manager().wait(job.id, timeout=60)


def test_interrupted_runs_are_marked_and_can_be_continued(runs):
    interrupted_copy(runs, "halfway")
    at = training_page()
    assert at.selectbox(key="resume_name").value == "halfway"
    # The option is the bare name and the state is read again on every run, beside it: a browser keeps
    # the label it first drew for a chosen option, so a state in the label went stale (the new-user trial).
    assert at.selectbox(key="resume_name").options == ["halfway"]
    assert any("interrupted at epoch 5 of 45" in c.value for c in at.caption)
    at.switch_page("app_pages/home.py").run()
    table = at.dataframe[0].value
    assert table.set_index("name").loc["halfway", "status"] == "interrupted at epoch 5 of 45"
    assert table.set_index("name").loc["workshop", "status"] == "complete"
    stopped_copy(runs, "halfway", epoch=7)  # what Stop saves at the end of the run
    at.switch_page("app_pages/training.py").run()
    assert any("**halfway**: stopped at epoch 7 of 45" in c.value for c in at.caption)
    assert not any("interrupted" in c.value for c in at.caption)


def test_a_reloaded_tab_shows_the_same_run_and_a_dead_one_is_explained(runs):
    interrupted_copy(runs, "crashed")
    at = new_app(run="crashed")
    at.run()
    at.switch_page("app_pages/training.py").run()
    warnings = [w.value for w in at.warning]
    assert any("interrupted at epoch 5 of 45" in w and "continue it below" in w for w in warnings), warnings


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_home_warns_about_a_fifo_and_lists_broken_kinds(runs):
    os.mkfifo(runs / "pipe.safetensors")
    shutil.copy(SHIPPED / "workshop.safetensors", runs / "flipped.safetensors")
    data = bytearray((runs / "flipped.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (runs / "flipped.safetensors").write_bytes(bytes(data))
    at = open_app()
    assert not at.exception
    assert any("pipe" in w.value and "never opened" in w.value for w in at.warning)
    assert any("flipped" in e.value and "damaged" in e.value for e in at.error)
    assert str(runs) not in " ".join(e.value for e in at.error)
    at.switch_page("app_pages/sampling.py").run()
    assert "flipped" not in at.selectbox(key="ckpt").options


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "message"),
    [
        (str(2**31), None),
        (str(2**32), "**Seed** must be a whole number from 0 to 4,294,967,295"),
        ("x", "**Seed** must be a whole number, got 'x'"),
    ],
    ids=["2**31-works", "2**32-refused", "word"],
)
def test_sampling_seed_outside_the_range_gets_a_message(runs, seed, message):
    at = open_app("app_pages/sampling.py", timeout=180)
    at.slider(key="length").set_value(16)
    at.text_input(key="seed").set_value(seed)
    at.button(key="generate").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    if message is None:
        assert not errors and at.session_state["sampling"].seed == 2**31
    else:
        assert len(errors) == 1 and message in errors[0], errors
