"""Training page parts that keep runs safe: the cost estimate, a run the server lost, continuing a run."""

import streamlit as st

from app_pages.common import check_cost, job_manager, session_id, usable_checkpoints
from app_pages.forms import training_preset
from app_pages.texts import run_state_words
from bachlstm.model.checkpoints import CheckpointError, read_meta
from bachlstm.training.budget import BudgetError
from bachlstm.training.jobs import JobError
from bachlstm.training.presets import Preset, PresetError


def form_preset(preset_name: str, values: dict) -> Preset:
    """The preset the form describes; FormError naming every bad field (forms.training_preset)."""
    return training_preset(preset_name, values)


def draw_estimate(preset_name: str, values: dict) -> None:
    """The cost of the settings the form last sent, shown before Start (or why they cannot start)."""
    try:
        estimate = check_cost(form_preset(preset_name, values))
    except BudgetError as exc:
        st.warning(f"These settings cannot start: {exc}")
        return
    except ValueError:  # FormError, PresetError, a data error
        return  # Start reports it, naming every bad field
    st.caption(f"{estimate.summary()} After changing a setting, press *Estimate cost* to update.")


def remember_run(name: str) -> None:
    """Put the run in the address (`?run=NAME&sid=...`): a reloaded or reconnected tab finds it again."""
    st.query_params["run"] = name
    st.query_params["sid"] = session_id()


def find_lost_run() -> None:
    """Re-attach this tab to its run after a reload, or say that the run the tab watched is gone.

    A tab keeps its address when the server restarts (or when its session is lost); the session's
    state does not. Without this, a tab that watched a run that died showed a fresh page, no word.
    """
    name = st.query_params.get("run")
    manager = job_manager()
    if not name or manager.find(st.session_state.get("train_job")) is not None:
        return
    mine = [j for j in manager.jobs() if j.name == name and j.owner == session_id()]
    if mine:
        st.session_state.train_job = mine[-1].id  # the same server: show the run again
        return
    info = {i.name: i for i in usable_checkpoints()[0]}.get(name)
    if info is None:
        st.warning(
            f"Run **{name}** is no longer running: the server stopped or restarted while it trained, "
            "before its first epoch was saved. Nothing was kept; start it again below."
        )
    elif info.resumable:
        st.warning(
            f"Run **{name}** is no longer running: the server stopped or restarted while it trained. "
            f"Its best model so far is saved ({info.state}); continue it below."
        )
    else:
        st.info(f"Run **{name}** has ended ({info.state}); it is on the Sampling page.")
    if st.button("Dismiss", key="lost_run_dismiss"):
        del st.query_params["run"]
        st.rerun()


def draw_resume() -> None:
    """Continue a run that was stopped or interrupted, from its saved epoch, into the same file."""
    # A run that is training now is "interrupted" on disk until its end: not one to continue.
    training = {j.name for j in job_manager().jobs() if j.is_active}
    runs = [i for i in usable_checkpoints()[0] if i.resumable and not i.shipped and i.name not in training]
    if not runs:
        return
    st.subheader("Continue a stopped run")
    by_name = {i.name: i for i in runs}
    # The option is the bare name and the run's state a caption, re-read on every run of the page: a
    # browser keeps the label it first showed for a chosen option, so "interrupted at epoch 2 of 30"
    # (read while the run trained) stayed on screen after Stop had saved epoch 4.
    name = st.selectbox("Run", list(by_name), key="resume_name")
    info = by_name[name]
    st.caption(f"**{name}**: {run_state_words(info)}")
    if not st.button("Continue training", key="resume_start"):
        return
    try:
        # The run's own settings: it continues to the epochs it was set to train.
        preset = Preset.from_dict(read_meta(info.path)["preset_config"])
        job = job_manager().submit(name, preset, out=info.path, owner=session_id(), resume=info.path)
    except (CheckpointError, PresetError, JobError, KeyError) as exc:
        st.error(f"Run {name} cannot be continued: {exc}")
        return
    st.session_state.train_job = job.id
    remember_run(name)
    st.rerun()
