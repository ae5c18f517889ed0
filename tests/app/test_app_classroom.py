"""A class on one server (AppTest): each student's own run names, runs, lists; one run per student; a
reload or a second tab finds the run."""

from pathlib import Path

import pytest

from app_pages.common import job_manager
from bachlstm.classroom.records import ClassRecords
from bachlstm.model.checkpoints import load_checkpoint, read_meta, runs_dir, save_checkpoint
from tests.app.helpers import ROOT, fresh_caches, open_app, wait_for  # noqa: F401 (autouse fixture)

SHIPPED = ROOT / "checkpoints"
SEEN_BY_ANNA = [
    "bach",
    "chorale",
    "workshop",
    "cli-run",
    "ben-workshop-2",
    "anna-workshop-1",
]  # user runs newest first


def saved_run(name: str, owner: str | None, *, stopped: bool = False) -> Path:
    """The shipped workshop model saved as a student's run (stopped at epoch 3 of 45 when `stopped`)."""
    ck = load_checkpoint("workshop")
    meta = {**read_meta("workshop"), "complete": True, "stopped": stopped, "epoch": 3 if stopped else 45}
    if owner is not None:
        meta["owner"] = owner
    return save_checkpoint(runs_dir() / f"{name}.safetensors", ck.model, ck.tokenizer, meta)


def test_each_student_sees_the_shipped_models_their_runs_and_shared_runs_only():
    saved_run("anna-workshop-1", "Anna", stopped=True)
    saved_run("ben-workshop-1", "Ben", stopped=True)
    saved_run("ben-workshop-2", "Ben")
    saved_run("cli-run", None)  # saved by the command line: nobody's
    records = ClassRecords()
    records.record_run("ben-workshop-2", "Ben", "done")
    records.share("ben-workshop-2")  # the teacher shared it with the class

    at = open_app("app_pages/sampling.py", student="Anna")
    assert at.selectbox(key="ckpt").options == SEEN_BY_ANNA
    at.switch_page("app_pages/training.py").run()
    # Continue: only her own runs (and nobody's), never another student's, shared or not.
    assert at.selectbox(key="resume_name").options == ["anna-workshop-1"]
    at.switch_page("app_pages/home.py").run()
    assert at.dataframe[0].value.name.tolist() == SEEN_BY_ANNA

    ben = open_app("app_pages/training.py", student="ben")  # the same student in any case
    assert ben.selectbox(key="resume_name").options == ["ben-workshop-1"]
    ben.switch_page("app_pages/sampling.py").run()
    assert "anna-workshop-1" not in ben.selectbox(key="ckpt").options


def test_each_student_is_offered_run_names_of_their_own():
    anna = open_app("app_pages/training.py", student="Anna")
    ben = open_app("app_pages/training.py", student="Jürgen O.")
    assert anna.text_input(key="train_run_name").value == "anna-workshop-1"
    assert ben.text_input(key="train_run_name").value == "juergen-o-workshop-1"
    ClassRecords().reserve_run("anna-workshop-1", "Anna", next_name=str)  # taken since (a second tab)
    again = open_app("app_pages/training.py", student="Anna")
    assert again.text_input(key="train_run_name").value == "anna-workshop-2"


def long_run(at):
    """Start a run that trains for a while (stopped by the test)."""
    at.number_input(key="train_epochs").set_value(50)
    at.number_input(key="train_max_melodies").set_value(30)
    return at.button(key="train_start").click().run()


def stop_all():
    manager = job_manager()
    for job in manager.jobs():
        if job.is_active:
            manager.stop(job.id)
    for job in manager.jobs():
        manager.wait(job.id, timeout=60)


@pytest.mark.slow
def test_a_second_start_says_so_and_offers_to_stop_the_first_leaving_no_run_unwatched():
    at = open_app("app_pages/training.py", student="Anna")
    try:
        long_run(at)
        assert not at.error and at.query_params["run"] == "anna-workshop-1"  # in the address at once
        first = job_manager().find(at.session_state["train_job"])
        at = long_run(at)  # the second Start
        warning = [w.value for w in at.warning if "already have a run" in w.value]
        assert warning == [
            "You already have a run queued or training: **anna-workshop-1**. This server trains 1 run per "
            "student at a time: stop it to start your new run **anna-workshop-2**, or let it finish."
        ]
        assert [j.name for j in job_manager().jobs()] == ["anna-workshop-1"]  # nothing queued
        assert at.session_state["train_job"] == first.id  # the page still follows the first run
        at.button(key="train_replace_go").click().run()
        second = job_manager().find(at.session_state["train_job"])
        assert second.name == "anna-workshop-2" and at.query_params["run"] == "anna-workshop-2"
        assert first.status in ("stopping", "stopped")
        # Every run that holds or waits for a slot is watched by its owner's page: none is orphaned.
        assert [j.name for j in job_manager().active_for("Anna") if j.status != "stopping"] == [
            "anna-workshop-2"
        ]
        assert ClassRecords().run("anna-workshop-2").owner == "Anna"
    finally:
        stop_all()


@pytest.mark.slow
def test_a_second_tab_that_offers_the_running_runs_name_names_the_next_one_for_the_new_run():
    first_tab = open_app("app_pages/training.py", student="Anna")
    second_tab = open_app("app_pages/training.py", student="Anna")  # opened before the first started
    try:
        long_run(first_tab)
        assert second_tab.text_input(key="train_run_name").value == "anna-workshop-1"
        long_run(second_tab)
        warning = [w.value for w in second_tab.warning if "already have a run" in w.value]
        assert warning == [
            "You already have a run queued or training: **anna-workshop-1**. This server trains 1 run per "
            "student at a time: stop it to start your new run **anna-workshop-2**, or let it finish."
        ]
        assert (
            second_tab.button(key="train_replace_go").label
            == "Stop anna-workshop-1 and start anna-workshop-2"
        )
        # her first run may still be queued: the other choice names it, whatever its state
        assert second_tab.button(key="train_keep").label == "Keep anna-workshop-1"
    finally:
        stop_all()


@pytest.mark.slow
def test_a_reload_or_a_second_tab_shows_the_run_with_progress_and_stop():
    at = open_app("app_pages/training.py", student="Anna")
    try:
        long_run(at)
        wait_for(at, lambda a: a.get("progress"))
        # A reload: a new session at the same address (?student=Anna&run=anna-workshop-1).
        reloaded = open_app("app_pages/training.py", student="Anna")
        reloaded.query_params["run"] = "anna-workshop-1"
        reloaded.run()
        assert reloaded.session_state["train_job"] == at.session_state["train_job"]
        assert reloaded.get("progress") and not reloaded.button(key="train_stop").disabled
        # A second tab with only the name in its address finds the run too, and the sidebar says so.
        tab = open_app("app_pages/home.py", student="Anna")
        assert any("Training **anna-workshop-1**" in c.value for c in tab.sidebar.caption)
        tab.switch_page("app_pages/training.py").run()
        assert tab.get("progress") and tab.query_params["run"] == "anna-workshop-1"
        # Another student's tab with Anna's run in its address does not get it.
        other = open_app("app_pages/training.py", student="Ben")
        other.query_params["run"] = "anna-workshop-1"
        other.run()
        assert "train_job" not in other.session_state and not other.get("progress")
        tab.button(key="train_stop").click().run()
        wait_for(at, lambda a: a.warning)  # the first tab sees the run that the second tab stopped
        assert at.warning[0].value.startswith("Training stopped")
    finally:
        stop_all()


def test_every_live_place_that_says_a_queued_runs_place_and_wait_is_redrawn_as_often():
    """The line under Start (and in the sidebar), the queued run's box and the queue table say the same
    place and wait; redrawn at different paces, one page said two different things for seconds."""
    from app_pages import training_views

    assert training_views.QUEUED_EVERY_S == training_views.STATUS_EVERY_S
