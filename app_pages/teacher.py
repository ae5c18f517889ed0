"""Teacher: every run and queued job with its owner, state, queue position and wait; stop, delete or share
any run; end a workshop (all student runs as one zip, then archive or delete them). Behind a PIN the
teacher sets when starting the server (BACHLSTM_TEACHER_PIN); the PIN never goes into the address."""

import hmac
import os
import time

import pandas as pd
import streamlit as st

from app_pages.common import (
    TEACHER,
    class_records,
    job_manager,
    records_problem_text,
    run_owners,
    wait_estimates,
)
from app_pages.i18n import ngettext, translator
from app_pages.tables import show_table
from app_pages.texts import MISSING, format_seconds, job_status_words, run_state, server_load_words
from bachlstm.classroom.records import DAMAGED, RecordsError
from bachlstm.classroom.workshop import archive_runs, class_runs, delete_run, zip_runs
from bachlstm.training.jobs import BY_TEACHER

ENV_PIN = "BACHLSTM_TEACHER_PIN"
WRONG_PIN_DELAY_S = 1.5  # a wrong PIN waits this long: guessing a 4-digit PIN takes hours, not seconds


_ = translator(__name__)


def pin_matches(given: str, pin: str) -> bool:
    """The PIN compared in constant time (a wrong digit early or late takes as long)."""
    return hmac.compare_digest(given.strip().encode(), pin.encode())


st.title(_("Teacher"))
st.caption(
    _(
        "For the teacher: every run of the class with its student, state and wait; stop, delete or share a "
        "run; at the end of the workshop, download all runs and clear the server."
    )
)
pin = os.environ.get(ENV_PIN, "").strip()
if not pin:
    st.info(
        _(
            "The teacher page is off on this server. To use it, stop the server and start it again with "
            "a PIN of your choice in the environment variable {env}, for example:"
        ).format(env=ENV_PIN)
    )
    st.code(
        f"{ENV_PIN}=2468 .venv/bin/streamlit run streamlit_app.py --server.address 0.0.0.0", language="bash"
    )
    st.caption(
        _(
            "In the project folder: `.venv/bin/` is where the README's first command installed Streamlit. "
            'On Windows (PowerShell): first `$env:{env}="2468"`, then `.venv\\Scripts\\streamlit run ...`.'
        ).format(env=ENV_PIN)
    )
    st.stop()

if not st.session_state.get(TEACHER):
    # clear_on_submit: the typed PIN leaves the session state at once; it is never put in the address.
    with st.form("teacher_form", clear_on_submit=True):
        given = st.text_input(_("Teacher PIN"), type="password", key="teacher_pin_input")
        sign_in = st.form_submit_button(_("Open the teacher page"), type="primary")
    if sign_in:
        if pin_matches(given, pin):
            st.session_state[TEACHER] = True
            st.rerun()
        time.sleep(WRONG_PIN_DELAY_S)
        st.error(_("That PIN is not right. Try again (the PIN was set when the server was started)."))
    st.stop()

manager = job_manager()
note = st.session_state.pop("teacher_note", None)  # what the last action did, said after its rerun
if note:
    st.success(note)
records = class_records()
try:
    records.open()
except RecordsError as exc:
    st.warning(records_problem_text(exc))
    if exc.code == DAMAGED and st.button(
        _("Set the damaged file aside and start a fresh one"), key="records_aside"
    ):
        moved = records.move_aside()
        st.session_state.teacher_note = _(
            "The damaged file is kept as {name}; a fresh one starts now."
        ).format(name=moved.name if moved else "?")
        st.rerun()
    records = None

left, right = st.columns([4, 1])
left.caption(server_load_words(len(manager.running()), manager.max_running, len(manager.queue())))
if right.button(_("Sign out"), key="teacher_sign_out"):
    del st.session_state[TEACHER]
    st.rerun()


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                _("run"): r.name,
                _("student"): r.owner or _("(nobody)"),
                _("state"): run_state(r.info) if r.info is not None else job_status_words(r.state),
                _("queue"): r.queue_position,
                _("wait"): format_seconds(r.wait_s) if r.wait_s is not None else None,
                _("shared"): _("yes") if r.shared else "",
            }
            for r in rows
        ]
    )


@st.fragment(run_every=5)
def live_runs() -> None:
    """The class's runs, redrawn every few seconds."""
    rows = class_runs(manager, run_owners(), wait_estimates())
    st.subheader(_("Runs and queue"))
    if not rows:
        st.info(_("No student run yet."))
        return
    show_table(st, _table(rows), hide_index=True, width="stretch", placeholder=MISSING)


live_runs()
rows = class_runs(manager, run_owners(), wait_estimates())
by_name = {r.name: r for r in rows}
if by_name:
    st.subheader(_("One run"))
    name = st.selectbox(_("Run"), list(by_name), key="teacher_run")
    run = by_name[name]
    cols = st.columns(3)
    if cols[0].button(_("Stop"), key="teacher_stop", disabled=not run.active):
        for job in manager.jobs():
            if job.name == name and job.is_active:
                manager.stop(job.id, BY_TEACHER)
        st.rerun()
    share_label = _("Stop sharing") if run.shared else _("Share with the class")
    if cols[1].button(share_label, key="teacher_share", disabled=records is None or not run.saved):
        try:
            if records.run(name) is None:  # a run saved before the records: record it first
                records.record_run(name, run.owner or "", run.state)
            records.share(name, not run.shared)
        except RecordsError as exc:
            st.warning(records_problem_text(exc))
        st.rerun()
    if cols[2].button(_("Delete"), key="teacher_delete", disabled=run.active or not run.saved):
        st.session_state.teacher_confirm_delete = name
    if st.session_state.get("teacher_confirm_delete") == name:
        st.warning(_("Delete **{name}** for good? Its file is removed from the server.").format(name=name))
        yes, no = st.columns(2)
        if yes.button(_("Yes, delete it"), key="teacher_delete_yes"):
            del st.session_state.teacher_confirm_delete
            delete_run(name, records)
            st.rerun()
        if no.button(_("No, keep it"), key="teacher_delete_no"):
            del st.session_state.teacher_confirm_delete
            st.rerun()

st.subheader(_("End the workshop"))
saved = [r for r in rows if r.saved]
busy = [r for r in rows if r.active]
st.markdown(
    _(
        "First download every student run as one zip (a folder per student, and a table of the runs), then "
        "archive them (moved to the runs folder's `archive/`, out of every list) or delete them. The "
        "shipped models stay as they are."
    )
)
if busy:
    st.warning(
        ngettext(
            "{n} run is still queued or training: stop it first ({names}).",
            "{n} runs are still queued or training: stop them first ({names}).",
            len(busy),
        ).format(n=len(busy), names=", ".join(r.name for r in busy))
    )
st.download_button(
    ngettext(  # the saved runs: a run stopped while queued is listed above but has no file to download
        "Download the {n} saved student run (zip)", "Download the {n} saved student runs (zip)", len(saved)
    ).format(n=len(saved)),
    data=lambda: zip_runs(saved),
    file_name=time.strftime("bachlstm-workshop-%Y-%m-%d.zip"),
    mime="application/zip",
    key="teacher_zip",
    disabled=not saved,
    on_click="ignore",
)
done = st.checkbox(_("I have downloaded the zip"), key="teacher_downloaded", disabled=not saved)
a, d = st.columns(2)
if a.button(
    _("Archive all student runs"), key="teacher_archive", disabled=not (done and saved) or bool(busy)
):
    folder = archive_runs([r.name for r in saved], records)
    st.session_state.teacher_note = ngettext(
        "{n} run moved to {folder}.", "{n} runs moved to {folder}.", len(saved)
    ).format(n=len(saved), folder=f"archive/{folder.name}")
    st.rerun()
if d.button(
    _("Delete all student runs"), key="teacher_delete_all", disabled=not (done and saved) or bool(busy)
):
    files = sum(delete_run(r.name, records) for r in saved)
    st.session_state.teacher_note = ngettext("{n} run deleted", "{n} runs deleted", len(saved)).format(
        n=len(saved)
    ) + ngettext(" ({files} file).", " ({files} files).", files).format(files=files)
    st.rerun()
