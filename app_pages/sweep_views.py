"""The Training page's hyperparameter sweep (streamlit): queue one run per value, draw them as they train."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import charts
from app_pages.common import check_cost, job_manager
from app_pages.forms import (
    LIST_KINDS,
    TRAINING_FIELDS,
    FormError,
    parse_sweep_values,
    problems_text,
    sweep_label,
    sweep_runs,
    sweep_value_text,
)
from app_pages.i18n import number, translator
from app_pages.messages import describe
from app_pages.tables import show_table
from app_pages.texts import MISSING, NOT_YET, job_status_words
from app_pages.training_runs import start_run
from bachlstm.model.checkpoints import CheckpointError, list_checkpoints, validate_run_name
from bachlstm.training.budget import BudgetError
from bachlstm.training.jobs import SWEEP_STOPPED, JobError, OwnerBusyError
from bachlstm.training.presets import PresetError, get_preset

_ = translator(__name__)


def start_sweep(preset_name: str, values: dict, field: str, text: str, prefix: str) -> None:
    """Queue one ordinary training run per value (all checked first, so a bad value queues nothing)."""
    manager = job_manager()
    try:
        parsed = parse_sweep_values(field, text)
        runs = sweep_runs(values, field, parsed, prefix.strip())
        taken = {info.name for info in list_checkpoints()} | {j.name for j in manager.jobs() if j.is_active}
        if manager.max_queued - len(manager.queue()) < len(runs):
            raise JobError(
                _("the training queue has no room for {n} more runs: try again later").format(n=len(runs))
            )
        planned = []
        for name, overrides in runs:
            if validate_run_name(name) in taken:
                raise JobError(
                    _("a run named {name} already exists: choose another start for the names").format(
                        name=repr(name)
                    )
                )
            preset = get_preset(preset_name, **overrides)
            check_cost(preset)  # every run of the sweep within the limits, or none is queued
            planned.append((name, preset))
        jobs = []
        for name, p in planned:  # one request: the sweep's runs count as one run of the student's
            jobs.append(start_run(name, p, group=jobs[0].group if jobs else None, show=False))
    except OwnerBusyError as exc:
        st.error(_("Sweep not started: {why}").format(why=describe(exc)))
        return
    except (FormError, PresetError, JobError, CheckpointError, BudgetError) as exc:
        st.error(_("Sweep not started: {problems}").format(problems=problems_text(exc)))
        return
    swept = [overrides[field] for _name, overrides in runs]
    st.session_state.sweep = {
        "field": field,
        "labels": [sweep_label(v) for v in parsed],
        "typed": parsed,  # as the form has them (0 for "none"): shown in the reader's format
        "values": swept,
        "jobs": [j.id for j in jobs],
    }


def _history(records) -> list[dict]:
    """A job's epoch records as checkpoint-history dicts (what charts.history_frame reads)."""
    keys = ("epoch", "train_loss", "val_loss", "val_top1")
    return [{k: getattr(r, k) for k in keys} for r in records if r.kind == "epoch"]


def sweep_table(sweep: dict) -> pd.DataFrame:
    """One row per swept value: run, value, label, status, best validation loss so far, test perplexity."""
    manager = job_manager()
    rows = []
    for job_id, value, typed in zip(sweep["jobs"], sweep["values"], sweep["typed"]):
        job = manager.find(job_id)
        if job is None:
            continue
        label = sweep_value_text(typed)  # the reader's format (0,001); run names keep sweep_label's
        losses = [r.val_loss for r in job.progress() if r.kind == "epoch" and r.val_loss is not None]
        best = job.metrics.get("val_loss") if job.metrics else (min(losses) if losses else None)
        metrics = job.metrics or {}
        # bits per note on the test split, comparable across tokenizers, where training reports it
        bits = metrics.get("test_bits_per_event")
        rows.append((job.name, value, label, job.status, best, bits, metrics.get("test_perplexity")))
    columns = ["run", "value", "label", "status", "best_val_loss", "bits_per_note", "test_perplexity"]
    frame = pd.DataFrame(rows, columns=columns)
    for col in columns[4:]:  # a stopped run has no test figures: missing, never text, in a number column
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def draw_sweep(live: bool = False) -> None:
    """The sweep's runs: status table, validation curves overlaid, best validation loss against the value."""
    sweep = st.session_state.get("sweep")
    if not sweep:
        return
    manager = job_manager()
    label, kind = TRAINING_FIELDS[sweep["field"]]
    label = _(label)
    st.subheader(_("Sweep: {field}").format(field=label))
    table = sweep_table(sweep)
    words = {**charts.SWEEP_MEASURES, "label": label, "test_perplexity": "test perplexity", "run": "run"}
    config = {name: st.column_config.Column(_(text)) for name, text in words.items()}
    shown = table.drop(columns="value").assign(status=[job_status_words(s) for s in table.status])
    show_table(st, shown, hide_index=True, column_config=config, placeholder=MISSING)
    if table[["best_val_loss", "bits_per_note", "test_perplexity"]].isna().any(axis=None):
        st.caption(f"{MISSING} {_(NOT_YET)}")
    histories = {}
    for job_id, typed in zip(sweep["jobs"], sweep["typed"]):
        job = manager.find(job_id)
        if job is not None:
            histories[f"{sweep['field']}={sweep_value_text(typed)}"] = _history(job.progress())
    frame = charts.history_frame(histories)
    if not frame.empty:
        st.altair_chart(charts.localized(charts.history_chart(frame)))
    done = table.dropna(subset=["best_val_loss"])
    done = done[done.status.isin(("done", "stopped"))]
    if len(done) >= 2:
        numeric = kind not in LIST_KINDS
        chart = charts.sweep_chart(done, label, numeric=numeric, log=sweep["field"] == "lr")
        st.altair_chart(charts.localized(chart))
        best = done.loc[done.best_val_loss.idxmin()]
        st.caption(
            _(
                "Best: {field} = {value} (validation loss {loss} per token). The runs are saved like any "
                "other: compare them below or generate music with them on the Sampling page."
            ).format(field=label, value=best.label, loss=number(best.best_val_loss, 3))
        )
    active = [j for j in (manager.find(i) for i in sweep["jobs"]) if j is not None and j.is_active]
    if active:
        st.button(_("Stop the sweep"), key="sweep_stop", on_click=_stop_all, args=([j.id for j in active],))
    elif live:
        st.rerun()  # the whole page once more: the live redraw stops and the run lists change


def _stop_all(job_ids: list[str]) -> None:
    for job_id in job_ids:
        job_manager().stop(job_id, SWEEP_STOPPED)


def sweep_active() -> bool:
    """True while a run of this session's sweep is queued or running."""
    sweep = st.session_state.get("sweep") or {}
    jobs = (job_manager().find(i) for i in sweep.get("jobs", ()))
    return any(j is not None and j.is_active for j in jobs)


# Redrawn every two seconds while the sweep trains; a finished sweep is drawn once with draw_sweep.
live_sweep = st.fragment(run_every=2)(draw_sweep)
