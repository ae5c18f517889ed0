"""The teacher page (AppTest): off without a PIN, a wrong PIN waits and says so, the right one shows every
run with its owner; share, delete, end the workshop (zip, archive), shipped models untouched."""

import io
import time
import zipfile

import pytest

from bachlstm.classroom.records import ARCHIVED, ClassRecords
from bachlstm.classroom.workshop import ClassRun, zip_runs
from bachlstm.model.checkpoints import load_checkpoint, read_meta, runs_dir, save_checkpoint
from tests.app.helpers import ROOT, fresh_caches, new_app  # noqa: F401 (autouse fixture)

PIN = "2468"


def saved_run(name: str, owner: str | None) -> None:
    ck = load_checkpoint("workshop")
    meta = {**read_meta("workshop"), **({"owner": owner} if owner else {})}
    save_checkpoint(runs_dir() / f"{name}.safetensors", ck.model, ck.tokenizer, meta)


def teacher_page():
    at = new_app(student=None)
    at.run()
    return at.switch_page("app_pages/teacher.py").run()


def sign_in(at, pin: str):
    at.text_input(key="teacher_pin_input").input(pin)
    (button,) = [b for b in at.button if b.label == "Open the teacher page"]
    return button.click().run()


def test_without_a_pin_the_page_says_how_to_enable_it(monkeypatch):
    monkeypatch.delenv("BACHLSTM_TEACHER_PIN", raising=False)
    at = teacher_page()
    assert not at.exception
    assert at.info[0].value.startswith("The teacher page is off on this server.")
    # The README's first command installs Streamlit into .venv: no `streamlit` on PATH after it.
    assert "BACHLSTM_TEACHER_PIN=2468 .venv/bin/streamlit run streamlit_app.py" in at.code[0].value
    assert "`.venv\\Scripts\\streamlit run ...`" in at.caption[-1].value
    assert not at.text_input  # nothing to type a PIN into


@pytest.fixture
def class_server(monkeypatch):
    monkeypatch.setenv("BACHLSTM_TEACHER_PIN", PIN)
    saved_run("anna-workshop-1", "Anna")
    saved_run("ben-workshop-1", "Ben")
    ClassRecords().record_run("ben-workshop-1", "Ben", "done")


def test_a_wrong_pin_waits_and_says_so_and_the_pin_stays_out_of_the_address(class_server):
    at = teacher_page()
    assert titles(at) == ["Teacher"]  # no name asked: the teacher page asks for its PIN
    started = time.monotonic()
    sign_in(at, "1234")
    assert time.monotonic() - started >= 1.5  # a wrong PIN costs a short delay
    assert [e.value for e in at.error] == [
        "That PIN is not right. Try again (the PIN was set when the server was started)."
    ]
    assert not at.dataframe and "1234" not in str(at.query_params)


def titles(at) -> list[str]:
    return [t.value for t in at.title]


def test_the_right_pin_shows_every_run_with_its_owner_and_can_share_and_delete(class_server):
    at = sign_in(teacher_page(), PIN)
    assert not at.exception and not at.error
    assert PIN not in str(at.query_params)
    table = at.dataframe[0].value
    assert table[["run", "student", "state"]].values.tolist() == [
        ["anna-workshop-1", "Anna", "complete"],
        ["ben-workshop-1", "Ben", "complete"],
    ]
    at.selectbox(key="teacher_run").set_value("anna-workshop-1").run()
    at.button(key="teacher_share").click().run()  # a run saved before the records is recorded, then shared
    assert ClassRecords().run("anna-workshop-1").shared_with_class
    assert at.dataframe[0].value.shared.tolist() == ["yes", ""]
    at.selectbox(key="teacher_run").set_value("ben-workshop-1").run()
    at.button(key="teacher_delete").click().run()
    at.button(key="teacher_delete_yes").click().run()
    assert not (runs_dir() / "ben-workshop-1.safetensors").exists()
    assert ClassRecords().run("ben-workshop-1") is None
    assert at.dataframe[0].value.run.tolist() == ["anna-workshop-1"]


def test_the_teachers_table_speaks_german(class_server):
    at = new_app(student=None, lang="de")
    at.run()
    at.switch_page("app_pages/teacher.py").run()
    at.text_input(key="teacher_pin_input").input(PIN)
    (button,) = [b for b in at.button if b.label == "Lehrkraftseite öffnen"]
    button.click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table.iloc[:, 2].tolist() == ["vollständig", "vollständig"]  # the file's state in words
    # the saved runs, in words: a run stopped while queued is in the table but has no file in the zip
    (zip_button,) = at.get("download_button")
    assert zip_button.proto.label == "Die 2 gespeicherten Läufe der Klasse herunterladen (ZIP)"


def test_ending_the_workshop_archives_the_student_runs_and_leaves_the_shipped_models(class_server):
    shipped = {p.name: p.read_bytes() for p in (ROOT / "checkpoints").glob("*.safetensors")}
    at = sign_in(teacher_page(), PIN)
    assert at.button(key="teacher_archive").disabled  # not before the zip is downloaded
    at.checkbox(key="teacher_downloaded").check().run()
    at.button(key="teacher_archive").click().run()
    assert at.success[0].value.startswith("2 runs moved to archive/workshop-")
    assert not list(runs_dir().glob("*.safetensors"))
    (archive,) = (runs_dir() / "archive").iterdir()
    assert sorted(p.name for p in archive.iterdir()) == [
        "anna-workshop-1.safetensors",
        "ben-workshop-1.safetensors",
    ]
    assert ClassRecords().run("ben-workshop-1").state == ARCHIVED
    assert {p.name: p.read_bytes() for p in (ROOT / "checkpoints").glob("*.safetensors")} == shipped
    # Students no longer see them.
    student = new_app(student="Anna")
    student.run()
    assert student.dataframe[0].value.name.tolist() == sorted(n.removesuffix(".safetensors") for n in shipped)


def test_the_zip_holds_a_folder_per_student_and_a_table(tmp_path):
    (tmp_path / "anna-1.safetensors").write_bytes(b"A")
    (tmp_path / "anna-1.partial.safetensors").write_bytes(b"AP")
    (tmp_path / "cli.safetensors").write_bytes(b"C")
    runs = [
        ClassRun("anna-1", "Anna", "stopped at epoch 3 of 45", None, None, True, True, False),
        ClassRun("cli", None, "complete", None, None, False, True, False),
    ]
    with zipfile.ZipFile(io.BytesIO(zip_runs(runs, tmp_path))) as zf:
        assert sorted(zf.namelist()) == [
            "(nobody)/cli.safetensors",
            "Anna/anna-1.partial.safetensors",
            "Anna/anna-1.safetensors",
            "runs.csv",
        ]
        assert zf.read("Anna/anna-1.partial.safetensors") == b"AP"
        assert zf.read("runs.csv").decode().splitlines() == [
            "run,owner,state,shared,files",
            "anna-1,Anna,stopped at epoch 3 of 45,yes,2",
            "cli,,complete,no,1",
        ]
