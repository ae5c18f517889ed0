"""Training page parts that keep runs safe: the cost estimate, whose run is whose, a run the server
lost, one active run per student, continuing a run."""

import contextlib

import streamlit as st

from app_pages.common import (
    check_cost,
    class_records,
    current_student,
    job_manager,
    records_problem_text,
    run_owners,
    usable_checkpoints,
)
from app_pages.forms import field_label, problems_text, training_preset
from app_pages.i18n import ngettext, translator
from app_pages.messages import describe
from app_pages.texts import estimate_words, run_state, run_state_words
from bachlstm.classroom.ownership import same_student
from bachlstm.classroom.records import RecordsError
from bachlstm.classroom.students import next_run_name
from bachlstm.model.checkpoints import CheckpointError, list_checkpoints, read_meta, run_path
from bachlstm.settings.limits import runs_per_student
from bachlstm.training.budget import BudgetError
from bachlstm.training.jobs import JobError, OwnerBusyError, TrainingJob
from bachlstm.training.presets import Preset, PresetError

_ = translator(__name__)


def form_preset(preset_name: str, values: dict) -> Preset:
    """The preset the form describes; FormError naming every bad field (forms.training_preset)."""
    return training_preset(preset_name, values)


def draw_estimate(preset_name: str, values: dict) -> None:
    """The cost of the settings the form last sent, shown before Start (or why they cannot start)."""
    try:
        estimate = check_cost(form_preset(preset_name, values))
    except BudgetError as exc:
        st.warning(_("These settings cannot start: {why}").format(why=describe(exc, field_label)))
        return
    except ValueError:  # FormError, PresetError, a data error
        return  # Start reports it, naming every bad field
    st.caption(
        _("{estimate} After changing a setting, press *Estimate cost* to update.").format(
            estimate=estimate_words(estimate)
        )
    )


def taken_run_names() -> set[str]:
    """Run names in use: saved runs, runs queued or training, names the class's records hold."""
    taken = {info.name for info in list_checkpoints()} | {j.name for j in job_manager().jobs() if j.is_active}
    # Without the records, the files and the jobs still keep two runs apart (submit refuses a taken name).
    with contextlib.suppress(RecordsError):
        taken |= {r.name for r in class_records().runs()}
    return taken


def reserve_run_name(name: str) -> str:
    """Take `name` for this student's new run, or the next free one when it is taken (atomically)."""
    manager = job_manager()

    def is_free(candidate: str) -> bool:
        active = {j.name.casefold() for j in manager.jobs() if j.is_active}
        return candidate.casefold() not in active and not run_path(candidate).exists()

    try:
        return class_records().reserve_run(name, current_student(), is_free=is_free, next_name=next_run_name)
    except RecordsError as exc:
        st.warning(records_problem_text(exc))
        return name  # the job manager still refuses a name in use


def _record_state(name: str, state: str, *, owner: str | None = None) -> None:
    try:
        if owner is None:
            class_records().set_state(name, state)
        else:
            class_records().record_run(name, owner, state)
    except RecordsError as exc:
        st.warning(records_problem_text(exc))


def _forget_reservation(name: str) -> None:
    with contextlib.suppress(RecordsError):  # a name left reserved is skipped by the next Start, no more
        class_records().forget_run(name)


def start_run(
    name: str, preset: Preset, *, resume=None, group: str | None = None, show: bool = True
) -> TrainingJob:
    """Start this student's run: its name reserved (the next free one when taken), queued, and (`show`)
    followed by this tab and put in the address at once. OwnerBusyError when the student has as many
    runs as the server allows (the runs of one `group`, a sweep, count as one)."""
    student = current_student()
    manager = job_manager()
    if resume is None:
        name = reserve_run_name(name)
        out = run_path(name)
    else:
        out = resume
    try:
        job = manager.submit(
            name, preset, out=out, owner=student, resume=resume, max_per_owner=runs_per_student(), group=group
        )
    except Exception:
        if resume is None:
            _forget_reservation(name)
        raise
    _record_state(name, job.status, owner=student)
    if show:
        follow(job)
    return job


def follow(job: TrainingJob) -> None:
    """Show this run on the Training page and put it in the address (`?run=NAME`): a reloaded tab, a
    second tab or a reconnected one finds it again."""
    st.session_state.train_job = job.id
    if st.query_params.get("run") != job.name:
        st.query_params["run"] = job.name


def followed_job() -> TrainingJob | None:
    """The run this tab shows: the session's, else the address's or the student's newest active run.

    A reload or a second tab of the same student (the address names them) shows their running or
    queued run with its progress and Stop.
    """
    manager = job_manager()
    student = current_student()
    job = manager.find(st.session_state.get("train_job"))
    if job is None or not same_student(job.owner, student):
        name = st.query_params.get("run")
        named = [j for j in manager.jobs() if j.name == name and same_student(j.owner, student)]
        active = manager.active_for(student)
        job = (named or active or [None])[-1]
        if job is None:
            return None
    follow(job)
    return job


def say_busy(exc: OwnerBusyError, preset: Preset, name: str, resume=None) -> None:
    """One run per student: say which run is going, and offer to stop it and start this one instead."""
    running = [j.name for j in exc.active]
    if name in running or name in taken_run_names():
        # a second tab's form still offers the name of the run it started: the new run gets the next one
        name = next_run_name(name, taken_run_names())
        st.session_state.train_bump_name = True
    st.warning(
        ngettext(
            "You already have a run queued or training: **{running}**. This server trains {limit} run per "
            "student at a time: stop it to start your new run **{name}**, or let it finish.",
            "You already have runs queued or training: **{running}**. This server trains {limit} runs per "
            "student at a time: stop one to start your new run **{name}**, or let them finish.",
            exc.limit,
        ).format(running=", ".join(running), limit=exc.limit, name=name)
    )
    st.session_state.train_replace = {
        "stop": [j.id for j in exc.active], "name": name, "preset": preset, "resume": resume
    }  # fmt: skip


def draw_replace() -> None:
    """The offer after a refused second Start: stop the running run(s) and start the new one."""
    offer = st.session_state.get("train_replace")
    if not offer:
        return
    manager = job_manager()
    left, right = st.columns(2)
    names = ", ".join(j.name for j in map(manager.find, offer["stop"]) if j is not None)
    if left.button(
        _("Stop {names} and start {name}").format(names=names, name=offer["name"]), key="train_replace_go"
    ):
        del st.session_state.train_replace
        for job_id in offer["stop"]:
            if manager.find(job_id) is not None:
                manager.stop(job_id)
        try:
            start_run(offer["name"], offer["preset"], resume=offer["resume"])
        except ValueError as exc:
            st.error(_("Training not started: {why}").format(why=problems_text(exc)))
        st.rerun()
    if right.button(_("Keep {names}").format(names=names), key="train_keep"):  # queued or training
        del st.session_state.train_replace
        st.rerun()


def _is_hers(name: str, student: str | None) -> bool:
    """Whether run `name` is this student's by the class's records or its checkpoint's owner (a run
    saved with no owner is anyone's, as "Continue a stopped run" offers it)."""
    try:
        if any(same_student(r.owner, student) for r in class_records().runs() if r.name == name):
            return True
    except RecordsError:
        pass  # the checkpoint's own owner still says
    return any(v.info.name == name and (v.owner is None or v.mine(student)) for v in run_owners())


def find_lost_run() -> None:
    """Say what became of a run the address names that this tab does not follow.

    A tab keeps its address when the server restarts (or when its session is lost); the session's
    state does not. Without this, a tab that watched a run that died showed a fresh page, no word. A
    name that is not the student's (another student's run, or no run at all) gets one sentence that
    tells the two apart in no way, and nothing that acts on the run.
    """
    name = st.query_params.get("run")
    if not name or followed_job() is not None:
        return
    info = {i.name: i for i in usable_checkpoints()[0]}.get(name)
    if info is not None and not info.resumable:  # shipped, hers, or shared with the class: on Sampling
        st.info(
            _("Run **{name}** has ended ({state}); it is on the Sampling page.").format(
                name=name, state=run_state(info)
            )
        )
    elif not _is_hers(name, current_student()):
        st.info(
            _(
                "Run **{name}** is not one of your runs: this page shows, stops and continues only your "
                "own runs. Check the address, or start a run of your own below."
            ).format(name=name)
        )
    elif info is None:
        st.warning(
            _(
                "Run **{name}** is no longer running: the server stopped or restarted while it trained, "
                "before its first epoch was saved. Nothing was kept; start it again below."
            ).format(name=name)
        )
    else:
        st.warning(
            _(
                "Run **{name}** is no longer running: the server stopped or restarted while it trained. "
                "Its best model so far is saved ({state}); continue it below."
            ).format(name=name, state=run_state(info))
        )
    if st.button(_("Dismiss"), key="lost_run_dismiss"):
        del st.query_params["run"]
        st.rerun()


def draw_resume() -> None:
    """Continue one of this student's runs that was stopped or interrupted, from its saved epoch."""
    # A run that is training now is "interrupted" on disk until its end: not one to continue.
    training = {j.name for j in job_manager().jobs() if j.is_active}
    student = current_student()
    runs = [
        v.info
        for v in run_owners()
        if not v.info.error and v.info.resumable and not v.info.shipped and v.info.name not in training
        and (v.owner is None or v.mine(student))  # never another student's run, even a shared one
    ]  # fmt: skip
    if not runs:
        return
    st.subheader(_("Continue a stopped run"))
    by_name = {i.name: i for i in runs}
    # The option is the bare name and the run's state a caption, re-read on every run of the page: a
    # browser keeps the label it first showed for a chosen option, so "interrupted at epoch 2 of 30"
    # (read while the run trained) stayed on screen after Stop had saved epoch 4.
    name = st.selectbox(_("Run"), list(by_name), key="resume_name")
    info = by_name[name]
    st.caption(f"**{name}**: {run_state_words(info)}")
    if not st.button(_("Continue training"), key="resume_start"):
        return
    try:
        # The run's own settings: it continues to the epochs it was set to train.
        preset = Preset.from_dict(read_meta(info.path)["preset_config"])
        start_run(name, preset, resume=info.path)
    except OwnerBusyError as exc:
        say_busy(exc, preset, name, resume=info.path)
        return
    except (CheckpointError, PresetError, JobError, KeyError) as exc:
        why = (
            describe(exc)
            if not isinstance(exc, KeyError)
            else _("the file records no settings to continue with")
        )
        st.error(_("Run {name} cannot be continued: {error}").format(name=name, error=why))
        return
    st.rerun()
